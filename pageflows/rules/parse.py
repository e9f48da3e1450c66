"""Flow text -> Lark syntax trees, or located syntax diagnostics.

Why the text is cut into top-level blocks before parsing: LALR stops at the
first error, and a marketer wants every broken trigger or step reported in
one run. Each block (a line starting at column 0, up to the next one) is
parsed alone, so one mistake costs one block, not the file.

Whatever the input (binary, empty, huge, a BOM, CRLF, tabs), this module
returns diagnostics and never raises.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)
from lark.indenter import Indenter

from pageflows.rules import model as m
from pageflows.rules import read_block, read_model, slips
from pageflows.rules.diagnostics import Code, Diagnostic, error
from pageflows.rules.lexer import MAX_FILE_BYTES as MAX_FILE_BYTES  # issue 13: A: shared
from pageflows.rules.lexer import split_blocks as split_blocks
from pageflows.rules.source import SourceFile, Span
from pageflows.rules.trusted import trusted

# A decoded file's fields, both given (issue 13: A: made as validation makes it).
_SOURCE_FIELDS = frozenset({"path", "text"})

TAB_WIDTH = 4
INDENT_STEP = 4  # issue 12: A: one level of indentation, in columns (4 spaces or one tab)
MAX_DEPTH = 24  # nested blocks; a real flow rarely goes past 5

# How each terminal reads in "expected ..." messages.
TERMINAL_WORDS = {
    "STRING": 'a text in double quotes (like "Hello")',
    "DURATION": "a duration such as 2h, 3d or 30m",
    "NAME": "a name such as ask_email",
    "REGEX": r"a pattern between slashes, such as /order \d+/",
    "PERCENT": "a percentage such as 50%",
    "FIELD_REF": "a stored date such as {contact.booking_date}",  # issue 12: time
    "_NL": "the end of the line",
    "_INDENT": "an indented block on the next line",
    "_DEDENT": "the end of the indented block",
    "$END": "the end of the file",
    "NUMBER": "a number such as 8",  # issue 12: D
}
ACTION_KEYWORDS = frozenset(
    [
        "send",
        "private",
        "tag",
        "untag",
        "set",
        "ask",
        "goto",
        "after",
        "if",
        "split",
        "request",
        "handoff",
        "notify",
        "stop",
        "before",  # issue 12: time
    ]
)
TRIGGER_KEYWORDS = frozenset(
    [
        "keyword",
        "regex",
        "ref",
        "comment",
        "postback",
        "get",
        "first",
        "message",
        "attachment",
        "optin",
        "window",
    ]
)


class IndentationError_(LarkError):
    """Raised by the indenter with a located message; turned into a diagnostic below."""

    def __init__(
        self, line: int, col: int, message: str, hint: str, over_indented: bool = False
    ) -> None:
        super().__init__(message)
        self.line, self.col, self.message, self.hint = line, col, message, hint
        # Deeper than the line above allows: the slip may be that line (see _indent_finding).
        self.over_indented = over_indented


class FlowIndenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types: list[str] = []  # noqa: RUF012 - Lark's interface
    CLOSE_PAREN_types: list[str] = []  # noqa: RUF012
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = TAB_WIDTH

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        self.paren_level = 0
        self.indent_level = [0]
        return self._layout(stream)

    def _layout(self, stream: Iterator[Token]) -> Iterator[Token]:
        """The lexer's tokens with the layout tokens added, as Lark's Indenter adds them.

        issue 12: A: a keyword followed, with no space, by letters or digits is
        refused before the indenter (Lark's lexer matches keywords without a word
        boundary, so `gotoo` read as `goto o` and `gotomenu` as `goto menu`, both
        without an error), and whether the line before a line end opens a block
        (ends with ":") is noted.
        issue 13: A: the three in one generator (Lark's had no parentheses to
        count here): every token passed through three before, a resume each.
        """
        keywords = _keyword_types()
        nl_type = self.NL_type
        self.opens_block = False
        previous: Token | None = None
        for token in stream:
            if (
                previous is not None
                and previous.type in keywords
                and token.start_pos == previous.end_pos
                and token[:1].isalnum()
            ):
                raise GluedWord(previous, token)
            previous = token
            if token.type == nl_type:
                yield from self.handle_NL(token)
            else:
                self.opens_block = token.type == "COLON"
                yield token
        while len(self.indent_level) > 1:
            self.indent_level.pop()
            yield (
                Token.new_borrow_pos(self.DEDENT_type, "", previous)
                if previous is not None
                else Token(self.DEDENT_type, "", 0, 0, 0, 0, 0, 0)
            )

    def handle_NL(self, token: Token) -> Iterator[Token]:
        indent_str = token.rsplit("\n", 1)[1]
        indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
        line = token.end_line or token.line or 1
        yield token
        if indent > self.indent_level[-1]:
            if len(self.indent_level) > MAX_DEPTH:
                # Later stages walk blocks recursively: a cap here keeps them far from
                # Python's recursion limit, whatever the file holds.
                raise IndentationError_(
                    line,
                    len(indent_str) + 1,
                    f"blocks are nested more than {MAX_DEPTH} levels deep here",
                    "move the inner part into its own step and goto it",
                )
            if indent != self.indent_level[-1] + INDENT_STEP:
                raise _indent_step_error(
                    line, indent_str, self.indent_level[-1], getattr(self, "opens_block", True)
                )
            self.indent_level.append(indent)
            yield Token.new_borrow_pos(self.INDENT_type, indent_str, token)
            return
        closed: list[int] = []
        while indent < self.indent_level[-1]:
            closed.append(self.indent_level.pop())
            yield Token.new_borrow_pos(self.DEDENT_type, indent_str, token)
        if indent != self.indent_level[-1]:
            # check_indentation already refused files that mix tabs and spaces.
            # The levels open above this line (issue 13: A: sorted only here).
            open_levels = sorted({*self.indent_level, *closed})
            unit, size = ("tabs", self.tab_len) if "\t" in indent_str else ("spaces", 1)
            here = f"{indent // size} {unit[:-1] if indent == size else unit}"
            raise IndentationError_(
                line,
                len(indent_str) + 1,
                f"this line is indented by {here}, which matches no block above it",
                f"indent it by {_either([n // size for n in open_levels])} {unit},"
                " like the other lines of the block it belongs to",
            )


class GluedWord(LarkError):
    """issue 12: A. A keyword with letters stuck to it: `gotoo` lexes as `goto` + `o`."""

    def __init__(self, keyword: Token, token: Token) -> None:
        super().__init__(f"a word runs into the keyword before it at {token.line}:{token.column}")
        self.keyword, self.token = keyword, token


def _indent_step_error(
    line: int, indent_str: str, outer: int, under_opener: bool
) -> IndentationError_:
    """issue 12: A. One step of indentation is 4 spaces (or one tab), as docs/language.md says.

    Why exactly one step: with any deeper indentation accepted, a 5-space line
    opened a block of its own and the error landed on the next, correct line.
    Under a line that opens no block, the line meant is likely level with it.
    """
    tabs = "\t" in indent_str
    unit = TAB_WIDTH if tabs else 1
    level = outer + INDENT_STEP if under_opener else outer
    count = level // unit
    noun = ("tab" if tabs else "space") + ("s" if count != 1 else "")
    here = f"{len(indent_str)} {'tab' if tabs else 'space'}{'s' if len(indent_str) != 1 else ''}"
    step = "one tab" if tabs else "4 spaces"
    where = (
        f"{step} more than the line that opens the block"
        if under_opener
        else "like the line above: it opens no block"
    )
    return IndentationError_(
        line,
        len(indent_str) + 1,
        f"this line is indented by {here}: the lines of a block are indented {step}"
        " more than the line that opens it",
        f"indent it by {count} {noun}, {where}",
        over_indented=True,
    )


def _either(numbers: list[int]) -> str:
    words = [str(n) for n in numbers]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


@lru_cache(maxsize=1)
def parser() -> Lark:
    grammar = resources.files("pageflows.rules").joinpath("grammar.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        postlex=FlowIndenter(),
        propagate_positions=True,
        maybe_placeholders=False,
    )


@dataclass(frozen=True)
class Block:
    """One top-level block's syntax tree; Lark's line numbers + line_offset = file lines.

    issue 13: A: or, for a common well-formed block, its model nodes already
    (read_model.py; ``tree`` is None then): the nodes build.py makes of the tree.
    """

    tree: Tree[Token] | None
    line_offset: int
    nodes: tuple[m.TriggerBlock | m.Step, ...] = ()


@dataclass(frozen=True)
class Unread:
    """issue 12: A. A block that failed to read or parse: where it starts, the steps it names.

    Why: the checks judge the whole program ("no step book", "nothing leads to
    menu"); a block they cannot see must not make them report what it would
    have defined. "*" stands for a step whose name cannot be read.
    """

    line: int
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Parsed:
    source: SourceFile
    blocks: tuple[Block, ...]
    diagnostics: tuple[Diagnostic, ...]
    unread: tuple[Unread, ...] = ()  # issue 12: A


def decode(path: str, data: bytes) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Bytes -> text with LF line ends and no BOM; columns stay as the editor shows them."""
    first = Span.point(path, 1, 1)
    if len(data) > MAX_FILE_BYTES:
        return None, [
            error(
                Code.TOO_LARGE,
                first,
                f"this file is {len(data):,} bytes; flow files are limited to {MAX_FILE_BYTES:,}",
                "split it into several flow files in the same folder",
            )
        ]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            error(
                Code.NOT_TEXT,
                Span.point(path, line, col),
                "this file is not UTF-8 text",
                "save it as UTF-8 text; flow files are plain text, not documents or images",
            )
        ]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return None, [
            error(
                Code.NOT_TEXT,
                Span.point(path, line, 1),
                "this file contains binary data (a NUL byte)",
                "flow files are plain text",
            )
        ]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return trusted(SourceFile, {"path": path, "text": text}, _SOURCE_FIELDS), []


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def check_indentation(source: SourceFile) -> list[Diagnostic]:
    """Tabs and spaces may not be mixed: the same file would nest differently per editor."""
    found: list[Diagnostic] = []
    if "\t" not in source.text:
        return found  # issue 13: A: spaces only (most files): nothing can be mixed

    style: str | None = _usual_indent(source.text)  # issue 12: A
    for number, line in enumerate(source.text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = _indent_of(line)
        if not indent:
            continue
        kinds = set(indent)
        span = Span(path=source.path, line=number, col=1, end_line=number, end_col=len(indent) + 1)
        if len(kinds) > 1:
            found.append(
                error(
                    Code.MIXED_INDENT,
                    span,
                    "this line's indentation mixes tabs and spaces",
                    "indent with spaces only (4 per level)",
                )
            )
            continue
        kind = "tabs" if "\t" in kinds else "spaces"
        if style is None:
            style = kind
        elif kind != style:
            found.append(
                error(
                    Code.MIXED_INDENT,
                    span,
                    f"this line is indented with {kind}, but the other lines use {style}",
                    "indent with spaces only (4 per level)",
                )
            )
    return found


def _usual_indent(text: str) -> str | None:
    """issue 12: A. "tabs" or "spaces", whichever indents more lines (spaces on a tie).

    Why not the first indented line: one tab-indented line at the top made
    every later, correct line an error; the slip is the odd line out.
    """
    counts = {"tabs": 0, "spaces": 0}
    for line in text.split("\n"):
        indent = _indent_of(line)
        if indent and line.strip() and not line.strip().startswith("#") and len(set(indent)) == 1:
            counts["tabs" if indent[0] == "\t" else "spaces"] += 1
    if not any(counts.values()):
        return None
    return "tabs" if counts["tabs"] > counts["spaces"] else "spaces"


def parse_source(source: SourceFile) -> Parsed:
    diagnostics = check_indentation(source)
    if diagnostics:
        return Parsed(source, (), tuple(diagnostics), (unread_block(0, source.text),))
    blocks: list[Block] = []
    unread: list[Unread] = []
    previous: tuple[int, str] | None = None
    for offset, chunk in split_blocks(source.text):
        failed = len(diagnostics)
        stray = _stray_line(chunk) if previous else None  # issue 12: A
        if stray and previous and blocks and blocks[-1].line_offset == previous[0]:
            # The line belongs to the block above, which is read without it: its
            # findings would be about a block cut short. It waits with this one.
            blocks.pop()
            unread.append(unread_block(*previous))
        previous = (offset, chunk)
        if stray:
            diagnostics.append(
                error(
                    Code.BAD_INDENT,
                    Span.point(source.path, offset + 1, 1, len(stray)),
                    *_stray_words(stray),
                )
            )
            unread.append(unread_block(offset, chunk))
            continue
        # issue 13: A: the common blocks straight into the model, no syntax tree.
        nodes = read_model.read(chunk, source.path, offset)
        if nodes is not None:
            blocks.append(Block(None, offset, nodes))
            continue
        try:
            # issue 13: A: the hand-written reader first; Lark for what it is not sure of.
            tree = read_block.read(chunk)
            if tree is None:
                tree = parser().parse(chunk)
        except IndentationError_ as exc:
            diagnostics.append(_indent_finding(source, chunk, offset, exc))
        except UnexpectedInput as exc:
            diagnostics.append(syntax_diagnostic(source, chunk, offset, exc))
        except GluedWord as exc:  # issue 12: A
            diagnostics.append(glued_diagnostic(source, chunk, offset, exc.keyword, exc.token))
        except LarkError as exc:  # pragma: no cover - any other Lark failure stays located
            diagnostics.append(
                error(
                    Code.SYNTAX, Span.point(source.path, offset + 1, 1), f"cannot read this: {exc}"
                )
            )
        else:
            blocks.append(Block(tree, offset))
        if len(diagnostics) > failed:
            unread.append(unread_block(offset, chunk))
    return Parsed(source, tuple(blocks), tuple(diagnostics), tuple(unread))


@lru_cache(maxsize=1)
def _top_level_words() -> frozenset[str]:
    """The words a top-level block starts with (on, step, broadcast), read from the grammar."""
    accepted = parser().parse_interactive("").accepts()  # type: ignore[no-untyped-call]
    return frozenset(k for k in (_keyword(name) for name in accepted) if k)


def _stray_line(chunk: str) -> str | None:
    """issue 12: A. The first word of a block that is a line of the block above, at the margin.

    `send "x"` at the left margin ends the step above it: that is one slip, on
    this line, not a broken block here plus findings about the step cut short.
    """
    match = WORD.match(chunk)
    if match is None:
        return None
    word = match.group(0)
    # issue 13: A: the words as constants: the grammar's parser is built only when needed.
    if word in read_block.TOP_LEVEL_WORDS or word not in read_block.KEYWORDS:
        return None
    return word


def _stray_words(word: str) -> tuple[str, str]:
    top = sorted(_top_level_words(), key=lambda w: ("on", "step", "broadcast", w).index(w))
    starters = ", ".join(top[:-1]) + " and " + top[-1] if len(top) > 1 else "".join(top)
    return (
        f'this "{word}" line starts at the left margin, so it ends the block above it',
        "indent it to its place in the block above (4 spaces per level);"
        f" only {starters} lines start at the left margin",
    )


def parse_bytes(path: str, data: bytes) -> Parsed:
    source, problems = decode(path, data)
    if source is None:
        lost = (Unread(1, ("*",)),)  # issue 12: A
        empty = trusted(SourceFile, {"path": path, "text": ""}, _SOURCE_FIELDS)
        return Parsed(empty, (), tuple(problems), lost)
    return parse_source(source)


STEP_LINE = re.compile(r"[ \t]*([^\W\d]\w*)(?:[ \t]+([^\W\d][\w-]*))?(.*)")


def unread_block(offset: int, chunk: str) -> Unread:
    """issue 12: A. The steps a failed block names, read leniently, line by line.

    Every line counts, not only the first: an indented `step` line makes its
    whole block part of the block above, and `stpe book:` is still step book.
    """
    steps: list[str] = []
    for line in chunk.split("\n"):
        match = STEP_LINE.match(line)
        if not match:
            continue
        word, name, rest = match.groups()
        if word == "step" or (
            word not in _all_keywords()
            and name
            and rest.rstrip().endswith(":")
            and difflib.get_close_matches(word.lower(), ["step"], n=1, cutoff=0.7)
        ):
            steps.append(name or "*")
    return Unread(offset + 1, tuple(steps))


# ------------------------------------------------------------------ messages


def _terminal_words() -> dict[str, str]:
    words = dict(TERMINAL_WORDS)
    for terminal in parser().terminals:
        if terminal.name not in words and terminal.pattern.type == "str":
            words[terminal.name] = f'"{terminal.pattern.value}"'
    return words


def _keyword(name: str) -> str | None:
    for terminal in parser().terminals:
        if terminal.name == name and terminal.pattern.type == "str":
            value = str(terminal.pattern.value)
            return value if value.isalpha() else None
    return None


def _has_keyword(expected: set[str]) -> bool:
    return bool(expected & _keyword_types())


@lru_cache(maxsize=1)
def _keyword_types() -> frozenset[str]:
    """The terminal names of the language's words (GOTO, SEND...)."""
    return frozenset(
        t.name
        for t in parser().terminals
        if t.pattern.type == "str" and str(t.pattern.value).isalpha()
    )


@lru_cache(maxsize=1)
def _all_keywords() -> frozenset[str]:
    """Every word of the language (send, goto, quick...), read from the grammar."""
    return frozenset(
        str(t.pattern.value)
        for t in parser().terminals
        if t.pattern.type == "str" and str(t.pattern.value).isalpha()
    )


def describe_expected(expected: set[str]) -> str:
    if "DURATION" in expected:  # issue 12: `after {contact.date} by` is rarer; say the usual
        expected = expected - {"FIELD_REF"}
    words = _terminal_words()
    keywords = {k for k in (_keyword(name) for name in expected) if k}
    if keywords >= ACTION_KEYWORDS:
        return "an action such as send, ask, tag, set, goto, after, if or stop"
    if keywords >= TRIGGER_KEYWORDS:
        return "a trigger such as keyword, ref, comment, postback, get started or message"
    # Values ("a text in double quotes") read best first, then the keywords.
    phrases = sorted(
        {words.get(name, name.lower()) for name in expected}, key=lambda p: (p[:1] == '"', p)
    )
    if len(phrases) > 9:
        phrases = [*phrases[:9], "..."]
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]


