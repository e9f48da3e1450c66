"""The two processes under test: the Graph API simulator and `pageflows serve`.

Both are started through the CLI, as an operator would. The simulator is its
own process so its log of sends survives every kill of `serve`; `serve` runs
in non-sandbox mode, configured only by environment variables, and is killed
with SIGKILL: no handler, no flush, no goodbye.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests

GRAPH_VERSION = "v21.0"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def pageflows_command() -> list[str]:
    """The `pageflows` script of this interpreter's environment (the .venv's, under make)."""
    beside = Path(sys.executable).with_name("pageflows")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("pageflows")
    if found:
        return [found]
    return [sys.executable, "-c", "from pageflows.cli import main; main()"]


def clean_environment() -> dict[str, str]:
    """The caller's environment without any PAGEFLOWS_ setting that could leak into serve."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PAGEFLOWS_")}


def wait_until(probe: Any, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(interval)
    return bool(probe())


@dataclass(frozen=True)
class Page:
    page_id: str = "104123456789012"
    token: str = "crash-page-token"
    app_secret: str = "crash-app-secret"
    verify_token: str = "crash-verify-token"


class Simulator:
    """`pageflows simulator serve` on its own port, driven through `/_sim/`."""

    def __init__(self, workdir: Path, page: Page, webhook_url: str) -> None:
        self.port = free_port()
        self.root = f"http://{HOST}:{self.port}"
        self.graph_url = f"{self.root}/{GRAPH_VERSION}"
        self.page = page
        self.webhook_url = webhook_url
        self._log: IO[bytes] = (workdir / "simulator.log").open("ab")
        self._session = requests.Session()
        self.process = subprocess.Popen(
            [*pageflows_command(), "simulator", "serve", "--host", HOST, "--port", str(self.port),
             "--page-id", page.page_id, "--token", page.token, "--app-secret", page.app_secret,
             "--webhook-url", webhook_url, "--verify-token", page.verify_token],
            stdout=self._log, stderr=subprocess.STDOUT, env=clean_environment(), cwd=workdir,
        )  # fmt: skip

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self._session.request(method, f"{self.root}/_sim/{path}", json=body, timeout=30)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} /_sim/{path} -> {answer.status_code}: {answer.text}")
        return answer.json()

    def start(self, timeout: float = 30.0) -> None:
        def up() -> bool:
            try:
                self.call("GET", "messages?after=999999999")
            except (requests.ConnectionError, RuntimeError):
                return False
            return True

        if not wait_until(up, timeout, 0.1):
            raise RuntimeError(f"the simulator did not start on {self.root}")
        p = self.page
        self.call("POST", "pages", {
            "page_id": p.page_id, "token": p.token, "app_secret": p.app_secret,
            "webhook_url": self.webhook_url, "verify_token": p.verify_token, "name": "Crash",
        })  # fmt: skip

    def add_contact(self, psid: str) -> None:
        """A contact Facebook knows, whose 24 h window the message it is about to send opens."""
        self.call("POST", "contacts", {"page_id": self.page.page_id, "psid": psid,
                                       "first_name": "Crash", "last_name": psid[-4:]})  # fmt: skip
        self.call("POST", f"contacts/{psid}/seen", {"page_id": self.page.page_id})

    def messages(self, after: int = 0) -> list[dict[str, Any]]:
        """Every send the simulator accepted or refused, in order (those after `seq`)."""
        data: list[dict[str, Any]] = self.call("GET", f"messages?after={after}")["data"]
        return data

    def wait_for_send(self, after: int, timeout: float) -> int:
        """Return the newest `seq` as soon as a send after `after` is logged (or at timeout).

        The kill that follows lands while serve may not yet have recorded that send:
        the window in which a crash can double a message.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(after)
            if found:
                return int(found[-1]["seq"])
            if time.monotonic() >= deadline:
                return after
            time.sleep(0.001)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._session.close()
        self._log.close()


class Server:
    """`pageflows serve FLOWS` in non-sandbox mode; started again after every kill."""

    def __init__(self, workdir: Path, flows: Path, page: Page, database_url: str) -> None:
        self.workdir = workdir
        self.flows = flows
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.page = page
        self.database_url = database_url
        self.graph_url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.generation = 0  # how many times serve was started
        self.exits: list[int] = []  # exit codes of runs that ended without our kill

    def environment(self) -> dict[str, str]:
        return {
            **clean_environment(),
            "PAGEFLOWS_PAGE_ID": self.page.page_id,
            "PAGEFLOWS_PAGE_TOKEN": self.page.token,
            "PAGEFLOWS_APP_SECRET": self.page.app_secret,
            "PAGEFLOWS_VERIFY_TOKEN": self.page.verify_token,
            "PAGEFLOWS_GRAPH_URL": self.graph_url,
            "PAGEFLOWS_DATABASE_URL": self.database_url,
        }

    def start(self) -> None:
        self.generation += 1
        log = (self.workdir / f"serve-{self.generation:03d}.log").open("wb")
        with log:
            self.process = subprocess.Popen(
                [*pageflows_command(), "serve", str(self.flows), "--host", HOST,
                 "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=self.environment(), cwd=self.workdir,
            )  # fmt: skip

    def healthy(self, timeout: float = 0.5) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=timeout).status_code == 200
        except requests.RequestException:
            return False

    def wait_healthy(self, timeout: float) -> bool:
        return wait_until(lambda: self.alive() and self.healthy(), timeout, 0.1)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_exit(self) -> int | None:
        """The exit code if serve ended on its own (a crash we did not cause); recorded once."""
        if self.process is None or self.process.poll() is None:
            return None
        code = self.process.returncode
        self.exits.append(code)
        self.process = None
        return code

    def restart_if_dead(self) -> int | None:
        """serve dies only by our hand; if it exits on its own, note it and start it again."""
        code = self.check_exit()
        if code is not None:
            self.start()
        return code

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish a transaction or a send."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        else:
            self.exits.append(self.process.returncode)  # it had died on its own first
        self.process.wait()
        self.process = None

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None
