"""Reading a date or a time of day as people type them, for `ask ... as date | time`.

What is stored is one form only, so later steps can use it: a date as ISO
`YYYY-MM-DD`, a time as `HH:MM` on a 24-hour clock (`before
{contact.booking_date} by 1d` reads exactly these).

The rules, as docs/language.md states them:

* dates: `today`, `tonight`, `tomorrow`, a weekday (`friday`, `fri`, `next
  friday`: the nearest one, today counts unless `next` is said), numbers
  with `/`, `.` or `-` between them read **day first** (`24/12`, `24.12.2026`,
  `1-3-27`), month first only when day first cannot be a date (`12/24`), ISO
  (`2026-12-24`), and English month names either side of the day (`Dec 24`,
  `24 December 2026`, `December 24th, 2026`). Without a year, the next such
  day from today (today included).
* times: `19:30`, `19h30`, `19h`, `19.30`, `7pm`, `7:30 pm`, `7 am`, `noon`,
  `midnight`.

Relative words count from ``today``, which the caller computes from the
event's time (pure: no clock read here). Contact text is read in one pass of
plain string operations, never a regular expression (see answers.py), and
an answer longer than MAX_LENGTH is no date at all.
"""

from __future__ import annotations

import calendar
from datetime import date, time, timedelta

MAX_LENGTH = 60
WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name} | {
    name.lower(): i for i, name in enumerate(calendar.month_abbr) if name
}
MONTHS["sept"] = 9
RELATIVE = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1}
FILLERS = frozenset(("on", "the", "of", "this", "at"))
ORDINALS = ("st", "nd", "rd", "th")
YEARS = range(1900, 2201)
ASCII_DIGITS = frozenset("0123456789")


def _words(text: str) -> list[str] | None:
    """Runs of ASCII digits and runs of letters, lower case; None on any other sign.

    Separators (space, `/`, `.`, `-`, `,`) only cut; what they were does not
    matter to a date. Letters are ASCII: month and weekday names are English.
    """
    words: list[str] = []
    current: list[str] = []
    kind = ""
    for char in text:
        if char in ASCII_DIGITS:
            this = "digit"
        elif char.isascii() and char.isalpha():
            this = "alpha"
        elif char in " /.-,\t":
            this = ""
        else:
            return None
        if this != kind and current:
            words.append("".join(current))
            current = []
        kind = this
        if this:
            current.append(char.lower())
    if current:
        words.append("".join(current))
    return words


