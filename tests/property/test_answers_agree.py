"""The linear answer checks accept exactly what the old regular expressions accepted.

Why: pageflows/engine/answers.py replaced three `re` patterns with string
operations so that a contact's answer cannot cost quadratic time. A contact
who typed a valid email, phone or number before must still be understood, and
an invalid one still asked again; on short strings the old patterns are cheap,
so they serve as the reference definitions.
"""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pageflows.engine import answers

REFERENCE = {
    "email": re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"),
    "phone": re.compile(r"\+?[0-9][0-9 ().-]{5,19}[0-9]"),
    "number": re.compile(r"-?\d+(?:[.,]\d+)?"),
}

# Characters the checks treat specially, Unicode whitespace and digits of other
# scripts among them, mixed with anything at all.
SPECIAL = "@.,+-() 0123456789aZ\t\n\r\v\f\u00a0\u2003\u3000\u0663\u0664\u00b2\u1680"
ANSWERS = st.text(alphabet=st.sampled_from(SPECIAL) | st.characters(), max_size=30)


def joined(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map("".join)


def bits(alphabet: str, max_size: int = 3) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=max_size)


def one(*choices: str) -> st.SearchStrategy[str]:
    return st.sampled_from(choices)


# Answers shaped like what the question asks for, with the edges where a
# rewrite could go wrong: a dot at either end of the domain, a second @,
# whitespace other than a space, lengths 6, 7, 21 and 22, digits that are not
# decimal (²) or not ASCII (٣), a sign or separator with nothing after it.
WORDISH = "a.@ \t\u00a0"
EMAILS = st.one_of(
    st.from_regex(REFERENCE["email"], fullmatch=True),
    joined(bits(WORDISH), one("@", "", "@@"), bits(WORDISH), one(".", ""), bits(WORDISH)),
    ANSWERS,
)
PHONE_EDGE = one("0", "9", "\u0663", "a", "+", " ")


@st.composite
def phone_middles(draw: st.DrawFn) -> str:
    """3 to 22 separators and digits, sometimes with one character that does not belong."""
    size = draw(st.integers(3, 22))
    middle = draw(st.text("0123456789 ().-", min_size=size, max_size=size))
    at = draw(st.integers(0, size))
    return middle[:at] + draw(one("", "", "+", "a", "\u0663")) + middle[at:]


PHONES = st.one_of(
    st.from_regex(REFERENCE["phone"], fullmatch=True),
    joined(one("", "+", "++"), PHONE_EDGE, phone_middles(), PHONE_EDGE),
    ANSWERS,
)
DIGITISH = "0123456789\u0663\u00b2a"
NUMBERS = st.one_of(
    st.from_regex(REFERENCE["number"], fullmatch=True),
    joined(one("", "-", "--", "+"), bits(DIGITISH), one("", ".", ",", ".."), bits(DIGITISH)),
    ANSWERS,
)


def reference_validate(expects: str, text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    pattern = REFERENCE.get(expects)
    return value if pattern is None or pattern.fullmatch(value) else None


@settings(max_examples=600)
@given(EMAILS)
@example("a@b.c")
@example("a@.b")
@example("a@b.")
@example("@b.c")
@example("a@b@c.d")
@example("a b@c.d")
@example("a@b.c\u00a0")
def test_the_email_check_agrees_with_the_old_pattern(text: str) -> None:
    assert answers.is_email(text) == bool(REFERENCE["email"].fullmatch(text))


@settings(max_examples=600)
@given(PHONES)
@example("1234567")
@example("123456")
@example("1" * 21)
@example("+" + "1" * 21)
@example("1" * 22)
@example("++1234567")
@example("12+34567")
@example("123456\u0663")
@example("\u0663234567")
@example("+1 (555) 123-4567")
def test_the_phone_check_agrees_with_the_old_pattern(text: str) -> None:
    assert answers.is_phone(text) == bool(REFERENCE["phone"].fullmatch(text))


@settings(max_examples=600)
@given(NUMBERS)
@example("-1")
@example("--1")
@example("1,5")
@example("1.")
@example(".5")
@example("1.5.2")
@example("\u0663\u0664")
@example("1.\u00b2")
@example("+1")
def test_the_number_check_agrees_with_the_old_pattern(text: str) -> None:
    assert answers.is_number(text) == bool(REFERENCE["number"].fullmatch(text))


@given(st.sampled_from(["email", "phone", "number", "text"]), st.one_of(EMAILS, PHONES, NUMBERS))
def test_an_answer_is_kept_or_refused_as_before(expects: str, text: str) -> None:
    assert answers.validate(expects, text) == reference_validate(expects, text)


def test_whitespace_and_digits_mean_what_they_meant_in_the_old_patterns() -> None:
    """Every code point: `\\s` is what str.split() splits on, `\\d` is str.isdecimal()."""
    space, digit = re.compile(r"\s"), re.compile(r"\d")
    for code in range(0x110000):
        char = chr(code)
        assert bool(space.fullmatch(char)) == (char.split() == []), hex(code)
        assert bool(digit.fullmatch(char)) == char.isdecimal(), hex(code)
