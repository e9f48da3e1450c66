"""The checker under Facebook's 2026 rules: templates per Page, notifications per region."""

from __future__ import annotations

from datetime import date

import pytest

from pageflows.engine.policy import RULES, check_tag
from pageflows.rules.diagnostics import Code
from pageflows.rules.load import load_texts
from pageflows.rules.page_facts import PageFacts, TemplateInfo

ORDER = TemplateInfo(
    name="order_update", language="en_US", body="Order {{1}} is {{2}}.", parameters=2
)
NOTIFYING = """\
on keyword "deals":
    request notifications "deals" title "Deals"
    after 3d via notification "deals":
        send "New deals"

broadcast friday to subscribers of "deals" at "2026-12-04 09:00" in "Europe/Paris":
    send "Friday deals"
"""


def codes(text: str, on: date, *pages: PageFacts) -> list[str]:
    result = load_texts({"f/a.flow": text.encode()}, on, check_tag, pages, RULES.token_regions)
    return [d.code.number for d in result.diagnostics]


@pytest.mark.parametrize(
    ("on", "region", "warned"),
    [
        (date(2026, 1, 11), None, 0),
        (date(2026, 1, 12), None, 3),  # deprecated: "stops on 2026-02-10"
        (date(2026, 2, 10), None, 3),
        (date(2026, 2, 10), "EU", 0),
        (date(2026, 11, 28), "JP", 0),
        (date(2026, 11, 28), None, 3),
    ],
)
def test_notification_features_are_flagged_for_pages_outside_the_regions(
    on: date, region: str | None, warned: int
) -> None:
    found = codes(NOTIFYING, on, PageFacts(id="1", region=region))
    assert found.count("PF407") == warned


def test_one_page_outside_the_regions_is_enough_to_warn_and_is_named() -> None:
    result = load_texts(
        {"f/a.flow": NOTIFYING.encode()},
        date(2026, 11, 28),
        check_tag,
        (PageFacts(id="1", region="EU"), PageFacts(id="2")),
        RULES.token_regions,
    )
    first = next(d for d in result.diagnostics if d.code is Code.NOTIFICATIONS_DISCONTINUED)
    assert "page 2: no region set" in first.message
    assert "page 1" not in first.message


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        ('send template "order_update" with "a", "b"', []),
        ('send template "order_update" with "a"', ["PF315"]),
        ('send template "order_update" with "a", "b", "c"', ["PF315"]),
        ('send template "order_update"', ["PF315"]),
        ('send template "order_updte" with "a", "b"', ["PF314"]),
        ('send template "order_update" language "de_DE" with "a", "b"', ["PF314"]),
    ],
)
def test_each_template_send_is_compared_with_the_page(send: str, expected: list[str]) -> None:
    flow = f'on keyword "x":\n    {send}\n'
    assert codes(flow, date(2026, 11, 28), PageFacts(id="1", templates=(ORDER,))) == expected


def test_a_template_that_is_not_approved_is_an_error() -> None:
    paused = TemplateInfo(name="order_update", language="en_US", status="PAUSED", parameters=2)
    flow = 'on keyword "x":\n    send template "order_update" with "a", "b"\n'
    assert codes(flow, date(2026, 11, 28), PageFacts(id="1", templates=(paused,))) == ["PF317"]


def test_a_follow_up_of_templates_only_needs_no_window() -> None:
    flow = 'on keyword "x":\n    after 3d:\n        send template "order_update" with "a", "b"\n'
    assert codes(flow, date(2026, 11, 28), PageFacts(id="1", templates=(ORDER,))) == []
    plain = 'on keyword "x":\n    after 3d:\n        send "Your order shipped"\n'
    assert codes(plain, date(2026, 11, 28), PageFacts(id="1")) == ["PF403"]


def test_a_broadcast_of_templates_only_needs_no_tag() -> None:
    """A utility template goes at any time (policy.md §2a): no PF405 for it."""
    head = 'broadcast notice to everyone at "2026-12-01 09:00" in "UTC":\n'
    templates = head + '    send template "order_update" with "a", "b"\n'
    assert codes(templates, date(2026, 11, 28), PageFacts(id="1", templates=(ORDER,))) == []
    text = head + '    send "Our shop moves on Monday"\n'
    assert codes(text, date(2026, 11, 28), PageFacts(id="1")) == ["PF405"]
