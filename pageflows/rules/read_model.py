"""The model of a common, well-formed block, read straight from its tokens: no syntax tree.

Why (issue 13: A): for `pageflows check` of 10,000 triggers the hand-written
reader (read_block.py) made about 115,000 Lark `Tree`s with their positions
and 70,000 `Token`s, which build.py then walked once to make the model and
dropped: a third of reading and building. The blocks a busy Page has most
(keyword and ref triggers, steps; `send` with quick replies, `tag`, `untag`,
`set`, `goto`) are made here into the nodes build.py would make of their tree,
from the same lexed pieces, in one pass.

It only ever answers for a block build.py would build without a finding:
whenever it meets another form of the language, or a value build.py would
report (an unknown escape, a bad template, an empty keyword, a bad field name
or ref), it gives the block back and parse.py reads it as before (the reader's
tree, or Lark), so every finding and its wording stay build.py's and Lark's.
Its grammar is the reader's (it is a subclass: the same decisions on every
token), which is Lark's for what it reads.

How it stays the same (tests/unit/test_read_model.py, tests/conftest.py):
every block the test suite reads, and generated flows (hypothesis), are also
built from Lark's tree by build.py and compared node by node (`differences`):
class, fields and their order, fields given, values and their exact types.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from pydantic import BaseModel

from pageflows.rules import model as m
from pageflows.rules import values
from pageflows.rules.read_block import NAME, NotSure, Piece, _give_up, _pieces, _Reader
from pageflows.rules.source import Span
from pageflows.rules.trusted import (
    BLOCK_FIELDS,
    GOTO_FIELDS,
    KEYWORD_FIELDS,
    NAME_FIELDS,
    QUICK_FIELDS,
    REF_FIELDS,
    SEND_FIELDS,
    SET_FIELDS,
    SPAN_FIELDS,
    STEP_FIELDS,
    TARGET_FIELDS,
    TARGET_IN_FLOW_FIELDS,
    TEXT_FIELDS,
    trusted,
)

_SOURCES = {"ads": "ads", "link": "link", "qr": "qr", "chat": "chat_plugin"}

_new_span = tuple.__new__

# A text's parts (`parse_template`) by its text: the same quick reply titles and
# messages come back throughout a Page's flows, and the parts hold no position,
# only frozen values, so one tuple of them serves every equal text. Bounded, so a
# long-lived process that reloads its flows keeps no more than this many; emptied
# when a load ends (`one_load`). Most repeated texts repeat early: the first ones kept.
_TEMPLATES: dict[str, tuple[m.TemplatePart, ...]] = {}
MAX_TEMPLATES = 4096


@contextmanager
def one_load() -> Iterator[None]:
    """The texts' parts are shared within one load of flows, not kept from one to the next.

    Why (issue 13: A): kept, a load found the parts of the texts an earlier load
    read (the benchmark's 1,000 triggers after its 10,000: a twentieth of its
    reading saved, so the ratio of the two sizes said more than the work), and a
    long-lived process held up to 4,096 texts' parts of flows it no longer runs.
    """
    _TEMPLATES.clear()
    try:
        yield
    finally:
        _TEMPLATES.clear()


TopNode = m.TriggerBlock | m.Step


def read(chunk: str, path: str, offset: int) -> tuple[TopNode, ...] | None:
    """The block's model nodes as build.py makes them of its tree, or None: read it as before.

    ``offset`` is the block's first line in the file (0-based), as `Block.line_offset`.
    """
    try:
        return _Maker(_pieces(chunk), path, offset).make_blocks()
    except (NotSure, IndexError, RecursionError):
        return None


class _Maker(_Reader):
    """The reader's descent over the pieces, making model nodes where it made trees."""

    def __init__(self, pieces: list[Piece], path: str, offset: int) -> None:
        super().__init__(pieces)
        self.path = path
        self.offset = offset

    # ------------------------------------------------------------ positions

    def span_from(self, first: int) -> Span:
        """A node's span: its first to its last piece (Lark's node positions), as build.py."""
        start = self.pieces[first]
        end = self.pieces[self.at - 1]
        offset = self.offset
        return _new_span(Span, (self.path, start[3] + offset, start[4], end[5] + offset, end[6]))

    def piece_span(self, piece: Piece) -> Span:
        """A token's span, as build.py makes it of the token."""
        offset = self.offset
        line, end_line = piece[3] + offset, piece[5] + offset
        return _new_span(Span, (self.path, line, piece[4], end_line, piece[6]))

    # ------------------------------------------------------------ values

    def string_piece(self) -> Piece:
        piece = self.pieces[self.at]
        if piece[0] != "STRING":
            _give_up()
        self.at += 1
        return piece

    def unquoted(self, piece: Piece) -> str:
        """A STRING's text; a string build.py would report is left to it."""
        text, problem = values.unquote(piece[1])
        if problem:
            _give_up()
        return text

    def text_of(self, piece: Piece) -> m.Text:
        raw = self.unquoted(piece)
        parts = _TEMPLATES.get(raw)
        if parts is None:
            parts, problem = values.parse_template(raw)
            if problem:
                _give_up()
            # Full: the texts met so far are kept and a new one is not (issue 13: A:
            # emptied when full, 100,000 triggers with ~5,600 distinct texts read 16,000
            # texts' parts instead of ~5,600, the memo emptied and filled again and again).
            if len(_TEMPLATES) < MAX_TEMPLATES:
                _TEMPLATES[raw] = parts
        return trusted(
            m.Text, {"span": self.piece_span(piece), "raw": raw, "parts": parts}, TEXT_FIELDS
        )

    def name_piece(self) -> Piece:
        piece = self.pieces[self.at]
        if piece[0] != "WORD" or not NAME.fullmatch(piece[1]):
            _give_up()
        self.at += 1
        return piece

    # ------------------------------------------------------------ file

    def make_blocks(self) -> tuple[TopNode, ...]:
        if self.kind() == "NL":
            self.at += 1
        items: list[TopNode] = []
        while self.kind() != "END":
            word = self.word()
            if word == "on":
                items.append(self.make_trigger_block())
            elif word == "step":
                items.append(self.make_step())
            else:
                _give_up()
        if not items:
            _give_up()
        return tuple(items)

    def make_trigger_block(self) -> m.TriggerBlock:
        first = self.at
        self.at += 1  # on
        trigger = self.make_trigger()
        self.skip("PUNCT", ":")
        body = self.make_body()
        block = {"span": self.span_from(first), "trigger": trigger, "body": body}
        return trusted(m.TriggerBlock, block, BLOCK_FIELDS)

    def make_trigger(self) -> m.Trigger:
        first = self.at
        word = self.word()
        self.at += 1
        if word == "keyword":
            pieces = [self.string_piece()]
            while self.punct() == ",":
                self.at += 1
                pieces.append(self.string_piece())
            phrases = tuple(self.unquoted(piece) for piece in pieces)
            for phrase in phrases:
                if not phrase.strip():
                    _give_up()  # build.py reports an empty keyword
            mode = self.word()
            if mode in ("exact", "contains", "starts"):
                self.at += 1
            else:
                mode = "contains"
            keyword = {"span": self.span_from(first), "kind": "keyword", "phrases": phrases}
            keyword["mode"] = mode
            return trusted(m.KeywordTrigger, keyword, KEYWORD_FIELDS)
        if word == "ref":
            if self.word() == "missing":
                self.at += 1
                missing = {"span": self.span_from(first), "kind": "ref_missing"}
                return trusted(m.RefMissingTrigger, missing, SPAN_FIELDS)
            ref = self.unquoted(self.string_piece())
            if values.ref_problem(ref):
                _give_up()
            source = None
            if self.word() == "from":
                self.at += 1
                source = _SOURCES.get(self.word() or "")
                if source is None:
                    _give_up()
                self.at += 1
                if source == "chat_plugin":
                    self.skip("WORD", "plugin")
            ref_trigger: dict[str, Any] = {"span": self.span_from(first), "kind": "ref"}
            ref_trigger["ref"], ref_trigger["source"] = ref, source
            return trusted(m.RefTrigger, ref_trigger, REF_FIELDS)
        if word == "message":
            message = {"span": self.span_from(first), "kind": "message"}
            return trusted(m.MessageTrigger, message, SPAN_FIELDS)
        _give_up()

    def make_step(self) -> m.Step:
        self.at += 1  # step
        name = self.name_piece()
        self.skip("PUNCT", ":")
        step = {"span": self.piece_span(name), "name": name[1], "body": self.make_body()}
        return trusted(m.Step, step, STEP_FIELDS)

    # ------------------------------------------------------------ actions

    def make_body(self) -> tuple[m.Action, ...]:
        self.layout("NL")
        self.layout("INDENT")
        actions = [self.make_action()]
        while self.kind() != "DEDENT":
            actions.append(self.make_action())
        self.at += 1
        return tuple(actions)

    def make_action(self) -> m.Action:
        word = self.word()
        if word == "send":
            return self.make_send()
        reaction: m.AddTag | m.RemoveTag | m.SetField
        if word == "tag" or word == "untag":
            reaction = self.make_tag_op(word)
        elif word == "set":
            reaction = self.make_set_op()
        elif word == "goto":
            first = self.at
            self.at += 1
            target = self.make_target()
            self.layout("NL")
            goto = {"span": self.span_from(first), "kind": "goto", "target": target}
            return trusted(m.Goto, goto, GOTO_FIELDS)
        else:
            _give_up()
        self.layout("NL")
        return cast(m.Action, reaction)

    def make_send(self) -> m.SendText:
        first = self.at
        self.at += 1
        text = self.text_of(self.string_piece())
        self.layout("NL")
        quick: tuple[m.QuickReply, ...] = ()
        if self.kind() == "INDENT":
            self.at += 1
            replies = [self.make_quick()]
            while self.kind() != "DEDENT":
                replies.append(self.make_quick())
            self.at += 1
            quick = tuple(replies)
        send = {"span": self.span_from(first), "kind": "send", "text": text}
        send["quick_replies"] = quick
        return trusted(m.SendText, send, SEND_FIELDS)

    def make_quick(self) -> m.QuickReply:
        self.skip("WORD", "quick")
        title = self.string_piece()
        self.skip("PUNCT", "->")
        title_text = self.text_of(title)  # issue 12: B: titles are templates
        reaction = self.make_reaction()
        self.layout("NL")
        quick = {
            "span": title_text.span,
            "title": title_text.raw,
            "reaction": reaction,
            "title_text": title_text,
        }
        return trusted(m.QuickReply, quick, QUICK_FIELDS)

    def make_reaction(self) -> m.Reaction:
        word = self.word()
        if word == "tag" or word == "untag":
            return self.make_tag_op(word)
        if word == "set":
            return self.make_set_op()
        first = self.at
        target = self.make_target()
        goto = {"span": self.span_from(first), "kind": "goto", "target": target}
        return trusted(m.Goto, goto, GOTO_FIELDS)

    def make_target(self) -> m.Target:
        first = self.at
        step = self.name_piece()[1]
        if self.punct() == ".":
            self.at += 1
            flow, step = step, self.name_piece()[1]
            in_flow = {"span": self.span_from(first), "flow": flow, "step": step}
            return trusted(m.Target, in_flow, TARGET_IN_FLOW_FIELDS)
        here: dict[str, Any] = {"span": self.span_from(first), "flow": None, "step": step}
        return trusted(m.Target, here, TARGET_FIELDS)

    def make_tag_op(self, word: str) -> m.AddTag | m.RemoveTag:
        first = self.at
        self.at += 1
        name = self.unquoted(self.string_piece())
        if word == "tag":
            tag = {"span": self.span_from(first), "kind": "tag", "name": name}
            return trusted(m.AddTag, tag, NAME_FIELDS)
        untag = {"span": self.span_from(first), "kind": "untag", "name": name}
        return trusted(m.RemoveTag, untag, NAME_FIELDS)

    def make_set_op(self) -> m.SetField:
        first = self.at
        self.at += 1
        field = self.name_piece()[1]
        if values.field_problem(field):
            _give_up()
        self.skip("PUNCT", "=")
        value = self.text_of(self.string_piece())
        set_field = {"span": self.span_from(first), "kind": "set", "field": field, "value": value}
        return trusted(m.SetField, set_field, SET_FIELDS)


