"""Reading an author's `/pattern/` before RE2 compiles it: what RE2 lacks, and where.

Why a scan of our own: RE2 (see linear_regex.py) reports errors without a
position, and for the features it leaves out on purpose (backreferences,
lookaround) it only says "invalid escape sequence" or "invalid perl
operator". A marketer who copied `(?=...)` from a tutorial needs to hear what
it is, that pageflows cannot run it, and how to write the pattern instead,
with a caret under it. The scan also drops spaces and comments for the `x`
flag, which Python's `re` had and RE2 has not.

The scan is lexical and linear: escapes, character classes, group openings
and repeat counts. It never decides that a pattern is fine: RE2 compiles what
the scan leaves and has the last word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VERBOSE_SPACE = frozenset(" \t\n\r\v\f")  # what Python's `x` flag ignores (ASCII only)
META = frozenset("()*+?{")
MAX_REPEAT = 1000  # RE2's largest count in {...}
COUNT = re.compile(r"\{([0-9]*)(?:(,)([0-9]*))?\}")  # ASCII digits, as both engines read them
BRACED_MAX = 100  # longest \p{...} or \x{...} looked for; RE2 refuses anything longer
POSIX_MAX = 12  # longest [:name:] looked for ([:^xdigit:])
OCTAL = frozenset("01234567")
LINEAR = "pageflows runs patterns in linear time (RE2 syntax)"


@dataclass(frozen=True)
class RegexProblem:
    """Why a pattern cannot run, for a PF115 finding.

    `pos` is an index into the pattern as the author wrote it (None: the
    whole pattern), `width` how many characters the caret covers.
    """

    message: str
    hint: str | None
    pos: int | None = None
    width: int = 1


@dataclass(frozen=True)
class Scan:
    """The pattern RE2 will compile, and where each of its characters came from.

    `text` equals the author's pattern except under the `x` flag, where spaces
    and `#` comments outside character classes are gone. `origin[i]` is the
    index in the author's pattern of `text[i]`. `marks` are the indices in
    `text` of `\\`, `(`, `)`, `*`, `+`, `?` and `{` that act as syntax: not
    escaped and not inside a character class.
    """

    text: str
    origin: tuple[int, ...]
    marks: tuple[int, ...]
    unclosed_class: int | None  # index in `text` of a `[` never closed

    def at(self, index: int) -> int:
        """The author's position of `text[index]` (the end for an index past it)."""
        if index < len(self.origin):
            return self.origin[index]
        return self.origin[-1] + 1 if self.origin else 0

    def problem(self, message: str, hint: str | None, index: int, width: int = 1) -> RegexProblem:
        """A problem with `text[index:index + width]`, located in the author's pattern."""
        start = self.at(index)
        last = self.at(min(index + width, len(self.text)) - 1)
        return RegexProblem(message, hint, start, max(last + 1 - start, 1))

    def unbalanced(self) -> tuple[int | None, int | None]:
        """Indices in `text` of the innermost `(` never closed and of the first `)` too many."""
        opened: list[int] = []
        for k in self.marks:
            if self.text[k] == "(":
                opened.append(k)
            elif self.text[k] == ")":
                if not opened:
                    return None, k
                opened.pop()
        return (opened[-1] if opened else None), None


def scan(pattern: str, verbose: bool = False) -> Scan:
    """Walk the pattern once, keeping escapes and classes whole."""
    out: list[str] = []
    origin: list[int] = []
    marks: list[int] = []
    unclosed_class: int | None = None
    i, n = 0, len(pattern)

    def keep(start: int, end: int) -> None:
        out.append(pattern[start:end])
        origin.extend(range(start, end))

    while i < n:
        char = pattern[i]
        if char == "\\":
            end = _escape_end(pattern, i)
            if pattern.startswith("\\Q", i):  # RE2 quotes everything up to \E
                close = pattern.find("\\E", i + 2)
                end = n if close < 0 else close + 2
            else:
                marks.append(len(origin))
            keep(i, end)
            i = end
        elif char == "[":
            closed = _class_end(pattern, i)
            if closed is None:
                unclosed_class = len(origin)
            end = n if closed is None else closed
            keep(i, end)
            i = end
        elif verbose and char in VERBOSE_SPACE:
            i += 1
        elif verbose and char == "#":
            close = pattern.find("\n", i)
            i = n if close < 0 else close + 1
        else:
            if char in META or char == ")":
                marks.append(len(origin))
            keep(i, i + 1)
            i += 1
    return Scan("".join(out), tuple(origin), tuple(marks), unclosed_class)


def _escape_end(pattern: str, i: int) -> int:
    """Index after the escape at `i`: `\\x`, or a braced `\\p{...}`, `\\x{...}`, `\\N{...}`."""
    if pattern[i + 1 : i + 2] in ("p", "P", "x", "N") and pattern[i + 2 : i + 3] == "{":
        close = pattern.find("}", i + 3, i + 3 + BRACED_MAX)  # bounded: the scan stays linear
        if close >= 0:
            return close + 1
    return min(i + 2, len(pattern))


def _class_end(pattern: str, i: int) -> int | None:
    """Index after the `]` closing the class opened at `i`; None if it never closes."""
    j = i + 1
    if pattern[j : j + 1] == "^":
        j += 1
    if pattern[j : j + 1] == "]":  # a ] right after [ or [^ is a character
        j += 1
    while j < len(pattern):
        char = pattern[j]
        if char == "\\":
            j = _escape_end(pattern, j)
        elif (
            pattern.startswith("[:", j) and (close := pattern.find(":]", j + 2, j + POSIX_MAX)) >= 0
        ):
            j = close + 2  # [:alpha:]
        elif char == "]":
            return j + 1
        else:
            j += 1
    return None


