"""Facebook's 2026 changes as the engine applies them: regions, opt-ins, templates, ad window.

Each table sits on an edge from shared/messenger/policy.md: tokens discontinued on
2026-02-10 outside AU/EU/JP/KR/UK (§3), one opt-in request per title per week (§3),
utility templates (§2a), the 7-day window after a click-to-Messenger ad (§1a) and the
legacy-frequency date 2023-01-31 (§3).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pageflows.engine.policy import (
    RULES,
    Delivery,
    Skip,
    TokenState,
    decide,
    decide_optin_request,
    decide_template,
    send_deadline,
    tokens_allowed,
    window_is_open,
)
from pageflows.rules.page_facts import TemplateInfo

H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)
TOKEN = TokenState(token="tok-1", topic="deals", obtained_at=datetime(2025, 1, 1, tzinfo=UTC))


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def outcome_name(outcome: Delivery | Skip) -> str:
    if isinstance(outcome, Skip):
        return outcome.reason
    return outcome.describe()


@pytest.mark.parametrize(
    ("day", "region", "expected"),
    [
        (date(2026, 2, 9), None, "notification token (deals)"),
        (date(2026, 2, 9), "AU", "notification token (deals)"),
        (date(2026, 2, 10), None, "notifications_discontinued"),
        (date(2026, 2, 10), "US", "notifications_discontinued"),
        *(
            (date(2026, 2, 10), r, "notification token (deals)")
            for r in RULES.token_regions.kept_in
        ),
        (date(2027, 6, 1), "EU", "notification token (deals)"),
        (date(2027, 6, 1), None, "notifications_discontinued"),
    ],
)
def test_tokens_are_discontinued_from_2026_02_10_outside_five_regions(
    day: date, region: str | None, expected: str
) -> None:
    outcome = decide(
        now=midnight(day), last_user_message_at=None, scheduled=True, token=TOKEN, region=region
    )
    assert outcome_name(outcome) == expected


def test_the_discontinued_skip_names_the_date_the_regions_and_what_to_do() -> None:
    outcome = decide(
        now=midnight(date(2026, 3, 1)), last_user_message_at=None, scheduled=True, token=TOKEN
    )
    assert isinstance(outcome, Skip)
    assert "2026-02-10" in outcome.detail
    assert "AU, EU, JP, KR, UK" in outcome.detail
    assert "no region set" in outcome.detail
    assert "utility template" in outcome.detail


def test_tokens_allowed_is_one_edge_for_every_region() -> None:
    assert tokens_allowed(date(2026, 2, 9), None)
    assert not tokens_allowed(date(2026, 2, 10), None)
    assert tokens_allowed(date(2026, 2, 10), "UK")


@pytest.mark.parametrize(
    ("gap", "expected"),
    [
        (6 * D + 23 * H + 59 * M, "optin_request_too_soon"),
        (7 * D, "RESPONSE"),
        (8 * D, "RESPONSE"),
    ],
)
def test_one_opt_in_request_per_title_per_week(gap: timedelta, expected: str) -> None:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    outcome = decide_optin_request(
        now=now,
        last_user_message_at=now - M,
        scheduled=False,
        title="Deals",
        last_requested_at=now - gap,
        region="EU",
    )
    assert outcome_name(outcome) == expected


@pytest.mark.parametrize(
    ("region", "since_message", "expected"),
    [
        ("EU", None, "RESPONSE"),
        ("EU", 25 * H, "outside_window"),
        (None, None, "notifications_discontinued"),
    ],
)
def test_opt_in_requests_need_the_window_and_a_region_that_keeps_tokens(
    region: str | None, since_message: timedelta | None, expected: str
) -> None:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    outcome = decide_optin_request(
        now=now,
        last_user_message_at=now - (since_message or M),
        scheduled=False,
        title="Deals",
        last_requested_at=None,
        region=region,
    )
    assert outcome_name(outcome) == expected


ORDER = TemplateInfo(
    name="order_update", language="en_US", body="Order {{1}} is {{2}}.", parameters=2
)


@pytest.mark.parametrize(
    ("template", "given", "expected"),
    [
        (ORDER, 2, "UTILITY template order_update"),
        (ORDER, 3, "UTILITY template order_update"),  # Facebook ignores extra; the checker warns
        (ORDER, 1, "template_parameters"),
        (ORDER, 0, "template_parameters"),
        (None, 2, "template_unknown"),
        *(
            (
                TemplateInfo(name="order_update", language="en_US", status=s, parameters=2),
                2,
                "template_not_approved",
            )
            for s in ("PENDING", "REJECTED", "PAUSED", "DISABLED")
        ),
    ],
)
def test_a_utility_template_goes_only_when_known_approved_and_filled(
    template: TemplateInfo | None, given: int, expected: str
) -> None:
    outcome = decide_template(
        name="order_update", language="en_US", template=template, parameters=given
    )
    assert outcome_name(outcome) == expected


def test_a_utility_template_has_no_window_deadline() -> None:
    delivery = Delivery(messaging_type="UTILITY", template="order_update")
    assert send_deadline(delivery, datetime(2026, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("since_ad", "ad_window", "expected"),
    [
        (23 * H + 59 * M, False, True),
        (24 * H, False, False),
        (24 * H, True, True),
        (6 * D + 23 * H + 59 * M, True, True),
        (7 * D, True, False),
    ],
)
def test_the_ad_window_lasts_7_days_from_the_ad_message_where_the_page_turned_it_on(
    since_ad: timedelta, ad_window: bool, expected: bool
) -> None:
    ad_message = datetime(2026, 11, 1, 12, tzinfo=UTC)
    now = ad_message + since_ad
    opened = window_is_open(now, ad_message, ad_message_at=ad_message if ad_window else None)
    assert opened is expected
    outcome = decide(
        now=now,
        last_user_message_at=ad_message,
        scheduled=True,
        ad_message_at=ad_message if ad_window else None,
    )
    assert outcome_name(outcome) == ("UPDATE" if expected else "outside_window")


def test_the_ad_window_sets_the_send_deadline_of_a_window_message() -> None:
    ad_message = datetime(2026, 11, 1, 12, tzinfo=UTC)
    delivery = Delivery(messaging_type="UPDATE")
    assert send_deadline(delivery, ad_message) == ad_message + 24 * H
    assert send_deadline(delivery, ad_message, ad_message_at=ad_message) == ad_message + 7 * D


def test_legacy_frequency_tokens_end_on_2023_01_31() -> None:
    assert RULES.legacy_frequency_until == date(2023, 1, 31)
    first_cap = min(RULES.token_caps, key=lambda r: r.effective_from)
    assert first_cap.effective_from == date(2023, 1, 31)
