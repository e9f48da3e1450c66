"""issue 12: A. The slips marketers make most, recognised from a syntax error.

Why a module of its own: Lark says where parsing stopped and which tokens
would have fitted ("expected ':'"), which is right for the parser and wrong
for a person who typed `after 2 days`, `gotoo menu`, a curly quote or a
quick reply one level too shallow. Each recogniser here looks at the text
around the error and either names the slip, on the line where it is, with
the fix in the hint, or lets the generic message stand.

The recognisers are written against the text and the parser's state, never
against one construct, so they keep working for constructs added later.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

from lark import Token
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from pageflows.rules.diagnostics import Code
from pageflows.rules.duration_words import duration_meant, not_a_duration

# Typographic quotes that word processors and phones put in place of " and '.
CURLY = {"\u201c": "\u201d", "\u201e": "\u201d", "\u201f": "\u201d", "\u00ab": "\u00bb"}
CURLY_SINGLE = {"\u2018": "\u2019", "\u201a": "\u2019", "'": "'"}
WORD_CHAR = re.compile(r"[\w-]")
NUMBER_START = re.compile(r"(\d[0-9A-Za-z]*)[ \t]*$")
PIECE = re.compile(r"[ \t]*([.,]?[0-9A-Za-z]+)")
INDENT_STEP = 4
LAYOUT = ("_INDENT", "_DEDENT", "_NL", "$END")
# Fixes are tried by parsing the block again; a block this long is not re-parsed.
MAX_REPARSE = 100_000


@dataclass(frozen=True)
class Slip:
    """A recognised slip; line and col are in the block's text (1-based)."""

    code: Code
    line: int
    col: int
    width: int
    message: str
    hint: str | None


Reparse = Callable[[str], int | None]  # a block's text -> the line its first error is on


def recognise(
    chunk: str, exc: UnexpectedInput, keywords: frozenset[str], reparse: Reparse
) -> Slip | None:
    """The slip behind `exc` in `chunk` (one top-level block), if it is a known one."""
    where = _position(exc)
    if where is None:
        return _missing_colon(chunk, exc, reparse)
    pos, line, col = where
    text = chunk.split("\n")[line - 1] if line - 1 < chunk.count("\n") + 1 else ""
    return (
        _curly_quote(text, line, col)
        or (_after_duration(exc) and _duration_in_words(text, line, col))
        or _unknown_word(chunk, pos, line, col, keywords)
        or _wrong_depth(text, line, col, exc)
        or line_above_at_wrong_depth(chunk, line, reparse)
    )


def _position(exc: UnexpectedInput) -> tuple[int, int, int] | None:
    """Where the offending text starts: (offset in the block, line, column); None for layout."""
    if isinstance(exc, UnexpectedCharacters):
        return exc.pos_in_stream or 0, exc.line or 1, exc.column or 1
    if isinstance(exc, UnexpectedToken) and exc.token.type not in LAYOUT:
        token = exc.token
        return token.start_pos or 0, token.line or 1, token.column or 1
    return None


def _curly_quote(text: str, line: int, col: int) -> Slip | None:
    """`send “Hello”`: the quotes a phone or word processor makes are not the language's."""
    opening = text[col - 1 : col]
    closing = CURLY.get(opening) or CURLY_SINGLE.get(opening)
    if closing is None:
        return None
    end = text.find(closing, col)
    inner = text[col : end if end >= 0 else len(text)].rstrip()
    width = (end + 1 if end >= 0 else len(text.rstrip())) - (col - 1)
    kind = "single quotes" if opening in CURLY_SINGLE else "curly quotes"
    escaped = inner.replace("\\", "\\\\").replace('"', '\\"')
    why = "" if opening == "'" else ' (an editor\'s "smart quotes" setting curls them)'
    return Slip(
        Code.SYNTAX,
        line,
        col,
        max(width, 1),
        f"this text is in {kind} ({opening}...{closing}); texts go between straight"
        ' double quotes "..."',
        f'use straight double quotes: "{escaped}"{why}',
    )


def _after_duration(exc: UnexpectedInput) -> bool:
    """The parser's last token was a duration: what follows it belongs to it or is a slip."""
    history = getattr(exc, "token_history", None) or []
    last = history[-1] if history else None
    return last is not None and last.type == "DURATION"


def _duration_in_words(text: str, line: int, col: int) -> Slip | None:
    """`after 2 days`, `after 1.5h`, `after 2 h`: the parser took a number, then met its unit.

    The duration is read from the number on: the longest run of pieces that
    reads as a time ("2 days", "1.5h"); failing that, the number and the one
    piece after it, when the number stands alone (`2 dayz`).
    """
    before = NUMBER_START.search(text[: col - 1])
    if before is None or (before.start() > 0 and WORD_CHAR.match(text[before.start() - 1])):
        return None
    number = before.group(1)
    pieces = list(PIECE.finditer(text, col - 1))
    written = None
    end = col - 1
    for piece in pieces:
        if piece.start() != end:
            break
        end = piece.end()
        if duration_meant(text[before.start() : end]) is not None:
            written = text[before.start() : end]
    if written is None:
        first = pieces[0] if pieces and pieces[0].start() == col - 1 else None
        if first is None or not (number.isdigit() or first.group(1)[:1] in ".,"):
            return None
        written = text[before.start() : first.end()]
    message, hint = not_a_duration(written)
    return Slip(Code.BAD_DURATION, line, before.start() + 1, len(written), message, hint)