# ---------------------------------------------------------------- refusals

FEATURES: dict[str, tuple[str, str]] = {
    # what the author wrote -> (what it is, how to do without it)
    "backreference": (
        "a backreference",
        "rewrite it without the backreference: write the group's pattern again"
        " (it then matches any such text, not only a repeat of the same text)",
    ),
    "lookahead": (
        "a lookahead",
        "rewrite it without the lookahead: match the text itself, or catch the"
        " other case with a trigger written earlier (the first that matches wins)",
    ),
    "lookbehind": (
        "a lookbehind",
        "rewrite it without the lookbehind: include the text before in the pattern,"
        " or catch the other case with a trigger written earlier",
    ),
    "atomic": (
        "an atomic group",
        "write a plain group (?:...) instead: without backtracking it is never needed",
    ),
    "possessive": (
        "a possessive repeat",
        "drop the last +: without backtracking a plain *, + or ? is never slow",
    ),
    "conditional": (
        "a conditional group",
        "write the cases as alternatives with |",
    ),
    "comment": (
        "a comment group",
        "remove the (?#...); write the comment on its own line above, starting with #",
    ),
}
GROUPS = (  # after "(?", longest first
    ("<=", "lookbehind"),
    ("<!", "lookbehind"),
    ("P=", "backreference"),
    ("=", "lookahead"),
    ("!", "lookahead"),
    (">", "atomic"),
    ("(", "conditional"),
    ("#", "comment"),
)
RE2_INLINE_FLAGS = frozenset("imsU-")


def refusal(found: Scan) -> RegexProblem | None:
    """The first thing in the pattern that RE2 would refuse or read differently from Python."""
    text = found.text
    marks = set(found.marks)
    for k in found.marks:
        char = text[k]
        if char == "\\":
            problem = _escape_refusal(found, k)
        elif char == "(" and text.startswith("(?", k):
            problem = _group_refusal(found, k)
        elif char in "*+?" and text[k + 1 : k + 2] == "+" and k + 1 in marks:
            problem = _feature(found, "possessive", k, 2)
        elif char == "{":
            problem = _count_refusal(found, k)
        else:
            problem = None
        if problem is not None:
            return problem
    return None


def _feature(found: Scan, name: str, index: int, width: int) -> RegexProblem:
    what, hint = FEATURES[name]
    snippet = found.text[index : index + width]
    return found.problem(f'{what} "{snippet}" is not supported: {LINEAR}', hint, index, width)


def _escape_refusal(found: Scan, k: int) -> RegexProblem | None:
    text = found.text
    nxt = text[k + 1 : k + 2]
    if nxt and nxt in "123456789":
        digits = text[k + 1 : k + 4]
        is_octal = len(digits) == 3 and all(d in OCTAL for d in digits)
        if not is_octal:  # Python's rule: three octal digits are a character code
            width = 3 if text[k + 2 : k + 3].isdigit() else 2
            return _feature(found, "backreference", k, width)
    if nxt == "Z":
        return found.problem(
            "\\Z is not RE2 syntax", "write \\z (or $) for the end of the message", k, 2
        )
    if nxt in ("u", "U"):
        return found.problem(
            f"\\{nxt} is not RE2 syntax",
            "write \\x{00E9} for a character by its code, or type the character itself",
            k,
            2,
        )
    return None


def _group_refusal(found: Scan, k: int) -> RegexProblem | None:
    text = found.text
    for opener, name in GROUPS:
        if text.startswith(opener, k + 2):
            return _feature(found, name, k, 2 + len(opener))
    j = k + 2
    while j < len(text) and (text[j].isalpha() or text[j] == "-"):
        j += 1
    if text[j : j + 1] not in (")", ":"):
        return None  # (?P<name>...) and friends: RE2 judges
    for flag in text[k + 2 : j]:
        if flag == "x":
            return found.problem(
                "the inline flag x is not supported",
                "put x after the closing slash instead, as in /order # number/x",
                k,
                j - k,
            )
        if flag not in RE2_INLINE_FLAGS:
            return found.problem(
                f"the inline flag {flag} is not supported",
                "RE2 knows the inline flags i, m, s and U",
                k,
                j - k,
            )
    return None


def _count_refusal(found: Scan, k: int) -> RegexProblem | None:
    count = COUNT.match(found.text, k)
    if count is None:
        return None  # a { that is no count is a character
    low, comma, high = count.groups()
    width = count.end() - k
    if not low and comma:
        return found.problem(
            f"{count.group()} is not a repeat in RE2 syntax: it would match the text itself",
            f"write {{0,{high}}}" if high else "write * for any number of times",
            k,
            width,
        )
    if not low:
        return None
    if _too_many(low) or _too_many(high or ""):
        return found.problem(
            "this pattern repeats something too many times",
            f"use at most {MAX_REPEAT} in {{...}}",
            k,
            width,
        )
    if found.text[count.end() : count.end() + 1] == "+":
        return _feature(found, "possessive", k, width + 1)
    return None


def _too_many(digits: str) -> bool:
    """Over MAX_REPEAT, without int() on thousands of digits (Python refuses those)."""
    significant = digits.lstrip("0")
    return len(significant) > len(str(MAX_REPEAT)) or int(significant or "0") > MAX_REPEAT
