"""The Broadcasts pages in a browser: preview the weekly menu, send it, read its report.

Against `pageflows serve --sandbox examples/restaurant`: a guest asks for the
menu and taps "Get messages" in the built-in simulator (a subscriber of
weekly_menu); the preview says one contact would get the broadcast, how (an
UPDATE: her window is still open), and shows the message; the send needs its box ticked; the
report page follows the run without a reload and shows it sent.
"""

from __future__ import annotations

import time
from pathlib import Path

from browser_sandbox import Sandbox
from playwright.sync_api import Page, expect

from pageflows.simulator.harness import SimControl

GUEST = "7000000000000002"


def subscribe(sandbox: Sandbox) -> None:
    """The guest writes "menu" and taps "Get messages" once the request is on her screen."""
    control = SimControl(sandbox.simulator)
    control.say("menu", psid=GUEST)
    deadline = time.monotonic() + 20
    while True:
        try:
            control.optin("Chez Lina's weekly menu", psid=GUEST)
            return
        except RuntimeError:  # the opt-in request has not reached her yet: the sender is async
            assert time.monotonic() < deadline, "the opt-in request never reached the guest"
            time.sleep(0.3)


def test_preview_send_and_read_the_report(page: Page, sandbox: Sandbox, screenshots: Path) -> None:
    subscribe(sandbox)
    page.goto(sandbox.link)
    page.get_by_role("link", name="Broadcasts").click()
    card = page.locator('article[data-broadcast="friday_menu"]')
    expect(card.locator(".badge")).to_have_text("recurring")
    expect(card).to_contain_text("every friday at 10:00 Europe/Paris")
    expect(card).to_contain_text('to subscribers of "weekly_menu"')

    card.get_by_role("link", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview: friday_menu")).to_be_visible()
    for _ in range(30):  # her opt-in is decided in the background: look again
        if page.locator('[data-count="send"]').inner_text() == "1":
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator('[data-count="send"]')).to_have_text("1")
    # she wrote minutes ago: inside her 24 h window it goes as a standard UPDATE
    expect(page.locator('[data-mode="UPDATE"]')).to_contain_text("1 e.g. Alice Example")
    expect(page.locator(".bubble")).to_contain_text("This week at Chez Lina: chestnut soup")
    expect(page.get_by_text("this sends one extra run now")).to_be_visible()
    page.screenshot(path=screenshots / "broadcast-preview.png", full_page=True)

    page.get_by_role("button", name="Send now").click()  # the box is not ticked: not sent
    expect(page).to_have_url(f"{sandbox.url}/broadcasts/friday_menu/preview")
    page.get_by_label("I have read who would get it").check()
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("status")).to_contain_text("Started: 1 contact(s) to decide for")
    report = page.get_by_role("region", name="report")
    expect(report.locator('[data-field="sent"]')).to_have_text("1", timeout=30_000)
    expect(report.locator('[data-field="contacts"]')).to_have_text("1")
    expect(report).to_contain_text("UPDATE 1")
    expect(page.locator('[data-field="state"]')).to_have_text("done")
    messages = SimControl(sandbox.simulator).sent_messages(GUEST)
    assert any("chestnut soup" in m["request"].get("message", {}).get("text", "") for m in messages)
    page.screenshot(path=screenshots / "broadcast-report.png", full_page=True)
    page.get_by_role("link", name="← Broadcasts").click()
    expect(card.locator(".badge")).to_have_text("done")  # its latest run
    expect(card).to_contain_text("Latest run, friday_menu@")
    page.screenshot(path=screenshots / "broadcasts.png", full_page=True)


def test_on_a_phone_the_broadcasts_fit_the_screen(browser_phone: Page, sandbox: Sandbox) -> None:
    browser_phone.goto(sandbox.link)
    for path in ("/broadcasts", "/broadcasts/friday_menu/preview", "/broadcasts/friday_menu"):
        browser_phone.goto(f"{sandbox.url}{path}")
        width = browser_phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide on a 390px phone: it scrolls sideways"
