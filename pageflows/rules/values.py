"""Checks and conversions of literal values: texts, templates, durations, URLs.

Each function returns a value or a diagnostic-ready problem (message, hint),
never raises on user input. Shared by build.py; kept apart because each rule
here is a fact about Facebook or about what marketers type.
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from pageflows.rules.duration_words import not_a_duration
from pageflows.rules.model import Literal_, Placeholder, TemplatePart
from pageflows.rules.trusted import trusted

Problem = tuple[str, str | None]

ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
DURATION = re.compile(r"(?:(\d+)([wdhms]))+")
DURATION_PART = re.compile(r"(\d+)([wdhms])")
UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
MAX_DURATION = timedelta(days=366)
FIELD = re.compile(r"[a-z][a-z0-9_]*")
BRACE = re.compile(r"[{}]")
PROFILE_NAMES = ("first_name", "last_name")
TOP_NAMES = ("ref",)
REF_VALUE = re.compile(r"[A-Za-z0-9+/=\-.:_*]{1,250}")
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")


def unquote(token: str) -> tuple[str, Problem | None]:
    """`"a \\"b\\""` -> `a "b"`; an unknown escape is reported, not guessed."""
    body = token[1:-1]
    if "\\" not in body:
        return body, None  # issue 13: A: most texts have no escape to read
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt not in ESCAPES:
                return body, (
                    f'"\\{nxt}" is not a known escape: in a text, a backslash starts'
                    ' \\", \\\\, \\n or \\t',
                    'write \\\\ for a backslash itself, \\" for a quote, \\n for a new line',
                )
            out.append(ESCAPES[nxt])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out), None


def parse_duration(text: str) -> tuple[timedelta | None, Problem | None]:
    if not DURATION.fullmatch(text):
        return None, not_a_duration(text)  # issue 12: A
    seconds = sum(int(n) * UNIT_SECONDS[u] for n, u in DURATION_PART.findall(text))
    if seconds == 0:
        return None, (f'"{text}" is no time at all', "a duration must be longer than zero")
    delay = timedelta(seconds=seconds)
    if delay > MAX_DURATION:
        return None, (f'"{text}" is longer than a year', "follow-ups can wait at most 366 days")
    return delay, None


def parse_number(text: str) -> Decimal | None:
    """issue 12: D. "8", "-2", "8.5" or "8,5" (a decimal comma, as contacts type it) as a
    number; anything else (words, "1e9", "inf", "8 guests") is None.

    Shared by the checker (the numbers a flow compares with) and the engine (the
    contact's answer read as a number), so both agree on what a number is. Linear in
    the text: a digit check, then Decimal's own parse.
    """
    value = text.strip()
    sign = "-" if value.startswith("-") else ""
    whole, point, fraction = value[len(sign) :].replace(",", ".", 1).partition(".")
    if not whole.isdecimal() or (point and not fraction.isdecimal()):
        return None
    try:
        return Decimal(sign + whole + point + fraction)
    except (InvalidOperation, ValueError):
        return None


def parse_template(text: str) -> tuple[tuple[TemplatePart, ...], Problem | None]:
    """Split `Hi {contact.first_name|there}!` into parts; `{{` and `}}` are literal braces.

    Only documented names resolve (see `template_name_problem`): a template
    never reaches Python attributes, so `{contact.__class__}` is an error here.
    """
    if "{" not in text and "}" not in text:
        # issue 13: A: most texts show no value; what the loop below would make of them.
        return ((_literal(text),) if text else ()), None
    parts: list[TemplatePart] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        # issue 13: A: from brace to brace; the characters between them are text
        # (this loop read them one at a time, with the same result).
        brace = BRACE.search(text, i)
        if brace is None:
            buf.append(text[i:])
            break
        if brace.start() > i:
            buf.append(text[i : brace.start()])
        i = brace.start()
        char = text[i]
        if text[i : i + 2] in ("{{", "}}"):
            buf.append(char)
            i += 2
            continue
        if char == "}":
            return (), ('a "}" closes no "{"', 'write "}}" for a literal brace')
        end = text.find("}", i)
        if end < 0:
            return (), ('a "{" is not closed', 'close it with "}", or write "{{" for a brace')
        inner = text[i + 1 : end]
        name, _, fallback = inner.partition("|")
        name = name.strip()
        problem = template_name_problem(name)
        if problem:
            return (), problem
        if buf:
            parts.append(_literal("".join(buf)))
            buf = []
        given = fallback if "|" in inner else None
        parts.append(
            trusted(Placeholder, {"kind": "placeholder", "name": name, "fallback": given}, _NAMED)
        )
        i = end + 1
    if buf:
        parts.append(_literal("".join(buf)))
    return tuple(parts), None


_TEXT, _NAMED = frozenset({"text"}), frozenset({"name", "fallback"})


def _literal(text: str) -> Literal_:
    """`Literal_(text=text)`; without validation for a plain string (issue 13: A: trusted.py)."""
    if type(text) is not str:
        return Literal_(text=text)
    return trusted(Literal_, {"kind": "literal", "text": text}, _TEXT)


def template_name_problem(name: str) -> Problem | None:
    hint = (
        "a template can show {contact.first_name}, {contact.last_name}, {ref},"
        " or a field saved with set or ask, such as {contact.email}"
    )
    if name in TOP_NAMES or FIELD.fullmatch(name):
        # issue 12: B. A bare `{email}` is kept as a placeholder and reported by
        # checks/fields.py, which knows the fields of the whole program and so
        # suggests {contact.email} only when some flow saves it.
        return None
    head, _, field = name.partition(".")
    if head == "contact" and FIELD.fullmatch(field):
        return None
    if head.casefold() == "contact" and FIELD.fullmatch(field.casefold()):
        lower = f"contact.{field.casefold()}"
        return f'"{{{name}}}" is not a name a template can show', (
            f"field names are in small letters: {{{lower}}}"
        )
    guesses = ["contact.first_name", "contact.last_name", "ref"]
    close = difflib.get_close_matches(name, guesses, n=1, cutoff=0.75)
    if close:
        hint = f"did you mean {{{close[0]}}}? " + hint
    return f'"{{{name}}}" is not a name a template can show', hint


def url_problem(url: str) -> Problem | None:
    parts = urlsplit(url) if " " not in url else None
    if parts is None or parts.scheme not in ("http", "https") or "." not in parts.netloc:
        return (
            f'"{url}" is not a web address',
            "write a full address starting with https://, such as https://shop.example.com/sale",
        )
    return None


def ref_problem(ref: str) -> Problem | None:
    if not REF_VALUE.fullmatch(ref):
        return (
            f'"{ref}" cannot be a ref',
            "m.me refs are 1 to 250 letters, digits and + / = - . : _ (a * makes a pattern)",
        )
    return None


def phone_problem(phone: str) -> Problem | None:
    if not PHONE.fullmatch(phone):
        return (f'"{phone}" is not a phone number', "write it with the country code: +15105551234")
    return None


def field_problem(name: str) -> Problem | None:
    if not FIELD.fullmatch(name):
        return (
            f'"{name}" cannot be a field name',
            "field names use lowercase letters, digits and _ and start with a letter",
        )
    return None


# ------------------------------------------------------------------ issue 12: time

TIME_OF_DAY = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_time_of_day(text: str) -> tuple[tuple[int, int] | None, Problem | None]:
    """`"10:00"` -> (10, 0): a 24-hour clock time, as follow-ups and broadcasts use it."""
    match = TIME_OF_DAY.fullmatch(text.strip())
    if match is None:
        return None, (
            f'"{text}" is not a time of day',
            'write hours and minutes on the 24-hour clock, such as "10:00" or "18:30"',
        )
    return (int(match.group(1)), int(match.group(2))), None


def parse_weekday(word: str) -> tuple[int | None, Problem | None]:
    """`friday` -> 4 (Monday is 0); `day` is every day, returned as -1."""
    name = word.lower()
    if name == "day":
        return -1, None
    if name in WEEKDAYS:
        return WEEKDAYS.index(name), None
    close = difflib.get_close_matches(name.rstrip("s"), [*WEEKDAYS, "day"], n=1, cutoff=0.6)
    hint = "write day names in full, such as every friday, every monday, thursday or every day"
    if close:
        hint = f"did you mean {close[0]}? " + hint
    return None, (f'"{word}" is not a day of the week', hint)


def whole_days(delay: timedelta) -> int | None:
    """The number of days in a duration that counts whole days (`1d`, `2w`), else None."""
    if delay.total_seconds() % 86400:
        return None
    return delay.days


def date_field_problem(ref: str) -> tuple[str | None, Problem | None]:
    """`{contact.booking_date}` -> "booking_date"; anything else a follow-up cannot count from."""
    name = ref[1:-1].strip()
    head, _, field = name.partition(".")
    if head == "contact" and FIELD.fullmatch(field) and field not in PROFILE_NAMES:
        return field, None
    guess = f"{{contact.{name}}}" if FIELD.fullmatch(name) else "{contact.booking_date}"
    return None, (
        f"{ref} is not a stored date a follow-up can count from",
        f"write the field that holds the date, such as {guess} (set or asked as a date)",
    )
