"""A real `pageflows serve --sandbox` for the browser tests, started as a person starts it.

Its own module (not conftest.py) so the tests can import `Sandbox` by a name no other
test folder uses.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from pageflows.ports import free_port


@dataclass
class Sandbox:
    process: subprocess.Popen[str]
    url: str  # the console's root
    link: str  # the sign-in link `serve` printed, with this run's token
    token: str
    lines: list[str]
    simulator: str  # the built-in simulator's root, for its control API (SimControl)


def _read(process: subprocess.Popen[str], into: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        into.put(line)


def start_sandbox(folder: Path, tmp_path: Path) -> Iterator[Sandbox]:
    """`pageflows serve --sandbox FOLDER`, as the README starts it, with FOLDER's settings."""
    port, simulator_port = free_port(), free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFLOWS_")}
    env = {**clean, "PAGEFLOWS_DATABASE_URL": f"sqlite:///{tmp_path / 'pageflows.db'}"}
    command = [
        sys.executable, "-c", "from pageflows.cli import main; main()",
        "serve", "--sandbox", str(folder), "--config", str(folder / "pageflows.toml"),
        "--port", str(port), "--simulator-port", str(simulator_port),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read, args=(process, lines), daemon=True).start()
    seen: list[str] = []
    link = None
    deadline = time.monotonic() + 60
    while link is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            assert process.poll() is None, "".join(seen)
            continue
        seen.append(line)
        found = re.search(r"web console \(sandbox, signs you in\): (\S+)", line)
        if found:
            link = found.group(1)
    assert link is not None, "serve printed no console link:\n" + "".join(seen)
    token = link.split("token=", 1)[1]
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, process, seen)
    yield Sandbox(process, url, link, token, seen, f"http://127.0.0.1:{simulator_port}")
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def _wait_healthy(url: str, process: subprocess.Popen[str], seen: list[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            assert process.poll() is None, "".join(seen)
        time.sleep(0.1)
    raise AssertionError("serve did not answer /healthz")
