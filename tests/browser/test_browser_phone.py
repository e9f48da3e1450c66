"""Every page of the console on a phone (390 px wide): nothing makes the page scroll
sideways (a wide diagram or table scrolls inside its own frame)."""

from __future__ import annotations

from browser_sandbox import Sandbox
from playwright.sync_api import Page, expect

PAGES = ["/status", "/preview", "/inbox", "/flows", "/flows/booking", "/growth", "/broadcasts",
         "/pages", "/signin"]  # fmt: skip


def test_every_page_fits_a_phone(browser_phone: Page, sandbox: Sandbox) -> None:
    browser_phone.goto(sandbox.link)
    browser_phone.goto(f"{sandbox.url}/preview")
    browser_phone.get_by_label("by writing first").check()
    browser_phone.get_by_role("button", name="Start").click()
    expect(browser_phone.get_by_role("list", name="chat")).to_contain_text("Hi", timeout=15_000)
    chat = browser_phone.url.removeprefix(sandbox.url)
    too_wide = {}
    for path in [*PAGES, chat, "/inbox/" + chat.rsplit("/", 1)[-1]]:
        browser_phone.goto(sandbox.url + path)
        width = browser_phone.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide[path] = width
    assert too_wide == {}, f"these pages scroll sideways on a 390 px phone: {too_wide}"
