"""What RE2 would refuse in an author's pattern, or read differently from Python: named and located.

Why: a marketer who copied `(?=...)` or `\\1` from a tutorial needs to hear
what it is, that pageflows cannot run it (it needs backtracking, and
backtracking is what let one message stall the bot), and how to write the
pattern instead, with a caret under it. A few Python spellings RE2 lacks or
reads as plain text (`\\Z`, `\\u00e9`, `{,3}`, counts over 1000) are caught
here too, so no pattern silently changes meaning.
"""

from __future__ import annotations

import re

from pageflows.rules.regex_syntax import RegexProblem, Scan

MAX_REPEAT = 1000  # RE2's largest count in {...}
COUNT = re.compile(r"\{([0-9]*)(?:(,)([0-9]*))?\}")  # ASCII digits, as both engines read them
DIGITS = frozenset("0123456789")
OCTAL = frozenset("01234567")
LINEAR = "pageflows runs patterns in linear time (RE2 syntax)"

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
            width = 3 if text[k + 2 : k + 3] in DIGITS else 2
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
