"""The Flows page in a browser: each flow drawn, its findings, numbers on its steps."""

from __future__ import annotations

import time
from pathlib import Path

from browser_sandbox import Sandbox
from playwright.sync_api import Page, expect

from pageflows.simulator.harness import SimControl


def test_a_flow_is_drawn_with_the_numbers_of_what_it_sent(
    page: Page, sandbox: Sandbox, screenshots: Path
) -> None:
    simulator = SimControl(sandbox.simulator)
    simulator.say("what are your opening hours?", as_="maria")
    deadline = time.monotonic() + 20
    while not simulator.sent_messages() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert simulator.sent_messages(), "the sandbox never answered"

    page.goto(sandbox.link)
    page.get_by_role("link", name="Flows", exact=True).click()
    for name in ("booking", "growth", "weekly_menu", "welcome"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    page.get_by_role("link", name="welcome", exact=True).click()
    expect(page.get_by_role("heading", name="welcome")).to_be_visible()
    expect(page.get_by_text("pageflows check is happy", exact=False)).to_be_visible()
    diagram = page.locator("svg.flow-diagram")
    expect(diagram).to_be_visible()
    expect(diagram.locator("g.lane")).to_have_count(8)  # the 8 blocks of welcome.flow
    hours = diagram.locator('g.lane:has(text:text-is("step hours"))')
    expect(hours.locator("text.hn")).to_contain_text("sent 1")
    funnel = page.get_by_role("table").filter(has_text="Replied")
    expect(funnel.get_by_role("row", name="step hours")).to_contain_text("1")
    page.screenshot(path=screenshots / "flows.png", full_page=True)
    page.goto(f"{sandbox.url}/flows")
    page.screenshot(path=screenshots / "flows-list.png")
