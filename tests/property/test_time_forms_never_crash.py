"""Times of day, stored dates and recurring broadcasts (issue 12), whatever a marketer
types in them: loading gives located findings, never an exception, and a form that
loads without errors schedules without one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pageflows.engine.contact import ContactState
from pageflows.engine.core import handle
from pageflows.engine.effects import Cancelled, Schedule
from pageflows.engine.events import MessageIn
from pageflows.engine.policy import check_tag
from pageflows.rules.load import load_texts
from pageflows.rules.page_facts import PageFacts

PATH = "flows/times.flow"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DURATIONS = st.sampled_from(["1d", "2d", "1w", "12h", "1h30m", "0d", "400d", "2 days", "x"])
TIMES = st.sampled_from(['"10:00"', '"7:30"', '"23:59"', '"24:00"', '"6pm"', '""', '"10"', "10"])
REFS = st.sampled_from(
    ["{contact.booking_date}", "{booking_date}", "{contact.first_name}", "{}", "{contact.}"]
)
DAYS = st.lists(
    st.sampled_from(["friday", "monday", "day", "fridays", "mon", "Friday", "everyday"]),
    min_size=1,
    max_size=3,
)
VALUES = st.one_of(
    st.sampled_from(
        ["2026-12-05", "2026-12-05 19:30", "2026-02-30", "tomorrow", "", "2026-12-05T19:30+01:00"]
    ),
    st.text(max_size=20),
)


def flow(side: str, ref: str, duration: str, at: str | None, days: list[str], time: str) -> str:
    when = f" at {at}" if at else ""
    head = f"after {duration}{when}" if side == "now" else f"{side} {ref} by {duration}{when}"
    return (
        'on keyword "book":\n'
        '    set booking_date = "{contact.when}"\n'
        f"    {head}:\n"
        '        send "Reminder"\n\n'
        f"broadcast weekly to everyone every {', '.join(days)} at {time}"
        ' in "Europe/Paris":\n'
        '    send "Menu"\n'
    )


@FUZZ
@given(
    st.sampled_from(["now", "before", "after"]),
    REFS,
    DURATIONS,
    st.one_of(st.none(), TIMES),
    DAYS,
    TIMES,
    VALUES,
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_any_time_form_loads_and_runs_without_an_exception(
    side: str,
    ref: str,
    duration: str,
    at: str | None,
    days: list[str],
    time: str,
    value: str,
    now: datetime,
) -> None:
    text = flow(side, ref, duration, at, days, time)
    result = load_texts({PATH: text.encode()}, date(2026, 11, 24), check_tag)
    lines = text.count("\n") + 1
    for d in result.diagnostics:
        assert d.span.path == PATH and 1 <= d.span.line <= lines, d
    if result.errors or result.program is None:
        return
    moment = now.replace(tzinfo=UTC)
    contact = ContactState(id="c", fields={"when": value})
    event = MessageIn(contact_id="c", timestamp=moment, text="book", mid="m")
    decision = handle(
        result.program, contact, event, moment, page=PageFacts(timezone="Europe/Paris")
    )
    follow_ups = [e for e in decision.effects if isinstance(e, Schedule | Cancelled)]
    assert len(follow_ups) == 1
    if isinstance(follow_ups[0], Schedule):
        assert follow_ups[0].due_at > moment
        assert follow_ups[0].due_at - moment < timedelta(days=800)