WORD = re.compile(r"[^\W\d][\w-]*")


def syntax_diagnostic(
    source: SourceFile, chunk: str, offset: int, exc: UnexpectedInput
) -> Diagnostic:
    """One located finding for a Lark error, worded for a marketer."""
    slip = slips.recognise(chunk, exc, _all_keywords(), _first_error_line)  # issue 12: A
    if slip is not None:
        return error(
            slip.code,
            Span.point(source.path, slip.line + offset, slip.col, slip.width),
            slip.message,
            slip.hint,
        )
    expected: set[str] = set()
    line, col, width = (exc.line or 1), (exc.column or 1), 1
    found = ""
    if isinstance(exc, UnexpectedCharacters):
        expected = set(exc.allowed or ())
        pos = exc.pos_in_stream or 0
        match = WORD.match(chunk, pos)
        found = match.group(0) if match else chunk[pos : pos + 1]
        width = max(len(found), 1)
    elif isinstance(exc, UnexpectedToken):
        expected = set(exc.accepts or exc.expected or ())
        token = exc.token
        found = str(token)
        if token.type in ("_INDENT", "_DEDENT", "_NL", "$END"):
            line, col = _line_end(chunk, token)
            found = ""
        else:
            width = max(len(found), 1)
    elif isinstance(exc, UnexpectedEOF):
        expected = set(exc.expected or ())
        line, col = chunk.count("\n"), 1
    line = min(max(line, 1), max(chunk.count("\n"), 1))
    if isinstance(exc, UnexpectedCharacters) and found == '"':
        # The lexer stops at a quote only when no closing quote follows on that line.
        rest = chunk[exc.pos_in_stream or 0 :].split("\n", 1)[0]
        return error(
            Code.SYNTAX,
            Span.point(source.path, line + offset, max(col, 1), len(rest.rstrip())),
            "this text has no closing double quote",
            'end it with " on the same line; write \\" for a quote inside a text',
        )
    span = Span.point(source.path, line + offset, max(col, 1), width)
    wanted = describe_expected(expected) if expected else "something else"
    what = _found_words(exc, found)
    message = f"expected {wanted}, found {what}"
    if not found and "COLON" in expected:
        # `on keyword "hi"` + Enter: the colon is by far the likeliest miss.
        message = 'expected ":" at the end of this line'
    # issue 12: A: where only a duration fits, it is a bad duration (as the docs say).
    code = (
        Code.BAD_DURATION if "DURATION" in expected and not _has_keyword(expected) else Code.SYNTAX
    )
    return error(code, span, message, _hint(expected, found, chunk, exc))


