"""When a follow-up at a time of day, one counted from a stored date, or a recurring
broadcast is due: pure calendar arithmetic on `now` passed in (issue 12).

Why a module of its own: these are the only places where the wall-clock time of day
matters (everything else counts durations in UTC), and each has a DST rule worth
stating once:

- Times are local wall-clock times in an IANA zone. A time that does not exist that
  day (02:30 when clocks go forward) is read with the offset before the change, so it
  falls an hour later by the clock (03:30); a time that happens twice (02:30 when
  clocks go back) is the first of the two. Either way it happens once.
- `after 1d at "10:00"` is "the day 1 day after today, at 10:00": a calendar day, not
  24 hours, so it stays at 10:00 across a DST change.
- `before {contact.booking_date} by 1d at "18:00"` is "the day before that date, at
  18:00"; without `at`, the date means the start of its day (00:00), and a value with
  a time (`2026-12-05 19:30`) means that moment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pageflows.rules.page_facts import PageFacts

# The contact field a flow may set to an IANA zone name (`set timezone = "Europe/Paris"`);
# Facebook gives pageflows no zone of its own for a contact (docs/language.md).
CONTACT_ZONE_FIELD = "timezone"


def zone(name: str | None) -> ZoneInfo | None:
    """An IANA zone by name, or None if there is no such zone."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def contact_zone(fields: dict[str, str], page: PageFacts) -> tuple[ZoneInfo, str]:
    """The zone a contact's times of day are in, and its name: the contact's own
    (the `timezone` field) when it is a real zone, else the Page's, else UTC."""
    own = fields.get(CONTACT_ZONE_FIELD)
    found = zone(own)
    if found is not None and own:
        return found, own
    page_zone = zone(page.timezone)
    if page_zone is not None:
        return page_zone, page.timezone
    return ZoneInfo("UTC"), "UTC"


def wall_clock(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    """`day` at `hhmm` in `tz`, as an aware UTC time (see the module's DST rule)."""
    hour, minute = (int(p) for p in hhmm.split(":"))
    local = datetime.combine(day, time(hour, minute), tzinfo=tz)
    # A time in the spring gap is not round-trip: zoneinfo gives it the offset before the
    # change (fold=0), which is the later instant by the clock. Normalise through UTC.
    return local.astimezone(UTC)


def days_later_at(now: datetime, days: int, hhmm: str, tz: ZoneInfo) -> datetime:
    """`after {days}d at "{hhmm}"`: the local day `days` after today, at `hhmm`."""
    today = now.astimezone(tz).date()
    return wall_clock(today + timedelta(days=days), hhmm, tz)


def parse_stored(value: str) -> tuple[date, time | None] | None:
    """A stored date (`2026-12-05`, as `ask ... as date` keeps it) or a date and a time
    (`2026-12-05 19:30`, `2026-12-05T19:30`); None if it is neither."""
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text), None
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return None  # a stored offset would contradict the zone the flow counts in
    return moment.date(), moment.time().replace(second=0, microsecond=0)


def from_stored(
    value: str, side: str, delay: timedelta, at: str | None, tz: ZoneInfo
) -> datetime | None:
    """`before|after {field} by {delay} [at "{at}"]` for the stored `value`; None if the
    value is no date. With `at` (whole days), the day moves and the time is `at`."""
    parsed = parse_stored(value)
    if parsed is None:
        return None
    day, clock = parsed
    sign = -1 if side == "before" else 1
    if at is not None:
        return wall_clock(day + sign * timedelta(days=delay.days), at, tz)
    start = wall_clock(day, f"{clock.hour}:{clock.minute}" if clock else "0:00", tz)
    return start + sign * delay


def occurrences(every: tuple[int, ...], hhmm: str, tz: ZoneInfo, after: datetime) -> datetime:
    """The first occurrence of a recurring broadcast strictly after `after`."""
    day = after.astimezone(tz).date()
    for offset in range(8 + 1):
        candidate_day = day + timedelta(days=offset)
        if candidate_day.weekday() in every:
            at = wall_clock(candidate_day, hhmm, tz)
            if at > after:
                return at
    raise ValueError("a recurring broadcast needs at least one weekday")


def latest_occurrence(
    every: tuple[int, ...], hhmm: str, tz: ZoneInfo, at_or_before: datetime
) -> datetime:
    """The last occurrence of a recurring broadcast at or before `at_or_before`."""
    day = at_or_before.astimezone(tz).date()
    for offset in range(8 + 1):
        candidate_day = day - timedelta(days=offset)
        if candidate_day.weekday() in every:
            at = wall_clock(candidate_day, hhmm, tz)
            if at <= at_or_before:
                return at
    raise ValueError("a recurring broadcast needs at least one weekday")


def say_local(moment: datetime, tz: ZoneInfo, name: str) -> str:
    """`2026-12-04 09:00 Europe/Paris`, for notes, lists and reports."""
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M} {name}"
