"""What `check` says about a pattern RE2 cannot run: the feature, the place, the way out.

Why: RE2 itself reports "invalid perl operator: (?=" with no position. A
marketer who pasted a lookahead from a tutorial needs to read what it is, see
a caret under it, and get a rewrite hint (golden cases show the full output;
this table covers every refusal the scan knows).
"""

from __future__ import annotations

import pytest

from pageflows.rules.linear_regex import LinearRegex, RegexProblem, compile_regex

LINEAR = "pageflows runs patterns in linear time"


def refused(pattern: str, flags: str = "") -> RegexProblem:
    result = compile_regex(pattern, flags)
    assert isinstance(result, RegexProblem), pattern
    return result


@pytest.mark.parametrize(
    ("pattern", "flags", "says", "at", "width"),
    [
        ("(a)\\1", "", 'a backreference "\\1"', 3, 2),
        ("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\10", "", 'a backreference "\\10"', 30, 3),
        ("(?P<x>a)(?P=x)", "", 'a backreference "(?P="', 8, 4),
        ("a(?=b)", "", 'a lookahead "(?="', 1, 3),
        ("a(?!b)", "", 'a lookahead "(?!"', 1, 3),
        ("(?<=a)b", "", 'a lookbehind "(?<="', 0, 4),
        ("(?<!a)b", "", 'a lookbehind "(?<!"', 0, 4),
        ("(?>ab)", "", 'an atomic group "(?>"', 0, 3),
        ("a*+", "", 'a possessive repeat "*+"', 1, 2),
        ("a{2,3}+", "", 'a possessive repeat "{2,3}+"', 1, 6),
        ("(a)?(?(1)b|c)", "", 'a conditional group "(?("', 4, 3),
        ("a(?#note)", "", 'a comment group "(?#"', 1, 3),
        ("a b (?= c)", "x", 'a lookahead "(?="', 4, 3),
    ],
)
def test_a_backtracking_feature_is_named_located_and_explained(
    pattern: str, flags: str, says: str, at: int, width: int
) -> None:
    problem = refused(pattern, flags)
    assert problem.message.startswith(says), problem.message
    assert LINEAR in problem.message
    assert (problem.pos, problem.width) == (at, width)
    assert problem.hint


@pytest.mark.parametrize(
    ("pattern", "says", "hint", "at"),
    [
        ("end\\Z", "\\Z is not RE2 syntax", "\\z", 3),
        ("caf\\u00e9", "\\u is not RE2 syntax", "\\x{00E9}", 3),
        ("(?x)a b", "the inline flag x", "after the closing slash", 0),
        ("(?a)b", "the inline flag a", "i, m, s and U", 0),
        ("a{,3}", "{,3} is not a repeat", "{0,3}", 1),
        ("a{1001}", "this pattern repeats something too many times", "1000", 1),
        ("a{" + "9" * 5000 + "}", "this pattern repeats something too many times", "1000", 1),
        ("order (\\d+", "a ( is not closed", "\\(", 6),
        ("a)", "this ) closes no (", "\\)", 1),
        ("[a-z", "a [ is not closed", "\\[", 0),
        ("*a", "* has nothing before it to repeat", "\\*", 0),
        ("x{2,1}", "{2,1} repeats something too many times", "smaller number first", 1),
        ("[z-a]", "z-a is not a range", "a-z", 1),
        ("\\p{Klingon}", "\\p{Klingon} is not a Unicode class", "\\p{Greek}", 0),
        ("a\\q", "\\q is not an escape RE2 knows", "put a \\ before it", 1),
        ("\\pL{1000}", "this pattern is too large to run", "split it", None),
    ],
)
def test_other_refusals_say_what_to_write_instead(
    pattern: str, says: str, hint: str, at: int | None
) -> None:
    problem = refused(pattern)
    assert problem.message.startswith(says), problem.message
    assert problem.hint is not None and hint in problem.hint, problem.hint
    assert problem.pos == at


@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+$",
        "\\\\1",  # a backslash, then 1
        "\\101",  # three octal digits: the character A, not group 101
        "[(?=]",  # inside a class these are characters
        "\\Q(?=\\1\\E",  # quoted text
        "(?i)price|(?-i:SALE)",
        "(?P<order>\\d{5,})",
        "[[:alpha:]]+\\pL*\\p{Greek}\\x{e9}",
        "a{1000}",
        "a{}",  # a { that is no count is a character, in both engines
    ],
)
def test_patterns_that_only_look_like_a_refused_feature_are_accepted(pattern: str) -> None:
    assert isinstance(compile_regex(pattern, ""), LinearRegex), compile_regex(pattern, "")


def test_the_x_flag_drops_spaces_and_comments_but_not_in_a_class_or_escaped() -> None:
    regex = compile_regex("order \\  [ ] \\d+  # the order number", "x")
    assert isinstance(regex, LinearRegex)
    assert regex.search("order  12")
    assert not regex.search("order 12")
