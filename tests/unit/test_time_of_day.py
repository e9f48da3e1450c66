"""Follow-ups at a time of day and counted from a stored date, and recurring broadcasts'
occurrences (issue 12): what day and hour a contact gets the message, across DST
changes, month ends and time zones, with `now` passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import program

from pageflows.chat.conversation import Conversation
from pageflows.chat.show import effect_lines
from pageflows.engine import timing
from pageflows.engine.contact import ContactState
from pageflows.engine.core import handle
from pageflows.engine.effects import Cancelled, Schedule
from pageflows.engine.events import MessageIn
from pageflows.rules.page_facts import PageFacts

PARIS = ZoneInfo("Europe/Paris")
PAGE = PageFacts(id="p", timezone="Europe/Paris")
FLOW = """
on keyword "hi":
    send "Hello"
    after 1d at "10:00":
        send "Good morning"

on keyword "book":
    send "Booked"
    before {contact.booking_date} by 1d at "18:00":
        send "Reminder"
    after {contact.booking_date} by 2h:
        send "Reminder"
"""


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def due(text: str, now: datetime, fields: dict[str, str] | None = None, page: PageFacts = PAGE):
    contact = ContactState(id="c1", first_name="Ana", fields=fields or {})
    event = MessageIn(contact_id="c1", timestamp=now, text=text, mid="m1")
    decision = handle(program(FLOW), contact, event, now, page=page)
    return [e for e in decision.effects if isinstance(e, Schedule | Cancelled)]


def only_due(text: str, now: datetime, **kw: object) -> list[datetime]:
    return [e.due_at for e in due(text, now, **kw) if isinstance(e, Schedule)]  # type: ignore[arg-type]


def test_next_day_at_ten_in_the_pages_zone() -> None:
    # 23:30 in Paris on a Monday: "after 1d at 10:00" is Tuesday 10:00 Paris, 10.5 h later.
    now = local(2026, 11, 23, 23, 30).astimezone(UTC)
    assert only_due("hi", now) == [local(2026, 11, 24, 10, 0)]


def test_the_day_is_the_local_day_not_the_utc_day() -> None:
    # 00:30 Paris on the 24th is still the 23rd in UTC: the next day is the 25th.
    now = local(2026, 11, 24, 0, 30).astimezone(UTC)
    assert only_due("hi", now) == [local(2026, 11, 25, 10, 0)]


def test_contacts_own_zone_wins_when_a_flow_set_one() -> None:
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    york = ZoneInfo("America/New_York")
    found = only_due("hi", now, fields={"timezone": "America/New_York"})
    assert found == [datetime(2026, 11, 24, 10, 0, tzinfo=york)]


def test_a_zone_that_is_no_zone_falls_back_to_the_page() -> None:
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    assert only_due("hi", now, fields={"timezone": "Mars/Olympus"}) == [local(2026, 11, 24, 10)]


def test_utc_when_the_page_names_no_zone() -> None:
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    found = only_due("hi", now, page=PageFacts(id="p"))
    assert found == [datetime(2026, 11, 24, 10, 0, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("now", "expected_utc"),
    [
        # Spring forward (2026-03-29 02:00 -> 03:00): 10:00 CEST is 08:00 UTC, 23 h later.
        (local(2026, 3, 28, 10, 0), datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),
        # Fall back (2026-10-25 03:00 -> 02:00): 10:00 CET is 09:00 UTC, 25 h later.
        (local(2026, 10, 24, 10, 0), datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),
    ],
)
def test_dst_changes_keep_the_wall_clock_time(now: datetime, expected_utc: datetime) -> None:
    assert only_due("hi", now.astimezone(UTC)) == [expected_utc]


def test_a_time_in_the_spring_gap_happens_an_hour_later_by_the_clock() -> None:
    # 02:30 does not exist in Paris on 2026-03-29: it is read as 03:30 CEST (01:30 UTC).
    at = timing.days_later_at(local(2026, 3, 28, 12), 1, "02:30", PARIS)
    assert at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_time_that_happens_twice_is_the_first() -> None:
    # 02:30 happens twice in Paris on 2026-10-25: the first, 02:30 CEST = 00:30 UTC.
    at = timing.days_later_at(local(2026, 10, 24, 12), 1, "02:30", PARIS)
    assert at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_the_day_before_a_booking_at_six_pm_across_a_month_end() -> None:
    now = local(2026, 11, 20, 12).astimezone(UTC)
    found = only_due("book", now, fields={"booking_date": "2026-12-01"})
    assert found == [local(2026, 11, 30, 18, 0), local(2026, 12, 1, 2, 0)]


def test_a_booking_with_a_time_counts_from_that_time() -> None:
    now = local(2026, 11, 20, 12).astimezone(UTC)
    found = only_due("book", now, fields={"booking_date": "2026-12-05 19:30"})
    # `at` moves the day only; without `at`, 2h after 19:30.
    assert found == [local(2026, 12, 4, 18, 0), local(2026, 12, 5, 21, 30)]


@pytest.mark.parametrize(
    ("fields", "reason", "words"),
    [
        ({}, "date_missing", "{contact.booking_date} is empty"),
        ({"booking_date": "next friday"}, "date_unreadable", '"next friday", not a date'),
        ({"booking_date": "2026-11-20"}, "date_passed", "already past"),
    ],
)
def test_no_date_to_count_from_is_said_not_dropped(
    fields: dict[str, str], reason: str, words: str
) -> None:
    now = local(2026, 11, 20, 12).astimezone(UTC)
    found = due("book", now, fields=fields)
    cancelled = [e for e in found if isinstance(e, Cancelled)]
    assert [c.reason for c in cancelled] == [reason, reason]
    assert all(words in c.detail and c.detail.startswith("not scheduled") for c in cancelled)
    assert not [e for e in found if isinstance(e, Schedule)]


def test_the_day_before_is_past_but_the_day_itself_is_not() -> None:
    # The booking is tomorrow at 00:00; 18:00 today has passed, 02:00 tomorrow has not.
    now = local(2026, 11, 30, 19).astimezone(UTC)
    found = due("book", now, fields={"booking_date": "2026-12-01"})
    assert [type(e).__name__ for e in found] == ["Cancelled", "Schedule"]


# ------------------------------------------------------------ recurring broadcasts

FRIDAY = (4,)


def test_next_friday_at_nine() -> None:
    wednesday = local(2026, 12, 2, 15)
    assert timing.occurrences(FRIDAY, "09:00", PARIS, wednesday) == local(2026, 12, 4, 9)
    # On the Friday itself, after 09:00: the next week's.
    assert timing.occurrences(FRIDAY, "09:00", PARIS, local(2026, 12, 4, 9)) == local(
        2026, 12, 11, 9
    )
    assert timing.latest_occurrence(FRIDAY, "09:00", PARIS, local(2026, 12, 4, 9)) == local(
        2026, 12, 4, 9
    )


def test_weekly_occurrences_across_dst_stay_at_nine_local() -> None:
    at = local(2026, 10, 20, 12)
    seen = []
    for _ in range(3):
        at = timing.occurrences(FRIDAY, "09:00", PARIS, at)
        seen.append(at)
    assert [s.astimezone(PARIS).hour for s in seen] == [9, 9, 9]
    assert [s.astimezone(UTC).hour for s in seen] == [7, 8, 8]  # CEST, then CET


weekdays = st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s)))
moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@given(weekdays, moments, st.sampled_from(["00:00", "02:30", "09:00", "23:59"]))
def test_occurrences_are_on_their_weekdays_and_in_order(
    every: tuple[int, ...], now: datetime, hhmm: str
) -> None:
    nxt = timing.occurrences(every, hhmm, PARIS, now)
    last = timing.latest_occurrence(every, hhmm, PARIS, now)
    assert last <= now < nxt
    assert nxt - last <= timedelta(days=7, hours=1)
    assert nxt.astimezone(PARIS).weekday() in every
    assert timing.latest_occurrence(every, hhmm, PARIS, nxt) == nxt


# ------------------------------------------------------------ what `pageflows chat` shows


def test_chat_shows_when_and_why_not() -> None:
    """The lines a marketer reads in `pageflows chat`: the follow-up's time in UTC, and a
    follow-up that could not be scheduled, with the value that stopped it."""
    start = local(2026, 11, 28, 12).astimezone(UTC)
    chat = Conversation.start(program(FLOW), start, page=PAGE)
    lines = effect_lines(chat.event(chat_message(chat, "hi")), chat.clock.now(), "Europe/Paris")
    assert lines[1:] == ["·   follow-up at 2026-11-29 09:00 UTC = 10:00 Europe/Paris (in 21h59m)"]
    chat.contact = chat.contact.model_copy(update={"fields": {"booking_date": "2026-11-28"}})
    lines = effect_lines(chat.event(chat_message(chat, "book")), chat.clock.now())
    assert lines[1:] == [
        "·   follow-up not scheduled (date_passed): 1d before"
        " {contact.booking_date} (2026-11-28) was 2026-11-27 18:00 Europe/Paris, already past",
        "·   follow-up not scheduled (date_passed): 2h after"
        " {contact.booking_date} (2026-11-28) was 2026-11-28 02:00 Europe/Paris, already past",
    ]


def chat_message(chat: Conversation, text: str) -> MessageIn:
    chat.clock.advance(timedelta(seconds=1))
    return MessageIn(contact_id="contact-1", timestamp=chat.clock.now(), text=text, mid=text)