def differences(ours: object, theirs: object, where: str = "") -> list[str]:
    """Where two models differ: class, fields and their order, fields given, extra and
    private values, and every value with its exact type (a loop, not recursion)."""
    found: list[str] = []
    pending: list[tuple[Any, Any, str]] = [(ours, theirs, where)]
    while pending:
        mine, other, at = pending.pop()
        if type(mine) is not type(other):
            found.append(f"{at}: {type(mine).__name__}, the tree's {type(other).__name__}")
        elif isinstance(mine, BaseModel):
            if list(mine.__dict__) != list(other.__dict__):
                found.append(
                    f"{at}: fields {list(mine.__dict__)}, the tree's {list(other.__dict__)}"
                )
                continue
            if mine.model_fields_set != other.model_fields_set:
                given = (mine.model_fields_set, other.model_fields_set)
                found.append(f"{at}: given {given[0]}, the tree's {given[1]}")
            if mine.__pydantic_extra__ != other.__pydantic_extra__:
                found.append(f"{at}: extra values differ")
            if mine.__pydantic_private__ != other.__pydantic_private__:
                found.append(f"{at}: private values differ")
            pending += [(v, other.__dict__[k], f"{at}.{k}") for k, v in mine.__dict__.items()]
        elif isinstance(mine, tuple | list) and not isinstance(mine, str):
            if len(mine) != len(other):
                found.append(f"{at}: {len(mine)} items, the tree's {len(other)}")
                continue
            if isinstance(mine, Span) and mine != other:
                found.append(f"{at}: {mine!r}, the tree's {other!r}")
                continue
            pairs = enumerate(zip(mine, other, strict=True))
            pending += [(a, b, f"{at}[{n}]") for n, (a, b) in pairs]
        elif mine != other:
            found.append(f"{at}: {mine!r}, the tree's {other!r}")
    return found