def glued_diagnostic(
    source: SourceFile, chunk: str, offset: int, keyword: Token, token: Token
) -> Diagnostic:
    """issue 12: A. `gotoo`, `gotomenu`: the whole word, and what it was meant to be."""
    word = f"{keyword}{token}"
    close = difflib.get_close_matches(word.lower(), sorted(_all_keywords()), n=1, cutoff=0.75)
    hint = (
        f'did you mean "{close[0]}"?'
        if close
        else f'did you mean "{keyword} {token}"? a keyword is followed by a space'
    )
    return error(
        Code.SYNTAX,
        Span.point(
            source.path, (keyword.line or 1) + offset, keyword.column or 1, max(len(word), 1)
        ),
        f'"{word}" is not a word of the flow language',
        hint,
    )


def _indent_finding(
    source: SourceFile, chunk: str, offset: int, exc: IndentationError_
) -> Diagnostic:
    """A line deeper than the line above allows, where the line above is the slip:

        split 50%:
            tag "a"
        send "Hi!"            <- dedented one level (still valid on its own)
                quick "Yes" -> yes   <- the first line that no longer fits

    Indenting the line above one level more makes the block read past this line,
    so that line is named (one slip, one finding on its line), as for `else:`.
    """
    slip = slips.line_above_at_wrong_depth(chunk, exc.line, _first_error_line)
    if exc.over_indented and slip is not None:
        span = Span.point(source.path, slip.line + offset, slip.col, slip.width)
        return error(slip.code, span, slip.message, slip.hint)
    span = Span.point(source.path, exc.line + offset, exc.col)
    return error(Code.BAD_INDENT, span, exc.message, exc.hint)


