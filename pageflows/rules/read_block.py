"""A hand-written reader for well-formed blocks: Lark's own trees, about five times faster.

Why: `pageflows check` of 10,000 triggers spent most of its time in Lark's LALR
parser (issue 13: A): a parse in pure Python, token by token through generic
tables. This reader knows the language (grammar.lark) and builds, for a block
it is sure of, the very trees Lark builds: the same rule names, children,
tokens (type, text, positions) and positions of every node (`meta`, with
Lark's `propagate_positions` rules), so build.py cannot tell them apart.

Lark stays the reference and the only judge of mistakes: whenever this reader
is not sure (a word it does not expect, tabs, an indentation slip, anything
unusual), it gives up and parse.py hands the block to Lark, which parses it or
explains what is wrong in a marketer's words. So it needs no error messages,
and a gap in it costs time, never a different answer.

How it stays the same as Lark (tests/unit/test_read_block.py): `differences`
compares two trees field by field; the test suite reads every block it parses
both ways (tests/conftest.py), generated flows and the examples too.

The tokens are Lark's contextual lexer's: a word is a keyword where the
grammar accepts that keyword, else a NAME where a NAME fits (Lark's lexer
types a NAME as a keyword only where both fit); numbers, durations and counts
are matched with the grammar's own patterns. Layout (_NL, _INDENT, _DEDENT)
is made as parse.FlowIndenter makes it.
"""

from __future__ import annotations

import re

from lark import Token, Tree
from lark.tree import Meta

# issue 13: A: the lexer lives in lexer.py (nothing but `re` imported), so that
# `pageflows check` can fork a child lexing the flows before it imports the rest.
from pageflows.rules.lexer import AHEAD as AHEAD
from pageflows.rules.lexer import INDENT_STEP as INDENT_STEP
from pageflows.rules.lexer import MAX_DEPTH as MAX_DEPTH
from pageflows.rules.lexer import NotSure as NotSure
from pageflows.rules.lexer import Piece as Piece
from pageflows.rules.lexer import _give_up as _give_up
from pageflows.rules.lexer import lex as lex

# Conditions nested deeper than this (`not not ...`, `((...))`) are left to Lark,
# whose parser keeps no Python stack: this reader recurses.
MAX_CONDITION_DEPTH = 64

# The words of the language, and those a top-level block starts with: the same
# sets parse.py reads from the grammar (a test compares them), here without
# building Lark's parser, which `check` no longer needs for a clean file.
TOP_LEVEL_WORDS = frozenset({"on", "step", "broadcast"})
KEYWORDS = frozenset(
    [
        "ads", "after", "and", "answer", "as", "ask", "at", "attachment", "audio", "before",
        "broadcast", "button", "buttons", "by", "call", "cancel", "card", "cards", "chat",
        "closing", "comment", "containing", "contains", "continue", "daily", "date", "elif",
        "else", "email", "every", "everyone", "exact", "file", "first", "for", "frequency",
        "from", "get", "goto", "handoff", "if", "image", "in", "into", "invalid", "keyword",
        "language", "link", "location", "message", "missing", "monthly", "no", "not",
        "notification", "notifications", "notify", "number", "of", "on", "optin", "or",
        "phone", "plugin", "post", "postback", "private", "qr", "quick", "ref", "regex",
        "replied", "reply", "request", "retries", "send", "set", "split", "started", "starts",
        "step", "stop", "subscribers", "subtitle", "tag", "tagged", "template", "text", "time",
        "title", "to", "typing", "unless", "untag", "url", "via", "video", "weekly", "window",
        "with",
    ]
)  # fmt: skip

# Lark's names for the keyword and operator tokens kept in trees (`!rule`s);
# the others are the word in capitals. A test compares them with the grammar's.
KEPT_TYPES = {
    "number": "__ANON_3",
    "==": "__ANON_4",
    "!=": "__ANON_5",
    ">=": "__ANON_6",
    "<=": "__ANON_7",
    "<": "LESSTHAN",
    ">": "MORETHAN",
}

# The grammar's token patterns (grammar.lark), matched on a whole lexed piece.
NAME = re.compile(r"[^\W\d](?:[\w-]*\w)?")
DURATION = re.compile(r"\d[0-9A-Za-z]*")
PERCENT = re.compile(r"\d+(\.\d+)?%")
NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
COUNT = re.compile(r"\d+")
COMPARE_OPS = frozenset(["==", "!=", ">", ">=", "<", "<="])


