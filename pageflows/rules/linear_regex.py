"""Author patterns run on RE2: matching time grows linearly with the message, whatever the pattern.

Why: Python's `re` backtracks. `on regex /(a+)+$/` against "a" * 28 + "!"
took 22 s while holding the interpreter lock, so one message froze the worker
and the webhook for every contact. RE2 (PyPI `google-re2`, module `re2`)
never backtracks: any pattern it accepts runs in time linear in the text,
and it lets go of the interpreter lock while it matches.
The price is the features that need backtracking (backreferences, lookahead,
lookbehind, possessive repeats); `check` refuses them with PF115, and
regex_refusals.py says where and how to do without them.

re2 ships no type stubs: `_Compiled` is the one method pageflows calls, so
the rest of the code stays under mypy --strict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import re2

from pageflows.rules.regex_refusals import refusal
from pageflows.rules.regex_syntax import RegexProblem, Scan, scan

__all__ = ["LinearRegex", "RegexProblem", "compile_regex"]

INLINE_FLAGS = "ims"  # given to RE2 as (?ims); the x flag is applied by the scan
SHOWN_MAX = 40  # characters of RE2's quote shown in a message
LOOKS_MAX = 20  # occurrences of RE2's quote tried when locating it
ESCAPE_HINT = "to match one of ( ) [ ] { } . * + ? | \\ itself, put a \\ before it, as in /\\(/"


class _Compiled(Protocol):
    def search(self, text: bytes, /) -> object: ...


def _options() -> object:
    options = re2.Options()
    options.log_errors = False  # a refusal comes back as a value, not as a line on stderr
    return options


OPTIONS = _options()


@dataclass(frozen=True)
class LinearRegex:
    """A compiled `/pattern/flags`; two are equal when written the same."""

    pattern: str
    flags: str
    compiled: _Compiled = field(compare=False, repr=False)

    def search(self, text: str) -> bool:
        """Whether the pattern occurs anywhere in `text`, in time linear in its length."""
        return self.compiled.search(_utf8(text)) is not None


def compile_regex(pattern: str, flags: str) -> LinearRegex | RegexProblem:
    """`/pattern/flags` as the author wrote it, ready to match, or why it cannot run."""
    found = scan(pattern, verbose="x" in flags)
    problem = refusal(found)
    if problem is not None:
        return problem
    if found.unclosed_class is not None:
        # Said before RE2 is asked: its parser takes quadratic time over "[[:[:[:..." unclosed.
        message, hint = RE2_ERRORS["missing ]"]
        return found.problem(message, hint, found.unclosed_class)
    inline = "".join(flag for flag in INLINE_FLAGS if flag in flags)
    prefix = f"(?{inline})" if inline else ""
    try:
        compiled: _Compiled = re2.compile(prefix + found.text, OPTIONS)
    except re2.error as exc:
        return explain(exc, found)
    return LinearRegex(pattern, flags, compiled)


def _utf8(text: str) -> bytes:
    """RE2 reads UTF-8. A lone surrogate (JSON allows "\\ud800") becomes U+FFFD, not a crash."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        repaired = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return repaired.encode("utf-8")


# RE2's error texts ("missing ): (a") -> a marketer's words; {arg} is the part after ": ".
RE2_ERRORS: dict[str, tuple[str, str | None]] = {
    "missing )": ("a ( is not closed", "close it with ), or write \\( to match a parenthesis"),
    "unexpected )": ("this ) closes no (", "write \\) to match a parenthesis"),
    "missing ]": ("a [ is not closed", "close it with ], or write \\[ to match a bracket"),
    "no argument for repetition operator": (
        "{arg} has nothing before it to repeat",
        "write \\{arg} to match {arg} itself",
    ),
    "bad repetition operator": (
        "{arg} repeats a repeat",
        "put the repeated part in a group first, as in (?:a+)*",
    ),
    "invalid repetition size": (
        "{arg} repeats something too many times, or its numbers are the wrong way round",
        "use at most 1000, smaller number first, as in {2,5}; repeats inside repeats multiply",
    ),
    "invalid escape sequence": ("{arg} is not an escape RE2 knows", ESCAPE_HINT),
    "invalid character class range": (
        "{arg} is not a range",
        "write the smaller character first, as in a-z; write \\- to match a dash",
    ),
    "unknown unicode class": (
        "{arg} is not a Unicode class RE2 knows",
        "write \\pL for a letter, \\p{Nd} for a digit, \\p{Greek} for a script",
    ),
    "invalid named capture group": (
        "{arg} is not a named group",
        "name a group with letters, digits and _, as in (?P<order>\\d+)",
    ),
    "invalid perl operator": (
        "{arg} is not RE2 syntax",
        "groups are written (...), (?:...) or (?P<name>...), inline flags as (?i)",
    ),
    "trailing \\": ("the pattern ends with a lone \\", "write \\\\ to match a backslash"),
    "pattern too large - compile failed": (
        "this pattern is too large to run",
        "make it shorter, or split it into several triggers",
    ),
}


def explain(exc: Exception, found: Scan) -> RegexProblem:
    """RE2's refusal, located with the scan: RE2 itself gives no position."""
    raw = exc.args[0] if exc.args else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    reason, _, arg = text.partition(": ")
    shown = arg if len(arg) <= SHOWN_MAX else arg[: SHOWN_MAX - 1] + "…"
    if reason == "invalid character class range" and arg[:2] in ("\\p", "\\P"):
        reason = "unknown unicode class"  # RE2 says "range" for \p{Foo} too
    message, hint = RE2_ERRORS.get(reason, (f"this pattern is broken: {text}", ESCAPE_HINT))
    message = message.replace("{arg}", shown)
    hint = hint.replace("{arg}", shown) if hint else None
    unclosed, stray = found.unbalanced()
    where: int | None
    width = 1
    if reason == "missing )":
        where = unclosed
    elif reason == "unexpected )":
        where = stray
    elif reason == "missing ]":
        where = found.unclosed_class
    elif reason == "trailing \\":
        where = len(found.text) - 1
    else:
        where = _locate(found, arg)
        width = len(arg)
    if where is None:
        return RegexProblem(message, hint)
    return found.problem(message, hint, where, width)


def _locate(found: Scan, arg: str) -> int | None:
    """Where RE2's quoted piece is: its first occurrence at a syntax mark, else its first.

    Each look is one `str.find` and there are at most LOOKS_MAX of them, so a
    long pattern full of near-misses costs linear time, not quadratic.
    """
    first = found.text.find(arg) if arg else -1
    if first < 0:
        return None
    marks = set(found.marks)
    index = first
    for _ in range(LOOKS_MAX):
        if index < 0 or index in marks:
            break
        index = found.text.find(arg, index + 1)
    return index if index >= 0 and index in marks else first
