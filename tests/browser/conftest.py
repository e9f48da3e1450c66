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
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_sandbox import Sandbox, start_sandbox
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


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The restaurant example (examples/restaurant) served in sandbox mode; one per test
    module (each test has a browser context of its own: its own cookies)."""
    yield from start_sandbox(ROOT / "examples" / "restaurant", tmp_path_factory.mktemp("sandbox"))


@pytest.fixture(scope="module")
def shop_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The shop example (examples/flows: a ref campaign with a follow-up) in sandbox mode."""
    yield from start_sandbox(ROOT / "examples" / "flows", tmp_path_factory.mktemp("shop"))


@pytest.fixture
def browser_phone(browser: Browser) -> Iterator[Page]:
    """A phone-sized window (390 x 844, touch), for pages people read on the go."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
