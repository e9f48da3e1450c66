"""`python -m pageflows.web` as `serve` starts it: a child from `spawn`, configured by environment.

A migrated database (SQLite file or PostgreSQL), a free port, the log in a
file the failure message shows; `signed_post` is a good webhook as Facebook
sends it, on a connection of its own, timed.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from subprocess import Popen
from typing import Any

import requests
from service_world import SECRET, signature
from sqlalchemy import select
from sqlalchemy.orm import Session

from pageflows.ports import free_port
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import InboxEvent
from pageflows.web import WebOptions, spawn, stop, wait_listening

HOST = "127.0.0.1"
PAGE = "104123456789012"
CLOSE = {"Connection": "close"}  # a kept-alive connection would hold a stop for 2 s


def environment(database_url: str) -> dict[str, str]:
    """A non-sandbox configuration, by environment only, as the crash tests give serve."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PAGEFLOWS_")},
        "PAGEFLOWS_DATABASE_URL": database_url,
        "PAGEFLOWS_APP_SECRET": SECRET,
        "PAGEFLOWS_VERIFY_TOKEN": "web-verify-token",
        "PAGEFLOWS_PAGE_ID": PAGE,
        "PAGEFLOWS_PAGE_TOKEN": "web-page-token",
    }


def raise_own_fd_limit(needed: int) -> int:
    """This test process's soft limit on open files, raised towards the hard one for `needed`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def message_body(mid: str) -> bytes:
    moment = 1795000000000
    event = {
        "sender": {"id": "5550001"},
        "recipient": {"id": PAGE},
        "timestamp": moment,
        "message": {"mid": mid, "text": "hello"},
    }
    body = {"object": "page", "entry": [{"id": PAGE, "time": moment, "messaging": [event]}]}
    return json.dumps(body).encode()


@dataclass
class WebServer:
    process: Popen[bytes]
    options: WebOptions
    database_url: str
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.options.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signed_post(self, mid: str, timeout: float = 10.0) -> tuple[requests.Response, float]:
        """A good webhook on a new connection; the answer and the seconds it took."""
        raw = message_body(mid)
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature(raw),
            **CLOSE,
        }
        started = time.monotonic()
        answer = requests.post(f"{self.url}/webhook", data=raw, headers=headers, timeout=timeout)
        return answer, time.monotonic() - started

    def stored(self, mid: str) -> int:
        """How many inbox rows hold the message `mid`."""
        engine = make_engine(self.database_url)
        try:
            with Session(engine) as session:
                rows = session.scalars(select(InboxEvent.payload)).all()
        finally:
            engine.dispose()
        return sum(1 for payload in rows if mid in json.dumps(payload))

    def worker_pids(self) -> list[int]:
        """The gunicorn worker processes under the arbiter (Linux's /proc), empty elsewhere."""
        return children(self.process.pid)

    def client_sockets(self) -> int:
        """Sockets the worker processes hold open (Linux), listener and database included."""
        total = 0
        for pid in self.worker_pids():
            fd_dir = Path(f"/proc/{pid}/fd")
            for fd in fd_dir.iterdir():
                try:
                    total += os.readlink(fd).startswith("socket:")
                except OSError:
                    continue
        return total


def healthy(url: str, within: float) -> bool:
    """Whether GET /healthz answers 200 before `within` seconds pass."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", headers=CLOSE, timeout=5).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return False


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in path.read_text().split()]
    except OSError:
        return []


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting to be reaped holds no files: gone too)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def migrated(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@contextmanager
def web_server(database_url: str, tmp_path: Path, **options: Any) -> Iterator[WebServer]:
    """A started server that has answered /healthz once (its worker process is up)."""
    migrated(database_url)
    chosen = replace(WebOptions(host=HOST, port=free_port()), **options)
    log_path = tmp_path / f"web-{chosen.port}.log"
    with log_path.open("wb") as log:
        process = spawn(chosen, env=environment(database_url), stdout=log, stderr=log)
    server = WebServer(process, chosen, database_url, log_path)
    try:
        assert wait_listening(HOST, chosen.port, process, timeout=30), server.log()
        assert healthy(server.url, 30), server.log()
        yield server
    finally:
        stop(process, timeout=20)