# issue 13: A: what Token(...) calls once it has looked for the deprecated `type_`
# keyword (a third of the time of making one of the 70,000 tokens at 10,000
# triggers); Token itself if a Lark release no longer has it.
_make_token = getattr(Token, "_future_new", Token)


def read(chunk: str) -> Tree[Token] | None:
    """The block's syntax tree as Lark's parser gives it, or None: let Lark read it."""
    try:
        return _Reader(_pieces(chunk)).start()
    except (NotSure, IndexError, RecursionError):
        return None


def _pieces(chunk: str) -> list[Piece]:
    """The block's tokens with the layout tokens added, as FlowIndenter adds them."""
    if AHEAD:
        ahead = AHEAD.pop(chunk, None)  # freed once read (read again: lexed here)
        if ahead is not None:
            return ahead
    return lex(chunk)


class _Reader:
    """Recursive descent over grammar.lark, one method per rule, same tree shapes."""

    def __init__(self, pieces: list[Piece]) -> None:
        self.pieces = pieces
        self.at = 0
        self.depth = 0  # conditions inside `not` or parentheses

    # ------------------------------------------------------------ pieces

    def kind(self) -> str:
        return self.pieces[self.at][0]

    def word(self) -> str | None:
        """The word here, or None if the next piece is not a word."""
        piece = self.pieces[self.at]
        return piece[1] if piece[0] == "WORD" else None

    def punct(self) -> str | None:
        piece = self.pieces[self.at]
        return piece[1] if piece[0] == "PUNCT" else None

    def skip(self, kind: str, text: str) -> None:
        """A keyword or a sign that Lark's tree leaves out."""
        piece = self.pieces[self.at]
        if piece[0] != kind or piece[1] != text:
            _give_up()
        self.at += 1

    def layout(self, kind: str) -> None:
        if self.pieces[self.at][0] != kind:
            _give_up()
        self.at += 1

    def token(self, kind: str, lark_type: str) -> Token:
        piece = self.pieces[self.at]
        if piece[0] != kind:
            _give_up()
        self.at += 1
        _, text, start, line, column, end_line, end_column, end = piece
        return _make_token(lark_type, text, start, line, column, end_line, end_column, end)

    def string(self) -> Token:
        return self.token("STRING", "STRING")

    def name(self) -> Token:
        piece = self.pieces[self.at]
        if piece[0] != "WORD" or not NAME.fullmatch(piece[1]):
            _give_up()
        return self.token("WORD", "NAME")

    def matching(self, lark_type: str, pattern: re.Pattern[str]) -> Token:
        piece = self.pieces[self.at]
        if piece[0] != "NUM" or not pattern.fullmatch(piece[1]):
            _give_up()
        return self.token("NUM", lark_type)

    def kept(self, rule: str, *words: str) -> Tree[Token]:
        """A `!rule` of keywords (`!keyword_mode`...): its tokens stay in the tree."""
        first = self.at
        tokens = [self.kept_word(word) for word in words]
        return self.tree(rule, tokens, first)  # type: ignore[arg-type]

    def kept_word(self, word: str) -> Token:
        piece = self.pieces[self.at]
        if piece[1] != word or piece[0] not in ("WORD", "PUNCT"):
            _give_up()
        return self.token(piece[0], KEPT_TYPES.get(word) or word.upper())

    def tree(self, rule: str, children: list[Tree[Token] | Token], first: int) -> Tree[Token]:
        """A node whose positions are those of the first and last piece it took (Lark's rule)."""
        start = self.pieces[first]
        end = self.pieces[self.at - 1]
        meta = Meta.__new__(Meta)
        meta.__dict__ = {
            "empty": False,
            "line": start[3],
            "column": start[4],
            "start_pos": start[2],
            "container_line": start[3],
            "container_column": start[4],
            "container_start_pos": start[2],
            "end_line": end[5],
            "end_column": end[6],
            "end_pos": end[7],
            "container_end_line": end[5],
            "container_end_column": end[6],
            "container_end_pos": end[7],
        }
        return Tree(rule, children, meta)

    # ------------------------------------------------------------ file

    def start(self) -> Tree[Token]:
        if self.kind() == "NL":
            self.at += 1
        items: list[Tree[Token] | Token] = []
        while self.kind() != "END":
            word = self.word()
            if word == "on":
                items.append(self.trigger_block())
            elif word == "step":
                items.append(self.step_block())
            elif word == "broadcast":
                items.append(self.broadcast_block())
            else:
                _give_up()
        if self.at == 0:
            _give_up()  # nothing at all: parse.py never asks for that
        return self.tree("start", items, 0)

    # ------------------------------------------------------------ triggers

    def trigger_block(self) -> Tree[Token]:
        first = self.at
        self.skip("WORD", "on")
        trigger = self.trigger()
        self.skip("PUNCT", ":")
        return self.tree("trigger_block", [trigger, self.body()], first)

    def trigger(self) -> Tree[Token]:
        first = self.at
        word = self.word()
        self.at += 1
        children: list[Tree[Token] | Token] = []
        if word == "keyword":
            children.append(self.string_list())
            mode = self.word()
            if mode in ("exact", "contains", "starts"):
                children.append(self.kept("keyword_mode", mode))
            return self.tree("t_keyword", children, first)
        if word == "regex":
            return self.tree("t_regex", [self.token("REGEX", "REGEX")], first)
        if word == "ref":
            if self.word() == "missing":
                self.at += 1
                return self.tree("t_ref_missing", [], first)
            children.append(self.string())
            if self.word() == "from":
                children.append(self.ref_source())
            return self.tree("t_ref", children, first)
        if word == "comment":
            if self.word() == "on":
                post = self.at
                self.at += 1
                self.skip("WORD", "post")
                children.append(self.tree("comment_post", [self.string()], post))
            if self.word() == "containing":
                containing = self.at
                self.at += 1
                children.append(self.tree("comment_containing", [self.string_list()], containing))
            return self.tree("t_comment", children, first)
        if word in ("postback", "optin"):
            return self.tree(f"t_{word}", [self.string()], first)
        if word in ("get", "first"):
            self.skip("WORD", "started" if word == "get" else "message")
            return self.tree("t_get_started" if word == "get" else "t_first_message", [], first)
        if word == "message":
            return self.tree("t_message", [], first)
        if word == "attachment":
            kind = self.word()
            if kind not in ("image", "audio", "video", "file", "location"):
                _give_up()
            return self.tree("t_attachment", [self.kept("attachment_kind", kind)], first)
        if word == "window":
            self.skip("WORD", "closing")
            self.skip("WORD", "in")
            return self.tree("t_window_closing", [self.matching("DURATION", DURATION)], first)
        _give_up()

    def ref_source(self) -> Tree[Token]:
        first = self.at
        self.skip("WORD", "from")
        source = self.word()
        if source in ("ads", "link", "qr"):
            kind = self.kept("source_kind", source)
        elif source == "chat":
            kind = self.kept("source_kind", "chat", "plugin")
        else:
            _give_up()
        return self.tree("ref_source", [kind], first)

    def string_list(self) -> Tree[Token]:
        first = self.at
        strings: list[Tree[Token] | Token] = [self.string()]
        while self.punct() == ",":
            self.at += 1
            strings.append(self.string())
        return self.tree("string_list", strings, first)

    # ------------------------------------------------------------ steps, broadcasts

    def step_block(self) -> Tree[Token]:
        first = self.at
        self.skip("WORD", "step")
        name = self.name()
        self.skip("PUNCT", ":")
        return self.tree("step_block", [name, self.body()], first)

    def broadcast_block(self) -> Tree[Token]:
        first = self.at
        self.skip("WORD", "broadcast")
        children: list[Tree[Token] | Token] = [self.name()]
        self.skip("WORD", "to")
        children.append(self.audience())
        if self.word() == "every":
            every = self.at
            self.at += 1
            days: list[Tree[Token] | Token] = [self.name()]
            while self.punct() == ",":
                self.at += 1
                days.append(self.name())
            children.append(self.tree("broadcast_every", days, every))
        self.skip("WORD", "at")
        children.append(self.string())
        self.skip("WORD", "in")
        children.append(self.string())
        if self.word() == "with":
            tag = self.at
            self.at += 1
            self.skip("WORD", "tag")
            children.append(self.tree("broadcast_tag", [self.name()], tag))
        self.skip("PUNCT", ":")
        children.append(self.body())
        return self.tree("broadcast_block", children, first)

    def audience(self) -> Tree[Token]:
        first = self.at
        word = self.word()
        self.at += 1
        if word == "subscribers":
            self.skip("WORD", "of")
            return self.tree("a_subscribers", [self.string()], first)
        if word == "tagged":
            return self.tree("a_tagged", [self.string()], first)
        if word == "everyone":
            return self.tree("a_everyone", [], first)
        _give_up()

    # ------------------------------------------------------------ blocks

    def body(self) -> Tree[Token]:
        first = self.at
        self.layout("NL")
        self.layout("INDENT")
        actions: list[Tree[Token] | Token] = [self.action()]
        while self.kind() != "DEDENT":
            actions.append(self.action())
        self.at += 1
        return self.tree("body", actions, first)

    def indented(self, item: str) -> list[Tree[Token] | Token]:
        """`_INDENT item+ _DEDENT`: the lines of a block of quick replies, buttons..."""
        self.layout("INDENT")
        read = getattr(self, item)
        items: list[Tree[Token] | Token] = [read()]
        while self.kind() != "DEDENT":
            items.append(read())
        self.at += 1
        return items

    def opens_block(self) -> None:
        """`":" _NL`: the end of a line that opens a block of its own lines."""
        self.skip("PUNCT", ":")
        self.layout("NL")

    # ------------------------------------------------------------ actions

    def action(self) -> Tree[Token]:
        word = self.word()
        if word == "send":
            return self.send_any()
        reader = _ACTIONS.get(word or "")
        if reader is None:
            _give_up()
        return reader(self)

    def send_any(self) -> Tree[Token]:
        first = self.at
        self.at += 1
        what = self.word() if self.kind() == "WORD" else None
        if what is None:
            text = self.string()
            self.layout("NL")
            children: list[Tree[Token] | Token] = [text]
            if self.kind() == "INDENT":
                children.append(self.quick_block())
            return self.tree("send", children, first)
        if what == "buttons":
            self.at += 1
            text = self.string()
            self.opens_block()
            return self.tree("send_buttons", [text, *self.indented("button")], first)
        if what == "card":
            self.at += 1
            text = self.string()
            self.opens_block()
            return self.tree("send_card", [text, *self.indented("card_part")], first)
        if what == "cards":
            self.at += 1
            self.opens_block()
            return self.tree("send_cards", self.indented("card"), first)
        if what in ("image", "audio", "video", "file"):
            kind = self.kept("media_kind", what)
            text = self.string()
            self.layout("NL")
            return self.tree("send_media", [kind, text], first)
        if what == "template":
            return self.send_template(first)
        _give_up()

    def send_template(self, first: int) -> Tree[Token]:
        self.at += 1
        children: list[Tree[Token] | Token] = [self.string()]
        if self.word() == "language":
            language = self.at
            self.at += 1
            children.append(self.tree("template_language", [self.string()], language))
        if self.word() == "with":
            params = self.at
            self.at += 1
            values: list[Tree[Token] | Token] = [self.string()]
            while self.punct() == ",":
                self.at += 1
                values.append(self.string())
            children.append(self.tree("template_params", values, params))
        self.layout("NL")
        if self.kind() == "INDENT":
            children.append(self.quick_block())
        return self.tree("send_template", children, first)

    def quick_block(self) -> Tree[Token]:
        first = self.at
        return self.tree("quick_block", self.indented("quick"), first)

    def quick(self) -> Tree[Token]:
        first = self.at
        self.skip("WORD", "quick")
        title = self.string()
        self.skip("PUNCT", "->")
        reaction = self.reaction()
        self.layout("NL")
        return self.tree("quick", [title, reaction], first)

    def reaction(self) -> Tree[Token]:
        word = self.word()
        if word == "tag" or word == "untag":
            return self.tag_op(word)
        if word == "set":
            return self.set_op()
        return self.target()

    def target(self) -> Tree[Token]:
        first = self.at
        names: list[Tree[Token] | Token] = [self.name()]
        if self.punct() == ".":
            self.at += 1
            names.append(self.name())
        return self.tree("target", names, first)

    def tag_op(self, word: str) -> Tree[Token]:
        first = self.at
        self.at += 1
        return self.tree(f"{word}_op", [self.string()], first)

    def set_op(self) -> Tree[Token]:
        first = self.at
        self.at += 1
        name = self.name()
        self.skip("PUNCT", "=")
        return self.tree("set_op", [name, self.string()], first)

    def button(self) -> Tree[Token]:
        first = self.at
        self.skip("WORD", "button")
        title = self.string()
        word = self.word()
        if word in ("url", "call"):
            self.at += 1
            value = self.string()
            self.layout("NL")
            return self.tree(f"button_{word}", [title, value], first)
        self.skip("PUNCT", "->")
        reaction = self.reaction()
        self.layout("NL")
        return self.tree("button_goto", [title, reaction], first)

    def card(self) -> Tree[Token]:
        first = self.at
        self.skip("WORD", "card")
        title = self.string()
        self.opens_block()
        return self.tree("card", [title, *self.indented("card_part")], first)

    def card_part(self) -> Tree[Token]:
        word = self.word()
        if word == "button":
            return self.button()
        if word not in ("subtitle", "image", "link"):
            _give_up()
        return self.one_string_line(f"card_{word}")

    def one_string_line(self, rule: str, *words: str) -> Tree[Token]:
        """`word STRING _NL` (and `private reply STRING _NL`): one text on its line."""
        first = self.at
        self.at += 1
        for word in words:
            self.skip("WORD", word)
        text = self.string()
        self.layout("NL")
        return self.tree(rule, [text], first)

    def simple(self, rule: str) -> Tree[Token]:
        first = self.at
        self.at += 1
        self.layout("NL")
        return self.tree(rule, [], first)

    def tag_action(self) -> Tree[Token]:
        first = self.at
        op = self.tag_op("tag")
        self.layout("NL")
        return self.tree("tag_action", [op], first)

    def untag_action(self) -> Tree[Token]:
        first = self.at
        op = self.tag_op("untag")
        self.layout("NL")
        return self.tree("untag_action", [op], first)

    def set_action(self) -> Tree[Token]:
        first = self.at
        op = self.set_op()
        self.layout("NL")
        return self.tree("set_action", [op], first)

    def goto(self) -> Tree[Token]:
        first = self.at
        self.at += 1
        target = self.target()
        self.layout("NL")
        return self.tree("goto", [target], first)

    def ask(self) -> Tree[Token]:
        first = self.at
        self.at += 1
        children: list[Tree[Token] | Token] = [self.string()]
        self.skip("WORD", "into")
        children.append(self.name())
        if self.word() == "as":
            kind = self.at
            self.at += 1
            word = self.word()
            if word not in ("email", "phone", "number", "text", "date", "time"):
                _give_up()
            children.append(self.tree("ask_kind", [self.kept("ask_type", word)], kind))
        if self.word() == "for":
            children.append(self.duration_after("ask_for"))
        if self.punct() == ":":
            self.opens_block()
            children += self.indented("ask_option")
        else:
            self.layout("NL")
        return self.tree("ask", children, first)

    def duration_after(self, rule: str) -> Tree[Token]:
        """`for DURATION`: the time a question or a handoff waits."""
        first = self.at
        self.at += 1
        return self.tree(rule, [self.matching("DURATION", DURATION)], first)

    def ask_option(self) -> Tree[Token]:
        first = self.at
        word = self.word()
        if word == "invalid":
            return self.one_string_line("ask_invalid")
        if word == "quick":
            self.at += 1
            children: list[Tree[Token] | Token] = [self.string()]
            if self.punct() == "->":
                self.at += 1
                children.append(self.reaction())
            self.layout("NL")
            return self.tree("ask_quick", children, first)
        if word == "retries":
            self.at += 1
            count = self.matching("COUNT", COUNT)
            self.layout("NL")
            return self.tree("ask_retries", [count], first)
        if word == "cancel":
            self.at += 1
            words = self.string_list()
            self.layout("NL")
            return self.tree("ask_cancel", [words], first)
        if word == "if":
            self.at += 1
            self.skip("WORD", "no")
            self.skip("WORD", "answer")
            if self.word() == "continue":
                return self.simple_from("give_up_continue", first)
            self.skip("PUNCT", "->")
            target = self.target()
            self.layout("NL")
            return self.tree("give_up_goto", [target], first)
        _give_up()

    def simple_from(self, rule: str, first: int) -> Tree[Token]:
        self.at += 1
        self.layout("NL")
        return self.tree(rule, [], first)

    def after(self) -> Tree[Token]:
        first = self.at
        if self.pieces[self.at + 1][0] == "FIELD_REF":
            return self.after_date()
        self.at += 1
        children: list[Tree[Token] | Token] = [self.matching("DURATION", DURATION)]
        return self.after_rest("after", children, first)

    def after_date(self) -> Tree[Token]:
        first = self.at
        side = self.word()
        if side not in ("before", "after"):
            _give_up()
        children: list[Tree[Token] | Token] = [self.kept("date_side", side)]
        children.append(self.token("FIELD_REF", "FIELD_REF"))
        self.skip("WORD", "by")
        children.append(self.matching("DURATION", DURATION))
        return self.after_rest("after_date", children, first)

    def after_rest(self, rule: str, children: list[Tree[Token] | Token], first: int) -> Tree[Token]:
        """`at_time? unless_replied? after_channel? ":" body`, shared by both kinds."""
        if self.word() == "at":
            at = self.at
            self.at += 1
            children.append(self.tree("at_time", [self.string()], at))
        if self.word() == "unless":
            unless = self.at
            self.at += 1
            self.skip("WORD", "replied")
            children.append(self.tree("unless_replied", [], unless))
        channel = self.word()
        if channel == "with":
            start = self.at
            self.at += 1
            self.skip("WORD", "tag")
            children.append(self.tree("with_tag", [self.name()], start))
        elif channel == "via":
            start = self.at
            self.at += 1
            self.skip("WORD", "notification")
            children.append(self.tree("via_notification", [self.string()], start))
        self.skip("PUNCT", ":")
        children.append(self.body())
        return self.tree(rule, children, first)

    def if_block(self) -> Tree[Token]:
        first = self.at
        self.at += 1
        children: list[Tree[Token] | Token] = [self.condition()]
        self.skip("PUNCT", ":")
        children.append(self.body())
        while self.word() == "elif":
            elif_first = self.at
            self.at += 1
            condition = self.condition()
            self.skip("PUNCT", ":")
            children.append(self.tree("elif_block", [condition, self.body()], elif_first))
        self.else_block(children)
        return self.tree("if_block", children, first)

    def else_block(self, children: list[Tree[Token] | Token]) -> None:
        if self.word() == "else":
            first = self.at
            self.at += 1
            self.skip("PUNCT", ":")
            children.append(self.tree("else_block", [self.body()], first))

    def unless_block(self) -> Tree[Token]:
        first = self.at
        self.at += 1
        children: list[Tree[Token] | Token] = [self.condition()]
        self.skip("PUNCT", ":")
        children.append(self.body())
        self.else_block(children)
        return self.tree("unless_block", children, first)

    def split_block(self) -> Tree[Token]:
        first = self.at
        self.at += 1
        children: list[Tree[Token] | Token] = [self.matching("PERCENT", PERCENT)]
        self.skip("PUNCT", ":")
        children.append(self.body())
        self.else_block(children)
        return self.tree("split_block", children, first)

    def request_notifications(self) -> Tree[Token]:
        first = self.at
        self.at += 1
        self.skip("WORD", "notifications")
        children: list[Tree[Token] | Token] = [self.string()]
        self.skip("WORD", "title")
        children.append(self.string())
        if self.word() == "frequency":
            start = self.at
            self.at += 1
            kind = self.word()
            if kind not in ("daily", "weekly", "monthly"):
                _give_up()
            children.append(self.tree("frequency", [self.kept("frequency_kind", kind)], start))
        self.layout("NL")
        return self.tree("request_notifications", children, first)

    def handoff(self) -> Tree[Token]:
        first = self.at
        self.at += 1
        children: list[Tree[Token] | Token] = []
        if self.kind() == "STRING":
            children.append(self.string())
        if self.word() == "for":
            children.append(self.duration_after("handoff_for"))
        self.layout("NL")
        return self.tree("handoff", children, first)

    def notify(self) -> Tree[Token]:
        return self.one_string_line("notify")

    def private_reply(self) -> Tree[Token]:
        return self.one_string_line("private_reply", "reply")

    def stop(self) -> Tree[Token]:
        return self.simple("stop")

    def typing(self) -> Tree[Token]:
        first = self.at
        self.at += 1
        children: list[Tree[Token] | Token] = []
        if self.kind() == "NUM":
            children.append(self.matching("DURATION", DURATION))
        self.layout("NL")
        return self.tree("typing", children, first)

    # ------------------------------------------------------------ conditions

    def condition(self) -> Tree[Token]:
        """`or` binds looser than `and`, `and` looser than `not`; both group to the left."""
        first = self.at
        left = self.cond_and()
        while self.word() == "or":
            self.at += 1
            left = self.tree("c_or", [left, self.cond_and()], first)
        return left

    def cond_and(self) -> Tree[Token]:
        first = self.at
        left = self.cond_not()
        while self.word() == "and":
            self.at += 1
            left = self.tree("c_and", [left, self.cond_not()], first)
        return left

    def cond_not(self) -> Tree[Token]:
        if self.word() != "not":
            return self.cond_atom()
        first = self.at
        self.at += 1
        self.deeper()
        inner = self.cond_not()
        self.depth -= 1
        return self.tree("c_not", [inner], first)

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_CONDITION_DEPTH:
            _give_up()

    def cond_atom(self) -> Tree[Token]:
        first = self.at
        word = self.word()
        if word == "tagged":
            self.at += 1
            return self.tree("c_tagged", [self.string()], first)
        if self.punct() == "(":
            self.at += 1
            self.deeper()
            inner = self.condition()
            self.depth -= 1
            self.skip("PUNCT", ")")
            # Lark inlines the parentheses: the node keeps its own start and end;
            # its "container" grows to take them in.
            start, end = self.pieces[first], self.pieces[self.at - 1]
            inner.meta.__dict__.update(
                container_line=start[3],
                container_column=start[4],
                container_start_pos=start[2],
                container_end_line=end[5],
                container_end_column=end[6],
                container_end_pos=end[7],
            )
            return inner
        name = self.name()
        op = self.punct()
        if op not in COMPARE_OPS:
            _give_up()
        compare = self.kept("compare_op", op)
        value = self.string() if self.kind() == "STRING" else self.matching("NUMBER", NUMBER)
        return self.tree("c_compare", [name, compare, value], first)


