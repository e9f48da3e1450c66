"""Checking a contact's answer to `ask ... as email|phone|number`, in one pass over it.

Why not regular expressions: the email check was `[^@\\s]+@[^@\\s]+\\.[^@\\s]+`,
and Python's `re` backtracks over it in quadratic time: an answer of 40,000
characters ("a@" + "a." * 20000) took 4 s of the worker's time, and a contact
chooses their answer. These checks say the same (tests/property compares them
with those expressions on short strings) with plain string operations, each
linear in the answer: `\\s` is `str.isspace` (what `str.split()` splits on),
`\\d` is `str.isdecimal`, `[0-9]` is ASCII digits only.
"""

from __future__ import annotations

from datetime import date

from pageflows.rules.answer_dates import date_answer, time_answer

ASCII_DIGITS = frozenset("0123456789")
PHONE_INNER = frozenset("0123456789 ().-")
PHONE_LENGTHS = range(7, 22)  # a digit, 5 to 19 digits or separators, a digit


def is_email(value: str) -> bool:
    """`local@domain.tld`: one @, no whitespace, a dot inside the domain with text on both sides.

    Was `[^@\\s]+@[^@\\s]+\\.[^@\\s]+` (whole string).
    """
    local, at, domain = value.partition("@")
    return (
        bool(at)
        and bool(local)
        and "@" not in domain
        and "." in domain[1:-1]
        and value.split() == [value]  # no whitespace anywhere
    )


def is_phone(value: str) -> bool:
    """Digits with spaces, ( ) . - between them, 7 to 21 characters, an optional leading +.

    Was `\\+?[0-9][0-9 ().-]{5,19}[0-9]` (whole string).
    """
    body = value[1:] if value.startswith("+") else value
    return (
        len(body) in PHONE_LENGTHS
        and body[0] in ASCII_DIGITS
        and body[-1] in ASCII_DIGITS
        and all(char in PHONE_INNER for char in body[1:-1])
    )


def is_number(value: str) -> bool:
    """A whole number or one with a decimal point or comma, optionally negative.

    Was `-?\\d+(?:[.,]\\d+)?` (whole string); digits of any script count.
    """
    body = value[1:] if value.startswith("-") else value
    whole, point, fraction = body.replace(",", ".").partition(".")
    return whole.isdecimal() and (not point or fraction.isdecimal())


CHECKS = {"email": is_email, "phone": is_phone, "number": is_number}


def validate(expects: str, text: str, today: date | None = None) -> str | None:
    """The answer to keep (trimmed), or None when it is not what the question asked for.

    A date is kept as `YYYY-MM-DD` and a time as `HH:MM` (answer_dates.py): relative
    words ("tomorrow", "friday") count from ``today``, the day of the event where the
    Page is (the caller's; 1970-01-01 when not given, which only tests do).
    """
    value = text.strip()
    if not value:
        return None
    if expects == "date":
        return date_answer(value, today or date(1970, 1, 1))
    if expects == "time":
        return time_answer(value)
    check = CHECKS.get(expects)
    return value if check is None or check(value) else None
