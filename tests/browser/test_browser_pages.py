"""The Pages page in a browser: connect the sandbox page through the simulated Facebook
Login, see it listed with its webhook fields, a contact answered with the new token; the
token killed (a password change), a send fails with 190, the page shows paused with
"Refresh permissions"; refreshed, it sends again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from browser_sandbox import Sandbox
from playwright.sync_api import Page, expect

SANDBOX_TOKEN = "sandbox-page-token"  # the token `serve --sandbox` configures


def replies(sim: str, psid: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = requests.get(
        f"{sim}/_sim/messages", params={"psid": psid}, timeout=10
    ).json()["data"]
    return found


def wait_for_reply(sim: str, psid: str, ok: bool, count: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len([m for m in replies(sim, psid) if m["ok"] is ok]) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(
        f"no {'accepted' if ok else 'refused'} send to {psid}: {replies(sim, psid)}"
    )


def say(sim: str, text: str, who: str) -> str:
    answer = requests.post(f"{sim}/_sim/say", json={"text": text, "as": who}, timeout=10)
    assert answer.status_code == 200, answer.text
    psid: str = answer.json()["psid"]
    return psid


def kill(sim: str, token: str | None = None) -> None:
    body = {"token": token} if token else {}
    page_id = requests.get(f"{sim}/_sim/pages", timeout=10).json()["data"][0]["page_id"]
    assert requests.post(f"{sim}/_sim/pages/{page_id}/kill_token", json=body, timeout=10).ok


def log_in_on_facebook(page: Page) -> str:
    """The simulated Facebook Login dialog: Continue. Returns the simulator's root."""
    expect(page.get_by_role("heading", name="Log in as Sandbox Admin")).to_be_visible()
    parts = urlsplit(page.url)
    page.get_by_role("button", name="Continue as Sandbox Admin").click()
    return f"{parts.scheme}://{parts.netloc}"


def test_connect_the_page_use_its_token_lose_it_and_refresh_it(
    page: Page, sandbox: Sandbox, screenshots: Path
) -> None:
    page.goto(sandbox.link)
    page.goto(f"{sandbox.url}/pages")
    expect(page.get_by_role("heading", name="Pages", exact=True)).to_be_visible()
    page.get_by_role("button", name="Connect with Facebook").click()
    sim = log_in_on_facebook(page)
    expect(page.get_by_role("heading", name="Pick the Page to connect")).to_be_visible()
    page.get_by_role("button", name="Connect Chez Lina (Paris)").click()
    expect(
        page.get_by_text("Chez Lina (Paris) is connected; its token is stored encrypted.")
    ).to_be_visible()
    card = page.locator("article.pagecard")
    expect(card.get_by_text("connected", exact=True)).to_be_visible()
    for field in ("messages", "messaging_postbacks", "messaging_referrals", "feed"):
        expect(card.locator("code", has_text=field).first).to_be_visible()
    page.screenshot(path=screenshots / "pages.png", full_page=True)

    # The configured token dies: only the token the login gave can answer this contact.
    kill(sim, SANDBOX_TOKEN)
    alice = say(sim, "hello there", "alice")
    wait_for_reply(sim, alice, ok=True)

    # A password change: every token of the page dies; the next send is a 190.
    kill(sim)
    bob = say(sim, "hello again", "bob")
    wait_for_reply(sim, bob, ok=False)
    [refused] = [m for m in replies(sim, bob) if not m["ok"]][:1]
    assert refused["error"]["code"] == 190
    page.reload()
    expect(card.get_by_text("paused", exact=True)).to_be_visible()
    expect(card.get_by_text("Facebook no longer accepts this page's token")).to_be_visible()
    page.screenshot(path=screenshots / "pages-refresh.png", full_page=True)

    page.get_by_role("button", name="Refresh permissions").click()
    log_in_on_facebook(page)
    expect(page.get_by_text("it sends again")).to_be_visible()
    expect(page.get_by_role("button", name="Refresh permissions")).to_have_count(0)
    wait_for_reply(sim, bob, ok=True)  # the queued reply went out with the new token


def test_on_a_phone_the_pages_page_fits_the_screen(browser_phone: Page, sandbox: Sandbox) -> None:
    browser_phone.goto(sandbox.link)
    browser_phone.goto(f"{sandbox.url}/pages")
    expect(browser_phone.get_by_role("heading", name="Pages", exact=True)).to_be_visible()
    width = browser_phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone: it scrolls sideways"