_ACTIONS = {
    "private": _Reader.private_reply,
    "tag": _Reader.tag_action,
    "untag": _Reader.untag_action,
    "set": _Reader.set_action,
    "ask": _Reader.ask,
    "goto": _Reader.goto,
    "after": _Reader.after,
    "before": _Reader.after_date,
    "if": _Reader.if_block,
    "unless": _Reader.unless_block,
    "split": _Reader.split_block,
    "request": _Reader.request_notifications,
    "handoff": _Reader.handoff,
    "notify": _Reader.notify,
    "stop": _Reader.stop,
    "typing": _Reader.typing,
}


def differences(ours: object, lark: object) -> list[str]:
    """Where two trees differ (rule, children, token type/text/positions, node positions).

    Lark's own `==` compares rule names and token texts only; build.py reads
    positions and token types too, so they are compared here as well. A loop,
    not recursion: a chain of 3,000 `and`s is a tree 3,000 deep.
    """
    found: list[str] = []
    fields = ("type", "value", "start_pos", "line", "column", "end_line", "end_column", "end_pos")
    pending = [(ours, lark, "start")]
    while pending:
        mine, theirs, where = pending.pop()
        if isinstance(theirs, Tree):
            if not isinstance(mine, Tree):
                found.append(f"{where}: {mine!r} where Lark has a {theirs.data} node")
                continue
            if mine.data != theirs.data:
                found.append(f"{where}: rule {mine.data!r}, Lark {theirs.data!r}")
            if vars(mine.meta) != vars(theirs.meta):
                found.append(f"{where}: positions {vars(mine.meta)}, Lark {vars(theirs.meta)}")
            if len(mine.children) != len(theirs.children):
                found.append(f"{where}: {len(mine.children)} children, Lark {len(theirs.children)}")
                continue
            pending += [
                (a, b, f"{theirs.data}[{n}] (line {theirs.meta.line})")
                for n, (a, b) in enumerate(zip(mine.children, theirs.children, strict=True))
            ]
        elif not isinstance(mine, Token) or not isinstance(theirs, Token):
            found.append(f"{where}: {type(mine).__name__}, Lark {type(theirs).__name__}")
        else:
            a_fields = tuple(getattr(mine, f) for f in fields)
            b_fields = tuple(getattr(theirs, f) for f in fields)
            if a_fields != b_fields:
                found.append(f"{where}: token {a_fields}, Lark {b_fields}")
    return found
