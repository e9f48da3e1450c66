"""Facebook's messaging rules as the engine applies them, at the edges that matter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from pageflows.engine.policy import (
    RULES,
    Delivery,
    Skip,
    TokenState,
    check_tag,
    decide,
    decide_human_reply,
    decide_private_reply,
    token_cap,
    window_is_open,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)
RETIRED_2026 = ["CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"]


def plain(outcome: object) -> object:
    """The decision without its rationale text (tested on its own)."""
    if isinstance(outcome, Delivery):
        return outcome.model_copy(update={"because": ""})
    return outcome


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def token(last_sent_at: datetime | None = None, *, stopped: bool = False) -> TokenState:
    obtained = datetime(2025, 1, 1, tzinfo=UTC)
    return TokenState(
        token="tok-1",
        topic="deals",
        obtained_at=obtained,
        last_sent_at=last_sent_at,
        stopped=stopped,
    )


def skip_reason(outcome: Delivery | Skip) -> str | None:
    return outcome.reason if isinstance(outcome, Skip) else None


@pytest.mark.parametrize(
    ("age", "is_open"),
    [(23 * H + 59 * M, True), (24 * H, False), (24 * H + M, False), (timedelta(0), True)],
)
def test_window_is_open_for_24_hours_after_the_contacts_message(
    age: timedelta, is_open: bool
) -> None:
    assert window_is_open(NOW, NOW - age) is is_open


def test_window_is_closed_for_a_contact_who_never_wrote() -> None:
    assert window_is_open(NOW, None) is False


def test_window_counts_from_the_contacts_message_timestamp_not_from_when_it_was_processed() -> None:
    sent_by_contact = NOW - 24 * H - M  # the webhook arrived (or was handled) later
    assert decide(now=NOW, last_user_message_at=sent_by_contact, scheduled=False) == Skip(
        reason="outside_window",
        detail="The 24 h window after the contact's last message closed at 2026-03-10 11:59 UTC, "
        "and no usable tag or notification token was given.",
    )
    assert plain(decide(now=NOW, last_user_message_at=NOW - 23 * H, scheduled=False)) == Delivery(
        messaging_type="RESPONSE"
    )


@pytest.mark.parametrize(("scheduled", "messaging_type"), [(False, "RESPONSE"), (True, "UPDATE")])
def test_inside_the_window_a_message_goes_out_without_a_tag(
    scheduled: bool, messaging_type: str
) -> None:
    outcome = decide(
        now=NOW, last_user_message_at=NOW - H, scheduled=scheduled, tag="ACCOUNT_UPDATE"
    )
    assert plain(outcome) == Delivery(messaging_type=messaging_type)
    assert outcome.describe() == messaging_type


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (23 * H + 59 * M, Delivery(messaging_type="RESPONSE")),
        (24 * H, Delivery(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")),
        (6 * D + 23 * H, Delivery(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")),
    ],
)
def test_a_human_agent_replies_normally_then_with_human_agent_tag(
    age: timedelta, expected: Delivery
) -> None:
    assert (
        plain(decide_human_reply(now=NOW, last_user_message_at=NOW - age, human_agent=True))
        == expected
    )


def test_each_decision_says_why_it_was_allowed() -> None:
    """The compliance log: the rule that let a message go, in words, stored with it."""
    inside = decide(now=NOW, last_user_message_at=NOW - 2 * H, scheduled=False)
    assert isinstance(inside, Delivery)
    assert inside.because == (
        "RESPONSE: the 24 h window after the contact's message at 2026-03-10 10:00 UTC,"
        " open until 2026-03-11 10:00 UTC"
    )
    agent = decide_human_reply(now=NOW, last_user_message_at=NOW - 31 * H, human_agent=True)
    assert isinstance(agent, Delivery)
    assert agent.because == (
        "HUMAN_AGENT: a person's reply 31 h after the contact's last message"
        " (2026-03-09 05:00 UTC), within 7 days"
    )
    ad = decide(
        now=NOW, last_user_message_at=NOW - 3 * D, scheduled=True, ad_message_at=NOW - 3 * D
    )
    assert isinstance(ad, Delivery)
    assert ad.because.startswith("UPDATE: the 7 days window after the contact's message from an ad")


@pytest.mark.parametrize("age", [7 * D, 7 * D + M])
def test_a_human_agent_reply_after_7_days_is_skipped(age: timedelta) -> None:
    outcome = decide_human_reply(now=NOW, last_user_message_at=NOW - age, human_agent=True)
    assert skip_reason(outcome) == "outside_window"
    assert isinstance(outcome, Skip) and "7 days" in outcome.detail


@pytest.mark.parametrize(
    ("age", "reason"),
    [
        (23 * H + 59 * M, None),
        (24 * H, "human_agent_permission_missing"),
        (6 * D + 23 * H, "human_agent_permission_missing"),
        (7 * D, "outside_window"),
    ],
)
def test_without_the_human_agent_permission_a_person_answers_only_inside_24_h(
    age: timedelta, reason: str | None
) -> None:
    outcome = decide_human_reply(now=NOW, last_user_message_at=NOW - age, human_agent=False)
    if reason is None:
        assert plain(outcome) == Delivery(messaging_type="RESPONSE")
        return
    assert skip_reason(outcome) == reason
    assert isinstance(outcome, Skip)
    if reason == "human_agent_permission_missing":
        assert "human_agent = true" in outcome.detail and "App Review" in outcome.detail


def test_a_person_never_answers_a_contact_who_never_wrote() -> None:
    outcome = decide_human_reply(now=NOW, last_user_message_at=None, human_agent=True)
    assert skip_reason(outcome) == "outside_window"


@pytest.mark.parametrize("tag", RETIRED_2026)
def test_deprecated_tag_is_still_sent_on_its_last_accepted_day_2026_04_26(tag: str) -> None:
    outcome = decide(
        now=datetime(2026, 4, 26, 23, 59, tzinfo=UTC),
        last_user_message_at=datetime(2026, 4, 1, tzinfo=UTC),
        scheduled=True,
        tag=tag,
    )
    assert plain(outcome) == Delivery(messaging_type="MESSAGE_TAG", tag=tag)
    assert outcome.describe() == f"MESSAGE_TAG {tag}"


@pytest.mark.parametrize("tag", RETIRED_2026)
def test_deprecated_tag_is_skipped_from_2026_04_27_with_date_and_replacement(tag: str) -> None:
    outcome = decide(
        now=datetime(2026, 4, 27, 0, 0, tzinfo=UTC),
        last_user_message_at=datetime(2026, 4, 26, tzinfo=UTC) - H,
        scheduled=True,
        tag=tag,
    )
    assert isinstance(outcome, Skip)
    assert outcome.reason == "tag_retired"
    assert "2026-04-27" in outcome.detail
    assert "utility template" in outcome.detail


def test_retired_tag_date_is_taken_in_utc() -> None:
    paris_evening = datetime(2026, 4, 27, 1, 30, tzinfo=timezone(timedelta(hours=2)))  # 04-26 UTC
    outcome = decide(
        now=paris_evening, last_user_message_at=NOW, scheduled=True, tag="POST_PURCHASE_UPDATE"
    )
    assert plain(outcome) == Delivery(messaging_type="MESSAGE_TAG", tag="POST_PURCHASE_UPDATE")


def test_shipping_update_tag_has_been_refused_since_2020() -> None:
    outcome = decide(
        now=NOW, last_user_message_at=NOW - 2 * D, scheduled=True, tag="SHIPPING_UPDATE"
    )
    assert isinstance(outcome, Skip)
    assert outcome.reason == "tag_retired"
    assert "2020-03-04" in outcome.detail


@pytest.mark.parametrize("age", [25 * H, 3 * D])
def test_automation_never_uses_human_agent_tag(age: timedelta) -> None:
    outcome = decide(now=NOW, last_user_message_at=NOW - age, scheduled=True, tag="HUMAN_AGENT")
    assert skip_reason(outcome) == "human_agent_not_for_automation"


@pytest.mark.parametrize("tag", ["MADE_UP_TAG", "post_purchase_update", ""])
def test_a_tag_facebook_does_not_know_is_skipped(tag: str) -> None:
    outcome = decide(now=NOW, last_user_message_at=NOW - 2 * D, scheduled=True, tag=tag)
    assert skip_reason(outcome) == "tag_unknown"


@pytest.mark.parametrize(
    ("age", "reason"),
    [(6 * D + 23 * H, None), (7 * D, "tag_window_expired"), (7 * D + M, "tag_window_expired")],
)
def test_customer_feedback_tag_works_for_7_days_after_the_contacts_message(
    age: timedelta, reason: str | None
) -> None:
    outcome = decide(
        now=NOW, last_user_message_at=NOW - age, scheduled=True, tag="CUSTOMER_FEEDBACK"
    )
    assert skip_reason(outcome) == reason


def test_customer_feedback_tag_is_skipped_for_a_contact_who_never_wrote() -> None:
    outcome = decide(now=NOW, last_user_message_at=None, scheduled=True, tag="CUSTOMER_FEEDBACK")
    assert skip_reason(outcome) == "tag_window_expired"


def test_follow_up_after_window_without_tag_or_token_is_skipped_with_reason() -> None:
    outcome = decide(now=NOW, last_user_message_at=NOW - 3 * D, scheduled=True)
    assert isinstance(outcome, Skip)
    assert outcome.reason == "outside_window"
    assert "2026-03-08 12:00 UTC" in outcome.detail


@pytest.mark.parametrize(
    ("on", "cap"),
    [
        (date(2025, 8, 31), timedelta(hours=24)),
        (date(2025, 9, 1), timedelta(hours=48)),
        (date(2026, 1, 1), timedelta(hours=48)),
        (date(2020, 1, 1), timedelta(hours=24)),
    ],
)
def test_notification_token_cap_is_24h_then_48h_from_2025_09_01(on: date, cap: timedelta) -> None:
    assert token_cap(on) == cap


@pytest.mark.parametrize(
    ("now", "since_last_send", "reason"),
    [
        (at(date(2025, 8, 20)), 23 * H, "token_capped"),
        (at(date(2025, 8, 20)), 25 * H, None),
        (at(date(2025, 9, 20)), 25 * H, "token_capped"),
        (at(date(2025, 9, 20)), 47 * H, "token_capped"),
        (at(date(2025, 9, 20)), 48 * H, None),
        (at(date(2025, 9, 20)), 49 * H, None),
    ],
)
def test_notification_token_sends_once_per_cap(
    now: datetime, since_last_send: timedelta, reason: str | None
) -> None:
    outcome = decide(
        now=now,
        last_user_message_at=now - 10 * D,
        scheduled=True,
        token=token(last_sent_at=now - since_last_send),
        region="EU",
    )
    assert skip_reason(outcome) == reason
    if reason is None:
        assert plain(outcome) == Delivery(
            messaging_type="UPDATE", notification_token="tok-1", topic="deals"
        )
        assert outcome.describe() == "notification token (deals)"


def test_capped_token_says_when_the_next_message_is_allowed() -> None:
    now = at(date(2025, 9, 20))
    outcome = decide(
        now=now, last_user_message_at=None, scheduled=True, token=token(now - 47 * H), region="EU"
    )
    assert isinstance(outcome, Skip)
    assert "2025-09-20 13:00 UTC" in outcome.detail


def test_never_used_token_is_sent() -> None:
    outcome = decide(now=NOW, last_user_message_at=None, scheduled=True, token=token(), region="EU")
    assert plain(outcome) == Delivery(
        messaging_type="UPDATE", notification_token="tok-1", topic="deals"
    )


def test_stopped_token_is_skipped_even_when_uncapped() -> None:
    outcome = decide(
        now=NOW, last_user_message_at=None, scheduled=True, token=token(stopped=True), region="EU"
    )
    assert skip_reason(outcome) == "token_stopped"


def test_failed_tag_falls_back_to_notification_token() -> None:
    outcome = decide(
        now=at(date(2026, 4, 27)),
        last_user_message_at=NOW,
        scheduled=True,
        tag="POST_PURCHASE_UPDATE",
        token=token(),
        region="EU",
    )
    assert plain(outcome) == Delivery(
        messaging_type="UPDATE", notification_token="tok-1", topic="deals"
    )


def test_when_tag_and_token_both_fail_both_reasons_are_shown() -> None:
    outcome = decide(
        now=at(date(2026, 4, 27)),
        last_user_message_at=NOW,
        scheduled=True,
        tag="POST_PURCHASE_UPDATE",
        token=token(stopped=True),
        region="EU",
    )
    assert isinstance(outcome, Skip)
    assert outcome.reason == "token_stopped"
    assert "2026-04-27" in outcome.detail and "Stop these messages" in outcome.detail


def test_inside_the_window_the_token_is_not_spent() -> None:
    outcome = decide(
        now=NOW, last_user_message_at=NOW - H, scheduled=True, token=token(), region="EU"
    )
    assert plain(outcome) == Delivery(messaging_type="UPDATE")


@pytest.mark.parametrize(
    ("age", "already_replied", "from_page", "reason"),
    [
        (6 * D + 23 * H, False, False, None),
        (7 * D, False, False, "private_reply_expired"),
        (7 * D + M, False, False, "private_reply_expired"),
        (H, True, False, "already_replied"),
        (H, False, True, "own_comment"),
        (H, True, True, "own_comment"),
    ],
)
def test_private_reply_once_within_7_days_never_to_own_comment(
    age: timedelta, already_replied: bool, from_page: bool, reason: str | None
) -> None:
    outcome = decide_private_reply(
        now=NOW, comment_created_at=NOW - age, already_replied=already_replied, from_page=from_page
    )
    assert skip_reason(outcome) == reason
    if reason is None:
        assert plain(outcome) == Delivery(messaging_type="RESPONSE")


@pytest.mark.parametrize(
    ("tag", "on", "status", "retired_on"),
    [
        ("CUSTOMER_FEEDBACK", date(2026, 6, 1), "accepted", None),
        ("POST_PURCHASE_UPDATE", date(2026, 4, 26), "accepted", date(2026, 4, 27)),
        ("POST_PURCHASE_UPDATE", date(2026, 4, 27), "retired", date(2026, 4, 27)),
        ("ACCOUNT_UPDATE", date(2027, 1, 1), "retired", date(2026, 4, 27)),
        ("SHIPPING_UPDATE", date(2020, 3, 3), "accepted", date(2020, 3, 4)),
        ("SHIPPING_UPDATE", date(2020, 3, 4), "retired", date(2020, 3, 4)),
        ("HUMAN_AGENT", date(2026, 6, 1), "human_only", None),
        ("NOT_A_TAG", date(2026, 6, 1), "unknown", None),
        ("human_agent", date(2026, 6, 1), "unknown", None),
    ],
)
def test_check_tag_tells_the_linter_what_facebook_does_on_a_date(
    tag: str, on: date, status: str, retired_on: date | None
) -> None:
    verdict = check_tag(tag, on)
    assert (verdict.status, verdict.retired_on) == (status, retired_on)
    assert verdict.replacement
    assert (verdict.rule is None) == (status == "unknown")


def test_rule_table_lists_every_tag_once_with_a_source() -> None:
    names = [rule.tag for rule in RULES.tags]
    assert len(names) == len(set(names)) == 5 + 16
    assert all(rule.source.startswith("[") for rule in RULES.tags)
    assert all(rule.source for rule in RULES.token_caps)


@pytest.mark.parametrize(
    "call",
    [
        lambda: window_is_open(datetime(2026, 1, 1), None),
        lambda: window_is_open(NOW, datetime(2026, 1, 1)),
        lambda: decide(now=datetime(2026, 1, 1), last_user_message_at=None, scheduled=True),
        lambda: decide_human_reply(
            now=NOW, last_user_message_at=datetime(2026, 1, 1), human_agent=True
        ),
        lambda: decide_private_reply(
            now=NOW, comment_created_at=datetime(2026, 1, 1), already_replied=False, from_page=False
        ),
        lambda: TokenState(token="t", topic="x", obtained_at=datetime(2026, 1, 1)),
    ],
)
def test_naive_datetimes_are_a_programming_error(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()