def _year(word: str) -> int | None:
    if len(word) == 2:
        return 2000 + int(word)
    if len(word) == 4 and int(word) in YEARS:
        return int(word)
    return None


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _upcoming(today: date, month: int, day: int) -> date | None:
    """The next `day` of `month` from today, today included (29 February: the next one)."""
    for year in range(today.year, today.year + 9):
        found = _make(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def _day_month(today: date, day: int, month: int, year: int | None) -> date | None:
    if year is None:
        return _upcoming(today, month, day) if 1 <= month <= 12 else None
    return _make(year, month, day)


def _numbers(today: date, parts: list[str]) -> date | None:
    """`24/12`, `24.12.2026`, `2026-12-24`: day first, month first only when that alone fits."""
    if any(len(p) > 4 for p in parts) or len(parts) not in (2, 3):
        return None
    if len(parts) == 3 and len(parts[0]) == 4:  # ISO, year first
        return _make(int(parts[0]), int(parts[1]), int(parts[2]))
    year = None
    if len(parts) == 3:
        year = _year(parts[2])
        if year is None:
            return None
    if len(parts[0]) > 2 or len(parts[1]) > 2:
        return None
    first, second = int(parts[0]), int(parts[1])
    found = _day_month(today, first, second, year)
    if found is None and second > 12:
        found = _day_month(today, second, first, year)
    return found


def _named(today: date, words: list[str]) -> date | None:
    """`Dec 24`, `24 december 2026`, `december 24th, 2026`: a month name and a day."""
    month = next((MONTHS[w] for w in words if w in MONTHS), None)
    if month is None:
        return None
    rest = [w for w in words if w not in MONTHS]
    if len(rest) not in (1, 2) or len(words) != len(rest) + 1:
        return None
    if not rest[0].isdigit() or len(rest[0]) > 2:
        return None
    day = int(rest[0])
    year = None
    if len(rest) == 2:
        if not rest[1].isdigit() or len(rest[1]) != 4:
            return None
        year = _year(rest[1])
        if year is None:
            return None
    return _day_month(today, day, month, year)


def _strip_ordinals(words: list[str]) -> list[str]:
    """`24th` arrives as `24`, `th`: the suffix goes when a number comes just before it."""
    out: list[str] = []
    for word in words:
        if word in ORDINALS and out and out[-1].isdigit():
            continue
        out.append(word)
    return out


def parse_date(text: str, today: date) -> date | None:
    """The day the contact means, or None when the answer is no date this reads."""
    if len(text) > MAX_LENGTH:
        return None
    words = _words(text.strip())
    if not words:
        return None
    words = [w for w in _strip_ordinals(words) if w not in FILLERS]
    if not words:
        return None
    if len(words) == 1 and words[0] in RELATIVE:
        return today + timedelta(days=RELATIVE[words[0]])
    if words[:2] == ["day", "after"] and words[2:] == ["tomorrow"]:
        return today + timedelta(days=2)
    following = words[0] == "next" and len(words) == 2
    if following:
        words = words[1:]
    if len(words) == 1 and words[0] in WEEKDAYS:
        ahead = (WEEKDAYS[words[0]] - today.weekday()) % 7
        if ahead == 0 and following:
            ahead = 7
        return today + timedelta(days=ahead)
    if following:
        return None
    if all(w.isdigit() for w in words):
        return _numbers(today, words)
    return _named(today, words)


def parse_time(text: str) -> time | None:
    """The time of day the contact means, or None."""
    if len(text) > MAX_LENGTH:
        return None
    words = _words(text.strip().replace(":", " "))
    if not words:
        return None
    if words in (["noon"], ["midday"]):
        return time(12, 0)
    if words == ["midnight"]:
        return time(0, 0)
    meridiem = None
    if words[-1] in ("am", "pm"):
        meridiem = words.pop()
    elif words[-1] in ("a", "p") or (len(words) >= 2 and words[-2:] in (["a", "m"], ["p", "m"])):
        return None  # "7 a.m." arrives as 7, a, m: read below
    if len(words) == 3 and words[1] == "h":  # 19h30
        words = [words[0], words[2]]
    elif len(words) == 2 and words[1] == "h":  # 19h
        words = [words[0]]
    if not words or not all(w.isdigit() and len(w) <= 2 for w in words) or len(words) > 2:
        return None
    hour = int(words[0])
    minute = int(words[1]) if len(words) == 2 else 0
    if len(words) == 2 and len(words[1]) != 2:
        return None
    if meridiem is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif len(words) == 1 and hour > 24:
        return None
    if hour == 24 and minute == 0 and meridiem is None:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def _dotted_meridiem(text: str) -> str:
    """`7 a.m.` and `7 p.m.` as `7 am`, `7 pm`: in one pass, like the rest."""
    lowered = text.lower()
    for dotted, plain in (("a.m.", "am"), ("p.m.", "pm"), ("a.m", "am"), ("p.m", "pm")):
        if lowered.endswith(dotted):
            return text[: -len(dotted)] + plain
    return text


def date_answer(text: str, today: date) -> str | None:
    found = parse_date(text, today)
    return None if found is None else found.isoformat()


def time_answer(text: str) -> str | None:
    found = parse_time(_dotted_meridiem(text.strip()))
    return None if found is None else f"{found.hour:02d}:{found.minute:02d}"
