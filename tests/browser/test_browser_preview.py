"""The Preview in a browser: be a contact, through the real path, and move the clock."""

from __future__ import annotations

from pathlib import Path

from browser_sandbox import Sandbox
from playwright.sync_api import Page, expect


def test_a_ref_link_a_tap_and_the_follow_up_after_moving_the_clock(
    page: Page, shop_sandbox: Sandbox, screenshots: Path
) -> None:
    page.goto(shop_sandbox.link)
    page.get_by_role("link", name="Preview", exact=True).click()
    page.get_by_label("First name").fill("Maria")
    page.get_by_label('by the m.me link with ref "spring_sale"').check()
    page.get_by_role("button", name="Start").click()

    chat = page.get_by_role("list", name="chat")
    expect(chat).to_contain_text('opened the chat from ref "spring_sale"')
    expect(chat).to_contain_text("Hi Maria! Our spring sale is on", timeout=15_000)
    expect(chat).to_contain_text("sent as RESPONSE")
    expect(page.get_by_role("button", name="Show me deals")).to_be_visible()
    page.screenshot(path=screenshots / "preview.png", full_page=True)

    page.get_by_role("button", name="+20h").click()
    expect(page.get_by_role("status")).to_contain_text("The clock moved 20h ahead")
    expect(chat).to_contain_text("The first spring deals end tonight", timeout=15_000)
    expect(chat.locator("li.msg.out").last).to_contain_text("sent as UPDATE")

    page.get_by_role("button", name="Show me deals").first.click()
    expect(chat.locator("li.msg.in").last).to_contain_text("Show me deals", timeout=10_000)
    expect(chat.locator("li.msg.out").last).to_contain_text("Spring deals", timeout=15_000)


def test_without_a_ref_the_fallback_answers_and_a_window_closes(
    page: Page, shop_sandbox: Sandbox
) -> None:
    page.goto(shop_sandbox.link)
    page.goto(f"{shop_sandbox.url}/preview")
    page.get_by_label("by a link, but Facebook sends no ref").check()
    page.get_by_role("button", name="Start").click()
    chat = page.get_by_role("list", name="chat")
    expect(chat).to_contain_text("Welcome! How did you find us?", timeout=15_000)
    page.get_by_label("Message").fill("a friend told me")
    page.get_by_role("button", name="Send").click()
    expect(chat).to_contain_text("a friend told me", timeout=10_000)


def test_a_title_not_on_screen_is_refused_with_what_can_be_tapped(
    page: Page, sandbox: Sandbox
) -> None:
    page.goto(sandbox.link)
    page.goto(f"{sandbox.url}/preview")
    page.get_by_label("by writing first").check()
    page.get_by_label("What they write or comment").fill("opening hours")
    page.get_by_role("button", name="Start").click()
    chat = page.get_by_role("list", name="chat")
    expect(chat).to_contain_text("We're open", timeout=15_000)
    psid = page.url.rsplit("/", 1)[-1]
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    answer = page.request.post(
        f"{sandbox.url}/preview/{psid}/tap",
        form={"value": "Nope", "csrf_token": token or ""},
        max_redirects=0,
    )
    assert answer.status == 302  # back to the chat, which says why
    expect(page.get_by_role("status")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("status")).to_contain_text('nothing titled "Nope" to tap')