def _first_error_line(chunk: str) -> int | None:
    """issue 12: A. The line of a block's first error, None if it parses: to try a fix."""
    try:
        parser().parse(chunk)
    except IndentationError_ as exc:
        return exc.line
    except GluedWord as exc:
        return exc.token.line or 1
    except UnexpectedInput as exc:
        return exc.line if exc.line and exc.line > 0 else chunk.count("\n")
    except LarkError:
        return 1
    return None


def _line_end(chunk: str, token: Token) -> tuple[int, int]:
    """Where a layout token really is: INDENT points at the indented line."""
    if token.type == "_INDENT":
        end_line = token.end_line or token.line or 1
        return end_line, len(str(token)) + 1
    line = token.line or 1
    lines = chunk.split("\n")
    text = lines[line - 1] if line - 1 < len(lines) else ""
    return line, len(text.rstrip()) + 1


def _found_words(exc: UnexpectedInput, found: str) -> str:
    if isinstance(exc, UnexpectedToken):
        kind = exc.token.type
        if kind == "_INDENT":
            return "an indented line"
        if kind in ("_NL", "_DEDENT", "$END"):
            return "the end of the line"
    if not found:
        return "the end of the file"
    return f'"{found}"' if not found.startswith('"') else found


def _hint(expected: set[str], found: str, chunk: str, exc: UnexpectedInput) -> str | None:
    if hint := _condition_hint(expected, found, chunk, exc):  # issue 12: D
        return hint
    keywords = sorted(k for k in (_keyword(name) for name in expected) if k)
    if found and WORD.fullmatch(found) and keywords:
        close = difflib.get_close_matches(found.lower(), keywords, n=1, cutoff=0.5)
        if close:
            return f'did you mean "{close[0]}"?'
    if found.startswith('"') and found.count('"') == 1 and "STRING" in expected:
        return "this text has no closing double quote"
    if hint := _glued_or_listed_hint(expected, found, chunk, exc):
        return hint
    if "NUMBER" in expected and found and WORD.fullmatch(found):
        return f'write the number in digits, such as 8 (not "{found}")'
    if "STRING" in expected and found and WORD.fullmatch(found):
        return f'texts go between double quotes: "{found}"'
    if hint := _between_words_hint(expected, found, chunk, exc):  # issue 12: A
        return hint
    if expected == {"QUICK"}:
        return 'only quick replies (quick "Title" -> step) are indented under a send'
    if "DURATION" in expected:
        return "write a number and a unit, such as 20h, 3d, 1h30m or 45m"
    if "_INDENT" in expected and not found:
        # issue 12: A: only where the block has no indented line; a line that is
        # indented already gets no indentation hint (slips.py names its depth).
        return "indent the lines of this block by 4 spaces"
    if isinstance(exc, UnexpectedToken) and exc.token.type == "_INDENT":
        return "only the lines of a block (after a line ending in ':') are indented"
    if "COLON" in expected:
        return 'a line that opens a block ends with ":"'
    return None