def _unknown_word(
    chunk: str, pos: int, line: int, col: int, keywords: frozenset[str]
) -> Slip | None:
    """`gotoo menu`, `sendd "Hi"`: a misspelt word, which the lexer cut after a keyword.

    The lexer reads `gotoo` as the keyword `goto` and a name `o`, so the error
    lands on a later token; the word the marketer typed is the whole run of
    letters, and the fix is the keyword closest to it.
    """
    start = pos
    while start > 0 and WORD_CHAR.match(chunk[start - 1]):
        start -= 1
    end = pos
    while end < len(chunk) and WORD_CHAR.match(chunk[end]):
        end += 1
    if start == pos:
        # Not cut by the lexer: the word before the error may be the misspelt one
        # (`gotoo menu` stops at `menu`).
        previous = re.search(r"([^\W\d][\w-]*)[ \t]+$", chunk[line_start(chunk, pos) : pos])
        if previous is None or previous.group(1).lower() in keywords:
            return None
        start = line_start(chunk, pos) + previous.start(1)
        end = start + len(previous.group(1))
    word = chunk[start:end]
    if not word or word[0].isdigit() or word.lower() in keywords:
        return None
    close = difflib.get_close_matches(word.lower(), sorted(keywords), n=1, cutoff=0.75)
    if not close or not _at_line_start(chunk, start):
        return None
    return Slip(
        Code.SYNTAX,
        line,
        col - (pos - start),
        len(word),
        f'"{word}" is not a word of the flow language',
        f'did you mean "{close[0]}"?',
    )


def line_start(chunk: str, pos: int) -> int:
    return chunk.rfind("\n", 0, pos) + 1


def _at_line_start(chunk: str, start: int) -> bool:
    """Only a line's first word is corrected: later words may be names of the marketer's."""
    return not chunk[line_start(chunk, start) : start].strip()


def _wrong_depth(text: str, line: int, col: int, exc: UnexpectedInput) -> Slip | None:
    """A line that would read one level deeper or shallower: `quick` level with its `send`."""
    if not isinstance(exc, UnexpectedToken) or exc.interactive_parser is None:
        return None
    if text[: col - 1].strip():
        return None  # not the first word of its line: a depth is not the problem
    token = exc.token
    tabs = text[:1] == "\t"
    indent, step = (col - 1, 1) if tabs else (col - 1, INDENT_STEP)
    for levels in (1, -1, -2, -3):
        if indent + levels * step < 0:
            continue
        if _fits_after(exc, token, levels):
            count = indent + levels * step
            unit = ("tab" if tabs else "space") + ("s" if count != 1 else "")
            deeper = levels > 0
            return Slip(
                Code.BAD_INDENT,
                line,
                col,
                max(len(str(token)), 1),
                f'this "{token}" line is '
                + (
                    "not indented enough: it belongs under the line above"
                    if deeper
                    else "indented too far: it belongs to an outer block"
                ),
                f"indent it by {count} {unit}",
            )
    return None


def _fits_after(exc: UnexpectedToken, token: Token, levels: int) -> bool:
    """Would `token` be accepted after `levels` indents (or dedents, if negative)?"""
    parser = exc.interactive_parser.copy()  # type: ignore[no-untyped-call]
    kind = "_INDENT" if levels > 0 else "_DEDENT"
    try:
        for _ in range(abs(levels)):
            parser.feed_token(Token.new_borrow_pos(kind, "", token))
        return token.type in parser.accepts()
    except LarkError:
        return False


def _missing_colon(chunk: str, exc: UnexpectedInput, reparse: Reparse) -> Slip | None:
    """An indented line under a line that does not open a block: the line above lacks ":"."""
    if not isinstance(exc, UnexpectedToken) or exc.token.type != "_INDENT":
        return None
    if len(chunk) > MAX_REPARSE:
        return None
    lines = chunk.split("\n")
    indented = (exc.token.end_line or exc.token.line or 1) - 1
    above = indented - 1
    while above >= 0 and (not lines[above].strip() or lines[above].lstrip().startswith("#")):
        above -= 1
    if above < 0 or lines[above].rstrip().endswith(":"):
        return None
    fixed = [*lines[:above], lines[above].rstrip() + ":", *lines[above + 1 :]]
    failed_at = reparse("\n".join(fixed))
    if failed_at is not None and failed_at <= indented + 1:
        return None
    end = len(lines[above].rstrip())
    return Slip(
        Code.SYNTAX,
        above + 1,
        end + 1,
        1,
        'expected ":" at the end of this line',
        'the indented lines below belong to it: a line that opens a block ends with ":"',
    )


def line_above_at_wrong_depth(chunk: str, line: int, reparse: Reparse) -> Slip | None:
    """`else:` refused because the line above it left the `if` one level too early.

    The line above parsed, as the first line of an outer block; only the next
    line shows the slip. If indenting the line above by one level more (or
    less) lets the block read past this line, that line is the slip.
    """
    if len(chunk) > MAX_REPARSE:
        return None
    lines = chunk.split("\n")
    above = line - 2
    while above >= 0 and (not lines[above].strip() or lines[above].lstrip().startswith("#")):
        above -= 1
    if above <= 0:
        return None
    text = lines[above]
    indent = len(text) - len(text.lstrip(" "))
    for levels in (1, -1):
        spaces = indent + levels * INDENT_STEP
        if spaces < INDENT_STEP or "\t" in text[:indent]:
            continue
        fixed = [*lines[:above], " " * spaces + text.lstrip(" "), *lines[above + 1 :]]
        failed_at = reparse("\n".join(fixed))
        if failed_at is None or failed_at > line:
            how = (
                "not indented enough: it belongs to the block above it"
                if levels > 0
                else "indented too far: it belongs to an outer block"
            )
            return Slip(
                Code.BAD_INDENT,
                above + 1,
                indent + 1,
                max(len(text.strip()), 1),
                f"this line is {how}, so the next line no longer fits",
                f"indent it by {spaces} spaces",
            )
    return None
