"""Signing in to the console in a browser, as a person does after `make run`."""

from __future__ import annotations

from pathlib import Path

from browser_sandbox import Sandbox
from playwright.sync_api import Page, expect


def test_the_printed_link_signs_in_and_shows_the_status(
    page: Page, sandbox: Sandbox, screenshots: Path
) -> None:
    page.goto(sandbox.link)
    expect(page).to_have_url(f"{sandbox.url}/status")  # the token left the address bar
    expect(page.get_by_role("heading", name="Status")).to_be_visible()
    expect(page.get_by_text("Chez Lina")).to_be_visible()
    expect(page.get_by_text("sending")).to_be_visible()
    page.screenshot(path=screenshots / "status.png", full_page=True)


def test_signing_out_and_in_again_with_the_admin_token(
    page: Page, sandbox: Sandbox, screenshots: Path
) -> None:
    page.goto(sandbox.link)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{sandbox.url}/status")  # signed out: the page asks to sign in first
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Password or admin token").fill("not the token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("that is not the admin token")
    page.screenshot(path=screenshots / "signin.png")
    page.get_by_label("Password or admin token").fill(sandbox.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{sandbox.url}/status")
    expect(page.get_by_role("heading", name="Status")).to_be_visible()


def test_on_a_phone_the_status_fits_the_screen(browser_phone: Page, sandbox: Sandbox) -> None:
    browser_phone.goto(sandbox.link)
    expect(browser_phone.get_by_role("heading", name="Status")).to_be_visible()
    width = browser_phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone: it scrolls sideways"
