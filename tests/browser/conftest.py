"""The web console in a real browser: Debian's headless Chromium, driven by Playwright.

`make test` installs Chromium (.ci/chromium.sh, which exports PAGEFLOWS_CHROMIUM);
Playwright's own browser downloads are never used. The server is the real
`pageflows serve --sandbox` in a process of its own (gunicorn, the worker, the
simulator), started as a person starts it, and the browser opens the link it
prints. Screenshots go to PAGEFLOWS_SCREENSHOTS (docs/screenshots under `make
screenshots`), else to the test's temp folder, so each test takes them either way.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
# What the probe of this machine found Chromium needs here: no sandbox as root, no GPU,
# and none of the background connections the closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("PAGEFLOWS_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "Chromium is not installed: run `make test`, or "
            '`eval "$(bash .ci/chromium.sh)"` first (Debian\'s chromium package)'
        )
    return path


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PAGEFLOWS_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Sandbox:
    process: subprocess.Popen[str]
    url: str  # the console's root
    link: str  # the sign-in link `serve` printed, with this run's token
    token: str
    lines: list[str]
    simulator: str = ""  # the built-in simulator's root, for its control API (/_sim/)


def _read(process: subprocess.Popen[str], into: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        into.put(line)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """`pageflows serve --sandbox examples/restaurant`, as the README starts it; one per
    test module (each test has a browser context of its own: its own cookies)."""
    tmp_path = tmp_path_factory.mktemp("sandbox")
    port, simulator_port = free_port(), free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFLOWS_")}
    env = {**clean, "PAGEFLOWS_DATABASE_URL": f"sqlite:///{tmp_path / 'pageflows.db'}"}
    command = [
        sys.executable, "-c", "from pageflows.cli import main; main()",
        "serve", "--sandbox", str(ROOT / "examples" / "restaurant"),
        "--config", str(ROOT / "examples" / "restaurant" / "pageflows.toml"),
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
    deadline = time.monotonic() + 30
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
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            assert process.poll() is None, "".join(seen)
        time.sleep(0.1)
    raise AssertionError("serve did not answer /healthz")


@pytest.fixture
def browser_phone(browser: Browser) -> Iterator[Page]:
    """A phone-sized window (390 x 844, touch), for pages people read on the go."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
