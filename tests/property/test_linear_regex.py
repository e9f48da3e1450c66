"""Author patterns on RE2: same answers as Python's `re` for everyday syntax, never a crash.

Why: flows written before the move to RE2 used Python's `re`. A pattern made
of the common pieces (letters, classes, groups, alternation, repeats,
anchors, the flags i, m, s, x) must fire on the same messages as before; and
whatever an author types, `check` answers with a PF115 that points into the
pattern, never with an exception.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pageflows.rules.linear_regex import LinearRegex, RegexProblem, compile_regex

ATOMS = st.sampled_from(["a", "b", "A", ".", "[ab]", "[^a]", "\\d", "\\s", "\\.", " ", "é"])


def repeat(inner: str) -> st.SearchStrategy[str]:
    return st.sampled_from([f"{inner}{q}" for q in ("*", "+", "?", "*?", "{1,3}", "{2}")])


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(inner, min_size=2, max_size=3).map("".join),
        st.tuples(inner, inner).map("|".join),
        inner.map(lambda x: f"({x})"),
        inner.map(lambda x: f"(?:{x})"),
        inner.map(lambda x: f"(?:{x})").flatmap(repeat),
    )


PIECES = st.recursive(ATOMS | ATOMS.flatmap(repeat), _grow, max_leaves=8)
PATTERNS = st.tuples(st.sampled_from(["", "^"]), PIECES, st.sampled_from(["", "$"])).map("".join)
FLAGS = st.sampled_from(["", "i", "m", "s", "ims"])
# No newline at the very end: Python's $ also matches before one, RE2's does not.
MESSAGES = st.text(alphabet="abAB1 .\né", max_size=12).filter(lambda t: not t.endswith("\n"))
PY_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def python_search(pattern: str, flags: str, text: str) -> bool:
    value = 0
    for flag in flags:
        value |= PY_FLAGS[flag]
    return re.search(pattern, text, value) is not None


@settings(max_examples=400)
@given(PATTERNS, FLAGS, MESSAGES)
def test_everyday_patterns_fire_on_the_same_messages_as_before(
    pattern: str, flags: str, text: str
) -> None:
    regex = compile_regex(pattern, flags)
    assert isinstance(regex, LinearRegex), regex
    assert regex.search(text) == python_search(pattern, flags, text)


@settings(max_examples=200)
@given(
    st.lists(PIECES.filter(lambda p: " " not in p), min_size=1, max_size=3),
    st.sampled_from(["", "  ", " # a comment"]),
)
def test_the_x_flag_still_ignores_spaces_and_comments(pieces: list[str], extra: str) -> None:
    spaced = "  ".join(pieces) + extra
    regex = compile_regex(spaced, "x")
    assert isinstance(regex, LinearRegex), regex
    for text in ("ab", "a b", "1.", "", "é A"):
        assert regex.search(text) == python_search(spaced, "x", text), text


PATTERN_TEXT = st.text(alphabet="()[]{}?*+|\\^$.:=!<>#P1aZ,0-u x", max_size=16) | st.text(
    max_size=8
)


@settings(max_examples=600)
@given(PATTERN_TEXT, st.sampled_from(["", "x", "ims"]))
def test_any_pattern_compiles_or_is_refused_at_a_place_inside_it(pattern: str, flags: str) -> None:
    result = compile_regex(pattern, flags)
    if isinstance(result, RegexProblem):
        assert result.message.strip()
        if result.pos is not None:
            assert 0 <= result.pos <= len(pattern)
            assert result.pos + result.width <= len(pattern) + 1
    else:
        assert result.search("some text \ud800 with a lone surrogate") in (True, False)
