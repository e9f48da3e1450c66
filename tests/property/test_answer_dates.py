"""`ask ... as date | time`: what a contact types never crashes the reading, and what pageflows
stores reads back as itself (issue 12).

Why: the answer is the contact's text, anything at all; the stored form
(`YYYY-MM-DD`, `HH:MM`) is what later steps and `before {contact.X} by 1d`
read, so a stored value must be a valid answer that names the same day or time.
"""

from __future__ import annotations

import time as clock
from datetime import date, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pageflows.rules.answer_dates import date_answer, parse_date, parse_time, time_answer

# Characters the reader treats specially, mixed with anything at all.
SPECIAL = "0123456789/.-, :hamp\t\u00a0\u0663"
WORDS = st.sampled_from(
    [
        "today",
        "tomorrow",
        "next",
        "friday",
        "dec",
        "December",
        "24th",
        "noon",
        "pm",
        "a.m.",
        "on",
        "the",
    ]
)
ANSWERS = st.one_of(
    st.text(alphabet=st.sampled_from(SPECIAL) | st.characters(), max_size=40),
    st.lists(st.one_of(WORDS, st.integers(0, 3000).map(str)), max_size=5).map(" ".join),
)
TODAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2150, 12, 31))
FUZZ = settings(max_examples=400, deadline=None)


@FUZZ
@given(ANSWERS, TODAYS)
def test_reading_a_date_never_crashes_and_gives_a_real_day(text: str, today: date) -> None:
    stored = date_answer(text, today)
    if stored is not None:
        assert date.fromisoformat(stored).isoformat() == stored


@FUZZ
@given(ANSWERS)
def test_reading_a_time_never_crashes_and_gives_a_24_hour_time(text: str) -> None:
    stored = time_answer(text)
    if stored is not None:
        hours, minutes = stored.split(":")
        assert len(hours) == len(minutes) == 2
        assert 0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59


@FUZZ
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), TODAYS)
def test_a_stored_date_reads_back_as_the_same_day(day: date, today: date) -> None:
    assert date_answer(day.isoformat(), today) == day.isoformat()


@FUZZ
@given(st.times())
def test_a_stored_time_reads_back_as_the_same_time(moment: time) -> None:
    stored = f"{moment.hour:02d}:{moment.minute:02d}"
    assert time_answer(stored) == stored


@FUZZ
@given(TODAYS, st.integers(0, 400))
def test_day_first_numbers_without_a_year_name_the_next_such_day(today: date, ahead: int) -> None:
    day = today + timedelta(days=ahead)
    found = parse_date(f"{day.day}/{day.month}", today)
    assert found is not None and today <= found
    assert (found.day, found.month) == (day.day, day.month)
    assert found <= day  # the nearest one: never a later year than needed


def test_a_long_answer_is_read_in_bounded_time() -> None:
    """Linear, and capped: a 100,000-character answer is refused at once."""
    started = clock.perf_counter()
    for text in ("1/" * 50_000, "a" * 100_000, "next " * 20_000):
        assert parse_date(text, date(2026, 11, 24)) is None
        assert parse_time(text) is None
    assert clock.perf_counter() - started < 0.5
