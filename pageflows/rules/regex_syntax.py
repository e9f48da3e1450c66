"""Reading an author's `/pattern/` before RE2 compiles it: where each piece of syntax is.

Why a scan of our own: RE2 (see linear_regex.py) reports errors without a
position, and for the features it leaves out on purpose (backreferences,
lookaround) only says "invalid escape sequence" or "invalid perl operator".
regex_refusals.py reads this scan to name the feature and put a caret under
it. The scan also drops spaces and comments for the `x` flag, which Python's
`re` had and RE2 has not.

The scan is lexical and linear (every lookahead inside it is bounded):
escapes, character classes and syntax characters. It never decides that a
pattern is fine: RE2 compiles what the scan leaves and has the last word.
"""

from __future__ import annotations

from dataclasses import dataclass

VERBOSE_SPACE = frozenset(" \t\n\r\v\f")  # what Python's `x` flag ignores (ASCII only)
META = frozenset("()*+?{")
BRACED_MAX = 100  # longest \p{...} or \x{...} looked for; RE2 refuses anything longer
POSIX_MAX = 12  # longest [:name:] looked for ([:^xdigit:])


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