def _glued_or_listed_hint(
    expected: set[str], found: str, chunk: str, exc: UnexpectedInput
) -> str | None:
    """`as datetime` (a keyword with letters glued on, read as `date` + `time`) and
    `every monday and friday` (a list written with "and" where commas go)."""
    pos = exc.token.start_pos if isinstance(exc, UnexpectedToken) else exc.pos_in_stream
    history = getattr(exc, "token_history", None) or []
    last = history[-1] if history else None
    if not found or pos is None or last is None:
        return None
    if last.end_pos == pos and str(last)[-1:].isalpha() and found[0].isalpha():
        return f'"{last}{found}" is not a word of the flow language; did you mean "{last}"?'
    if found.lower() in ("and", "&") and "COMMA" in expected:
        return f"list them with commas: {last}, ..."
    return None


def _between_words_hint(
    expected: set[str], found: str, chunk: str, exc: UnexpectedInput
) -> str | None:
    """issue 12: A. A quote inside a text, a name with a space, texts without a comma."""
    pos = exc.token.start_pos if isinstance(exc, UnexpectedToken) else exc.pos_in_stream
    if not found or pos is None or pos < 1:
        return None
    history = getattr(exc, "token_history", None) or []
    last = history[-1] if history else None
    if chunk[pos - 1] == '"' and WORD.match(found):
        return 'a text ends at the second "; write \\" for a quote inside a text'
    if last is not None and last.type == "NAME" and WORD.fullmatch(found):
        return f"a name is one word, without spaces: {last}_{found}"
    if last is not None and last.type == "STRING" and found.startswith('"') and "COMMA" in expected:
        return f"separate the texts with a comma: {last}, {found}"
    return None


