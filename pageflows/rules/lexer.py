"""The reader's lexer alone: a block's pieces from its text, with nothing but `re` imported.

Why a module of its own (issue 13: A): `pageflows check` forks a child that lexes the
flows (lex_ahead.py) as soon as it knows the files, before it imports pydantic, Lark
and the model (~0.2 s of start-up), so the child must reach the lexer without them.
read_block.py, the reader these pieces are for, imports everything here back; the
pieces and the blocks (`split_blocks`) are the very functions it and parse.py use.
"""

from __future__ import annotations

import re
from typing import NoReturn

# Must match parse.py's (one step of indentation; the deepest nesting read).
INDENT_STEP = 4
MAX_DEPTH = 24

# Pieces as Lark's lexer finds them, each with the spaces after it (Lark ignores them:
# one match instead of two); whatever fits none is "BAD". No two kinds start with the
# same character (a "-" is a NUM before a digit, "->" before ">"), so their order only
# says which is tried first: the most frequent (issue 13: A). Possessive repeats
# (`*+`) never give back what they took: none of these pieces could match by taking
# less, and trying was a third of the time of the 240,000 matches of 10,000 triggers.
_PIECES = re.compile(
    r'(?:(?P<STRING>"(?:[^"\\\r\n]++|\\.)*+")'
    r"|(?P<WORD>[^\W\d][\w-]*+)"
    r"|(?P<NL>(?:\r?\n[\t ]*+|#[^\n]*+)++)"
    r"|(?P<PUNCT>->|==|!=|>=|<=|[:,.()=<>])"
    r"|(?P<NUM>-?\d[0-9A-Za-z.,%]*)"
    r'|(?P<FIELD_REF>\{[^{}\r\n"]*\})'
    r"|(?P<REGEX>/(?:[^/\\\r\n]|\\.)+/[imsx]*)"
    r"|(?P<WS>(?=[ \t\f]))"
    r"|(?P<BAD>[\s\S])"
    r")[ \t\f]*+"
)

# A lexed piece: kind, text, start, line, column, end line, end column, end.
Piece = tuple[str, str, int, int, int, int, int, int]


class NotSure(Exception):
    """This reader does not read the block; Lark does."""


def _give_up() -> NoReturn:
    raise NotSure


# issue 13: A: blocks lexed ahead by a forked child while this process reads other files
# (lex_ahead.py), by their text, the file being read's only. The pieces are a function of
# the text alone, so a block found here is lexed exactly as `lex` would lex it; any other
# block is lexed here.
AHEAD: dict[str, list[Piece]] = {}


def lex(chunk: str) -> list[Piece]:
    """`_pieces` of a block not lexed ahead (raises NotSure where the reader gives up)."""
    out: list[Piece] = []
    append = out.append
    line, line_start = 1, 0
    levels = [0]
    for match in _PIECES.finditer(chunk):
        kind = match.lastgroup or "BAD"
        if kind == "WS":
            continue  # spaces at the start of the block
        start, end = match.span(kind)
        value = chunk[start:end]
        column = start - line_start + 1
        if kind != "NL":
            if kind == "BAD":
                _give_up()
            append((kind, value, start, line, column, line, column + end - start, end))
            continue
        last_break = value.rfind("\n")
        if last_break < 0:
            _give_up()  # a comment with no line end after it: not in a block parse.py makes
        end_line = line + value.count("\n")
        line_start = start + last_break + 1
        piece = ("NL", value, start, line, column, end_line, end - line_start + 1, end)
        append(piece)
        line = end_line
        indent = end - line_start
        if "\t" in value[last_break:]:
            _give_up()  # tabs: parse.FlowIndenter counts them; Lark reads such blocks
        if indent > levels[-1]:
            if len(levels) > MAX_DEPTH or indent != levels[-1] + INDENT_STEP:
                _give_up()
            levels.append(indent)
            append(("INDENT", *piece[1:]))
            continue
        while indent < levels[-1]:
            levels.pop()
            append(("DEDENT", *piece[1:]))
        if indent != levels[-1]:
            _give_up()
    if len(levels) > 1:
        _give_up()
    append(("END", "", len(chunk), line, 0, line, 0, len(chunk)))
    return out


# Flow files larger than this are not read (parse.decode reports them).
MAX_FILE_BYTES = 1_000_000


def split_blocks(text: str) -> list[tuple[int, str]]:
    """Top-level blocks as (0-based first line, text). Comments before a block join it."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line[:1] not in ("", " ", "\t", "#")]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    blocks = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        chunk = "\n".join(lines[start:end])
        if chunk.strip():
            blocks.append((start, chunk + "\n"))
    return blocks


def flow_text(data: bytes) -> str | None:
    """The text parse.decode reads from a file's bytes, or None where it reports a finding
    instead (too large, not UTF-8, a NUL byte): what the lexing child lexes."""
    if len(data) > MAX_FILE_BYTES:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")
