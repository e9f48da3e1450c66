"""The Growth page in a browser: download a QR code, scan it, see the arrival counted.

Against `pageflows serve --sandbox examples/restaurant`: the terrace QR code
is downloaded as a person does (the PNG link), decoded back to its m.me link,
and "scanned" through the built-in simulator (Facebook reports a scan as the
link's ref); the page then counts one arrival by QR for `terrace`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import zxingcpp
from browser_sandbox import Sandbox
from PIL import Image
from playwright.sync_api import Page, expect

from pageflows.simulator.harness import SimControl

LINK = "https://m.me/chezlina.paris?ref=terrace::qr"


def test_download_a_qr_code_scan_it_and_see_the_arrival(
    page: Page, sandbox: Sandbox, screenshots: Path, tmp_path: Path
) -> None:
    page.goto(sandbox.link)
    page.get_by_role("link", name="Growth").click()
    expect(page.get_by_role("heading", name="Growth")).to_be_visible()
    card = page.locator('article[data-ref="terrace"]')
    expect(card.get_by_role("link", name="https://m.me/chezlina.paris?ref=terrace")).to_be_visible()
    expect(card.locator('td[data-via="total"]')).to_have_text("0")

    with page.expect_download() as started:
        card.locator(".downloads span", has_text="512 px").get_by_role("link", name="PNG").click()
    download = started.value
    assert download.suggested_filename == "qr-terrace-512.png"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    (decoded,) = zxingcpp.read_barcodes(Image.open(saved))
    assert decoded.text == LINK

    # Someone scans it: Facebook sends the link's ref as a SHORTLINK referral.
    (ref,) = parse_qs(urlparse(decoded.text).query)["ref"]
    SimControl(sandbox.simulator).referral(ref, psid="7000000000000001", source="SHORTLINK")
    for _ in range(30):  # the worker decides it in the background: look again, as a person would
        page.reload()
        if card.locator('td[data-via="qr"]').inner_text() == "1":
            break
        page.wait_for_timeout(500)
    expect(card.locator('td[data-via="qr"]')).to_have_text("1")
    expect(card.locator('td[data-via="total"]')).to_have_text("1")
    expect(page.locator('[data-total="arrivals"]')).to_have_text("1")

    page.get_by_label("Period", exact=True).select_option("7d")
    expect(page).to_have_url(f"{sandbox.url}/growth?period=7d")
    expect(card.locator('td[data-via="qr"]')).to_have_text("1")
    page.screenshot(path=screenshots / "growth.png", full_page=True)


def test_on_a_phone_the_growth_page_fits_the_screen(
    browser_phone: Page, sandbox: Sandbox, screenshots: Path
) -> None:
    browser_phone.goto(sandbox.link)
    browser_phone.goto(f"{sandbox.url}/growth")
    expect(browser_phone.get_by_role("heading", name="Growth")).to_be_visible()
    width = browser_phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone: it scrolls sideways"
    browser_phone.screenshot(path=screenshots / "growth-phone.png", full_page=True)