# issue 12: D. What people bring from other languages into a condition.
COMPARE_SLIPS = frozenset(["=", "=>", "=<", "<>", "is", "equals", "eq"])
LOGIC_SLIPS = {"&": "and", "&&": "and", "|": "or", "||": "or", "!": "not"}


def _condition_hint(expected: set[str], found: str, chunk: str, exc: UnexpectedInput) -> str | None:
    """`guests => 8`, `a && b`, `else if`: the spelling this language uses instead."""
    lines = chunk.split("\n")
    line = lines[(exc.line or 1) - 1] if 0 < (exc.line or 1) <= len(lines) else ""
    ops = {_terminal_words().get(name) for name in expected}
    if found.lower() in COMPARE_SLIPS and '"=="' in ops:
        if found == "=" and "=>" not in line and "=<" not in line:
            return 'compare with "==" (two equal signs); one "=" is for set'
        return 'compare with ==, !=, >, >=, < or <= (">=", not "=>")'
    if found in LOGIC_SLIPS:
        slip = found * 2 if found * 2 in line and found != "!" else found
        return f'write "{LOGIC_SLIPS[found]}" instead of "{slip}"'
    if found in ("else", "if") and line.split()[:2] == ["else", "if"]:
        return 'write "elif" for "else if"'
    return None
