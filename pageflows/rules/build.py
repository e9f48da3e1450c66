"""Syntax trees -> the typed model, with value checks located on the text.

Everything a single node can get wrong (a duration, a URL, an escape, a
template name) is reported here; what needs the whole program (targets,
duplicates, Facebook's limits and policy) is in checks/.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lark import Token, Tree

from pageflows.rules import model as m
from pageflows.rules import values
from pageflows.rules.diagnostics import Code, Diagnostic, error
from pageflows.rules.linear_regex import RegexProblem, compile_regex
from pageflows.rules.parse import Parsed
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

NAME = re.compile(r"[^\W\d](?:[\w-]*\w)?")
# issue 12: D. Messenger shows the typing indicator for about 20 s at most.
MAX_TYPING = timedelta(seconds=20)
DEFAULT_TYPING = timedelta(seconds=1)
MAX_CONDITION_DEPTH = 16  # issue 12: D. `not`, `and`, `or` and parentheses inside each other
MAX_RETRIES = 10  # issue 12: asks
MIN_WAIT = timedelta(minutes=1)
Node = Tree[Token] | Token

# issue 13: A: the fields each trusted node is made with are trusted.py's `*_FIELDS`;
# the flow's (only build.py makes flows) and the keyword modes it trusts are here.
_KEYWORD_MODES = frozenset({"exact", "starts", "contains"})
_FLOW = frozenset({"name", "path", "triggers", "steps", "broadcasts"})
# The triggers that are only a span (and their kind).
_SIMPLE: dict[str, type[m.Trigger]] = {
    "t_ref_missing": m.RefMissingTrigger,
    "t_get_started": m.GetStartedTrigger,
    "t_first_message": m.FirstMessageTrigger,
    "t_message": m.MessageTrigger,
}


# Span(path, line, col, end_line, end_col) is this tuple (source.py).
_new_span = tuple.__new__


def _fail_validation(cls: type[m.Node], **fields: Any) -> None:
    """Whatever validation says of these fields (it raises as it always did)."""
    cls(**fields)


class Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self.diagnostics: list[Diagnostic] = []
        self.too_deep: set[int] = set()  # issue 12: D: conditions already reported

    # ------------------------------------------------------------ positions

    def span(self, node: Node, fallback: Span | None = None) -> Span:
        """Where a node is in the file (issue 13: A: one of these per node, 110,000 at
        10,000 triggers: the Span is made as its constructor makes it, without the call)."""
        offset = self.offset
        if isinstance(node, Token):
            line, col = node.line or 1, node.column or 1
            end_line = node.end_line or line
            end_col = node.end_column or col + len(node)
        else:
            meta = node.meta
            if getattr(meta, "empty", True):
                return fallback or Span.point(self.path, offset + 1, 1)
            line, col, end_line, end_col = meta.line, meta.column, meta.end_line, meta.end_column
        return _new_span(Span, (self.path, line + offset, col, end_line + offset, end_col))

    def fail(self, code: Code, node: Node, problem: values.Problem) -> None:
        message, hint = problem
        self.diagnostics.append(error(code, self.span(node), message, hint))

    # ------------------------------------------------------------ values

    def string(self, token: Token) -> str:
        text, problem = values.unquote(str(token))
        if problem:
            self.fail(Code.BAD_STRING, token, problem)
        return text

    def text(self, token: Token) -> m.Text:
        raw = self.string(token)
        parts, problem = values.parse_template(raw)
        if problem:
            self.fail(Code.BAD_TEMPLATE, token, problem)
            parts = (m.Literal_(text=raw),)
        return trusted(m.Text, {"span": self.span(token), "raw": raw, "parts": parts}, TEXT_FIELDS)

    def url(self, token: Token) -> str:
        url = self.string(token)
        problem = values.url_problem(url)
        if problem:
            self.fail(Code.BAD_URL, token, problem)
        return url

    def field(self, token: Token) -> str:
        problem = values.field_problem(str(token))
        if problem:
            self.fail(Code.SYNTAX, token, problem)
        return str(token)

    def duration(self, token: Token) -> tuple[Any, str]:
        delay, problem = values.parse_duration(str(token))
        if problem:
            self.fail(Code.BAD_DURATION, token, problem)
        return delay, str(token)

    def strings(self, tree: Tree[Token]) -> tuple[str, ...]:
        return tuple(self.string(cast(Token, t)) for t in tree.children)

    # ------------------------------------------------------------ file

    def flow(self, parsed: Parsed, name: str) -> m.Flow:
        triggers: list[m.TriggerBlock] = []
        steps: list[m.Step] = []
        broadcasts: list[m.Broadcast] = []
        for block in parsed.blocks:
            if block.tree is None:  # issue 13: A: built as it was read (read_model.py)
                for node in block.nodes:
                    if type(node) is m.TriggerBlock:
                        triggers.append(node)
                    else:
                        steps.append(cast(m.Step, node))
                continue
            self.offset = block.line_offset
            for item in block.tree.children:
                if not isinstance(item, Tree):
                    continue
                if item.data == "trigger_block":
                    triggers.append(self.trigger_block(item))
                elif item.data == "step_block":
                    steps.append(self.step_block(item))
                elif item.data == "broadcast_block":
                    broadcasts.append(self.broadcast_block(item))
        flow = {
            "name": name,
            "path": self.path,
            "triggers": tuple(triggers),
            "steps": tuple(steps),
            "broadcasts": tuple(broadcasts),
            "unread_lines": (),
            "unread_steps": (),
        }
        if type(name) is not str or type(self.path) is not str:
            return m.Flow(**{key: flow[key] for key in _FLOW})
        return trusted(m.Flow, flow, _FLOW)

    def trigger_block(self, tree: Tree[Token]) -> m.TriggerBlock:
        trigger_tree, body = cast(list[Tree[Token]], tree.children)
        span = self.span(tree)
        trigger, actions = self.trigger(trigger_tree, span), self.body(body)
        return trusted(
            m.TriggerBlock, {"span": span, "trigger": trigger, "body": actions}, BLOCK_FIELDS
        )

    def step_block(self, tree: Tree[Token]) -> m.Step:
        name, body = tree.children
        step = {
            "span": self.span(name),
            "name": str(name),
            "body": self.body(cast(Tree[Token], body)),
        }
        return trusted(m.Step, step, STEP_FIELDS)

    def broadcast_block(self, tree: Tree[Token]) -> m.Broadcast:
        kids = list(tree.children)
        every_tree = (
            kids.pop(2) if isinstance(kids[2], Tree) and kids[2].data == "broadcast_every" else None
        )
        name, audience, at, zone = (cast(Any, k) for k in kids[:4])
        body = cast(Tree[Token], kids[-1])
        tag_tree = next(
            (k for k in kids[4:-1] if isinstance(k, Tree) and k.data == "broadcast_tag"), None
        )
        value = self.string(audience.children[0]) if audience.children else None
        every, every_text = self.weekdays(cast(Any, every_tree)) if every_tree else ((), "")
        if every_tree:
            local, send_at = self.recurring_time(at, zone)
        else:
            local, send_at = self.broadcast_time(at, zone)
        tag_token = cast(Token, tag_tree.children[0]) if tag_tree else None
        return m.Broadcast(
            span=self.span(name),
            name=str(name),
            audience=cast(m.AudienceKind, audience.data.removeprefix("a_")),
            audience_value=value,
            local_time=local,
            timezone=self.string(zone),
            send_at=send_at,
            tag=str(tag_token) if tag_token else None,
            tag_span=self.span(tag_token) if tag_token else None,
            body=self.body(body),
            every=every,
            every_text=every_text,
        )

    def broadcast_time(self, at: Token, zone: Token) -> tuple[datetime, datetime]:
        placeholder = datetime(2000, 1, 1)
        try:
            local = datetime.strptime(self.string(at), "%Y-%m-%d %H:%M")
        except ValueError:
            self.fail(
                Code.BAD_TIME,
                at,
                (f"{at} is not a date and time", 'write it as "2026-12-01 09:00" (24-hour clock)'),
            )
            local = placeholder
        tz = self.zone(zone)
        return local, local.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))

    # ------------------------------------------------------------ issue 12: time

    def time_of_day(self, token: Token) -> str | None:
        """A quoted `"10:00"` as `HH:MM`, or None (reported) if it is no time of day."""
        hour_minute, problem = values.parse_time_of_day(self.string(token))
        if problem or hour_minute is None:
            self.fail(Code.BAD_TIME_OF_DAY, token, problem or ("", None))
            return None
        return f"{hour_minute[0]:02d}:{hour_minute[1]:02d}"

    def weekdays(self, tree: Tree[Token]) -> tuple[tuple[int, ...], str]:
        days: set[int] = set()
        words = [cast(Token, t) for t in tree.children]
        for word in words:
            day, problem = values.parse_weekday(str(word))
            if problem or day is None:
                self.fail(Code.BAD_WEEKDAY, word, problem or ("", None))
            elif day < 0:
                days.update(range(7))
            else:
                days.add(day)
        return tuple(sorted(days)), "every " + ", ".join(str(w) for w in words)

    def zone(self, zone: Token) -> ZoneInfo:
        """A broadcast's time zone; UTC (after a PF118 finding) when it names none."""
        try:
            return ZoneInfo(self.string(zone))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            self.fail(
                Code.BAD_TIMEZONE,
                zone,
                (f"{zone} is not a time zone", 'use an IANA name such as "Europe/Berlin" or "UTC"'),
            )
            return ZoneInfo("UTC")

    def recurring_time(self, at: Token, zone: Token) -> tuple[datetime, datetime]:
        """A recurring broadcast's time of day, on a placeholder date (the occurrences are
        computed from `every` when the schedule runs)."""
        text = self.time_of_day(at) or "00:00"
        tz = self.zone(zone)
        local = datetime(2000, 1, 1, int(text[:2]), int(text[3:]))
        return local, local.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))

    def after_fields(self, kids: list[Any], delay: timedelta | None, text: str) -> dict[str, Any]:
        """The optional parts of `after`/`before`: at, unless replied, tag, notification."""
        fields: dict[str, Any] = {}
        for kid in kids:
            if kid.data == "at_time":
                token = kid.children[0]
                fields["at"] = self.time_of_day(token)
                fields["at_span"] = self.span(token)
                if delay is not None and values.whole_days(delay) is None:
                    self.fail(
                        Code.AT_NEEDS_DAYS,
                        token,
                        (
                            f"a follow-up at {self.string(token)} waits whole days, not {text}",
                            'count in days or weeks, such as after 1d at "10:00"'
                            ' (the next day at 10:00); without "at", any duration works',
                        ),
                    )
            elif kid.data == "unless_replied":
                fields["unless_replied"] = True
            elif kid.data == "with_tag":
                fields["tag"] = str(kid.children[0])
                fields["tag_span"] = self.span(kid.children[0])
            else:
                fields["topic"] = self.string(kid.children[0])
        return fields

    def a_after_date(self, tree: Tree[Token], span: Span) -> m.Action:
        kids: list[Any] = list(tree.children)
        side = str(kids[0].children[0])
        anchor, problem = values.date_field_problem(str(kids[1]))
        if problem:
            self.fail(Code.BAD_DATE_FIELD, kids[1], problem)
        delay, text = self.duration(kids[2])
        fields = self.after_fields(kids[3:-1], delay, text)
        return m.After(
            span=span,
            delay=delay or 0,
            delay_text=text,
            body=self.body(kids[-1]),
            anchor=anchor or "",
            side=cast(Any, side),
            **fields,
        )

    # ------------------------------------------------------------ triggers

    def trigger(self, tree: Tree[Token], fallback: Span) -> m.Trigger:
        span = self.span(tree, fallback)
        kind = tree.data
        kids: list[Any] = list(tree.children)
        if kind == "t_keyword":
            phrases = self.strings(kids[0])
            mode = str(kids[1].children[0]) if len(kids) > 1 else "contains"
            for token, phrase in zip(kids[0].children, phrases, strict=True):
                if not phrase.strip():
                    self.fail(
                        Code.EMPTY_KEYWORD,
                        token,
                        ("this keyword is empty", 'write a word between the quotes, or remove ""'),
                    )
            if type(mode) is not str or mode not in _KEYWORD_MODES:
                _fail_validation(m.KeywordTrigger, span=span, phrases=phrases, mode=mode)
            keyword = {"span": span, "kind": "keyword", "phrases": phrases, "mode": mode}
            return trusted(m.KeywordTrigger, keyword, KEYWORD_FIELDS)
        if kind == "t_regex":
            token = kids[0]
            body, _, flags = str(token)[1:].rpartition("/")
            refused = compile_regex(body, flags)
            if isinstance(refused, RegexProblem):
                where = self.span(token)
                if refused.pos is not None:
                    # Point into the pattern itself (after the opening slash).
                    col = where.col + 1 + refused.pos
                    where = Span.point(self.path, where.line, col, refused.width)
                self.diagnostics.append(error(Code.BAD_REGEX, where, refused.message, refused.hint))
            return m.RegexTrigger(span=span, pattern=body, flags=flags)
        if kind == "t_ref":
            ref = self.string(kids[0])
            problem = values.ref_problem(ref)
            if problem:
                self.fail(Code.BAD_REF, kids[0], problem)
            source = None
            if len(kids) > 1:
                words = [str(t) for t in kids[1].children[0].children]
                source = "chat_plugin" if words[0] == "chat" else words[0]
            # issue 13: A: made as validation makes it (`source` is one of the grammar's
            # words): `check` of clean flows then builds no validator (trusted.py).
            ref_trigger = {"span": span, "kind": "ref", "ref": ref, "source": source}
            return trusted(m.RefTrigger, ref_trigger, REF_FIELDS)
        if kind == "t_comment":
            post_id: str | None = None
            containing: tuple[str, ...] = ()
            for kid in kids:
                if kid.data == "comment_post":
                    post_id = self.string(kid.children[0])
                else:
                    containing = self.strings(kid.children[0])
            return m.CommentTrigger(span=span, post_id=post_id, containing=containing)
        if kind == "t_postback":
            return m.PostbackTrigger(span=span, payload=self.string(kids[0]))
        if kind == "t_attachment":
            media = str(kids[0].children[0])
            return m.AttachmentTrigger(span=span, media=cast(m.AttachmentKind, media))
        if kind == "t_optin":
            return m.OptinTrigger(span=span, topic=self.string(kids[0]))
        if kind == "t_window_closing":
            before, text = self.duration(kids[0])
            if before is not None and before >= timedelta(hours=24):
                self.fail(
                    Code.BAD_DURATION,
                    kids[0],
                    (
                        f"the window closes 24h after the contact's message; {text} before"
                        " that is not inside it",
                        "use a time shorter than 24h, such as 1h or 30m",
                    ),
                )
            return m.WindowClosingTrigger(span=span, before=before or 0, before_text=text)
        simple = _SIMPLE[kind]  # issue 13: A: as validation makes it, as above
        only_span = {"span": span, "kind": simple.model_fields["kind"].default}
        return trusted(simple, only_span, SPAN_FIELDS)

    # ------------------------------------------------------------ actions

    def body(self, tree: Tree[Token]) -> tuple[m.Action, ...]:
        return tuple(self.action(cast(Tree[Token], kid)) for kid in tree.children)

    def action(self, tree: Tree[Token]) -> m.Action:
        handler = getattr(self, f"a_{tree.data}")
        return cast(m.Action, handler(tree, self.span(tree)))

    def a_send(self, tree: Tree[Token], span: Span) -> m.Action:
        kids: list[Any] = list(tree.children)
        quick = tuple(self.quick(q) for q in kids[1].children) if len(kids) > 1 else ()
        text = self.text(kids[0])
        send = {"span": span, "kind": "send", "text": text, "quick_replies": quick}
        return trusted(m.SendText, send, SEND_FIELDS)

    def quick(self, tree: Tree[Token]) -> m.QuickReply:
        title, reaction = tree.children
        title_text = self.text(cast(Token, title))  # issue 12: B: titles are templates
        quick = {
            "span": self.span(title),
            "title": title_text.raw,
            "reaction": self.reaction(cast(Tree[Token], reaction)),
            "title_text": title_text,
        }
        return trusted(m.QuickReply, quick, QUICK_FIELDS)

    def reaction(self, tree: Tree[Token]) -> m.Reaction:
        span = self.span(tree)
        kids: list[Any] = list(tree.children)
        if tree.data == "target":
            goto = {"span": span, "kind": "goto", "target": self.target(tree)}
            return trusted(m.Goto, goto, GOTO_FIELDS)
        if tree.data == "tag_op":
            return trusted(
                m.AddTag, {"span": span, "kind": "tag", "name": self.string(kids[0])}, NAME_FIELDS
            )
        if tree.data == "untag_op":
            untag = {"span": span, "kind": "untag", "name": self.string(kids[0])}
            return trusted(m.RemoveTag, untag, NAME_FIELDS)
        field, value = self.field(kids[0]), self.text(kids[1])
        return trusted(
            m.SetField, {"span": span, "kind": "set", "field": field, "value": value}, SET_FIELDS
        )

    def target(self, tree: Tree[Token]) -> m.Target:
        names = [str(t) for t in tree.children]
        span = self.span(tree)
        if len(names) == 2:
            target = {"span": span, "flow": names[0], "step": names[1]}
            return trusted(m.Target, target, TARGET_IN_FLOW_FIELDS)
        return trusted(m.Target, {"span": span, "flow": None, "step": names[0]}, TARGET_FIELDS)

    def button(self, tree: Tree[Token]) -> m.Button:
        kids: list[Any] = list(tree.children)
        span = self.span(tree)
        title_text = self.text(kids[0])  # issue 12: B: titles are templates
        title = title_text.raw
        if tree.data == "button_url":
            return m.UrlButton(span=span, title=title, url=self.url(kids[1]), title_text=title_text)
        if tree.data == "button_call":
            phone = self.string(kids[1])
            problem = values.phone_problem(phone)
            if problem:
                self.fail(Code.BAD_PHONE, kids[1], problem)
            return m.CallButton(span=span, title=title, phone=phone, title_text=title_text)
        return m.ReactButton(
            span=span, title=title, reaction=self.reaction(kids[1]), title_text=title_text
        )

    def a_send_buttons(self, tree: Tree[Token], span: Span) -> m.Action:
        kids: list[Any] = list(tree.children)
        buttons = tuple(self.button(b) for b in kids[1:])
        return m.SendButtons(span=span, text=self.text(kids[0]), buttons=buttons)

    def card(self, title: Token, parts: list[Any], span: Span) -> m.Card:
        fields: dict[str, Any] = {"buttons": []}
        for part in parts:
            if part.data == "card_subtitle":
                fields["subtitle"] = self.text(part.children[0])
            elif part.data == "card_image":
                fields["image"] = self.url(part.children[0])
            elif part.data == "card_link":
                fields["link"] = self.url(part.children[0])
            else:
                fields["buttons"].append(self.button(part))
        fields["buttons"] = tuple(fields["buttons"])
        return m.Card(span=span, title=self.text(title), **fields)

    def a_send_card(self, tree: Tree[Token], span: Span) -> m.Action:
        kids: list[Any] = list(tree.children)
        return m.SendCards(span=span, cards=(self.card(kids[0], kids[1:], span),))

    def a_send_cards(self, tree: Tree[Token], span: Span) -> m.Action:
        cards = tuple(
            self.card(cast(Token, c.children[0]), list(c.children[1:]), self.span(c))
            for c in cast(list[Tree[Token]], tree.children)
        )
        return m.SendCards(span=span, cards=cards)

    def a_send_media(self, tree: Tree[Token], span: Span) -> m.Action:
        kind_tree, url = cast(list[Any], tree.children)
        media = cast(m.MediaKind, str(kind_tree.children[0]))
        return m.SendMedia(span=span, media=media, url=self.url(url))

    def a_send_template(self, tree: Tree[Token], span: Span) -> m.Action:
        kids: list[Any] = list(tree.children)
        fields: dict[str, Any] = {"name": self.string(kids[0])}
        for kid in kids[1:]:
            if kid.data == "template_language":
                fields["language"] = self.string(kid.children[0])
            elif kid.data == "template_params":
                fields["parameters"] = tuple(self.text(t) for t in kid.children)
            else:
                fields["quick_replies"] = tuple(self.quick(q) for q in kid.children)
        return m.SendTemplate(span=span, **fields)

    def a_private_reply(self, tree: Tree[Token], span: Span) -> m.Action:
        return m.PrivateReply(span=span, text=self.text(cast(Token, tree.children[0])))

    def a_tag_action(self, tree: Tree[Token], span: Span) -> m.Action:
        return cast(m.Action, self.reaction(cast(Tree[Token], tree.children[0])))

    a_untag_action = a_tag_action
    a_set_action = a_tag_action

    def a_ask(self, tree: Tree[Token], span: Span) -> m.Action:
        kids: list[Any] = list(tree.children)
        fields: dict[str, Any] = {"expects": "text"}
        seen: dict[str, Span] = {}
        choices: list[m.AskChoice] = []
        for kid in kids[2:]:
            if kid.data == "ask_kind":
                fields["expects"] = str(kid.children[0].children[0])
            elif kid.data == "ask_quick":
                token = kid.children[0]
                reaction = self.reaction(kid.children[1]) if len(kid.children) > 1 else None
                choices.append(
                    m.AskChoice(span=self.span(token), title=self.string(token), reaction=reaction)
                )
            elif kid.data == "ask_for":
                delay, text = self.duration(kid.children[0])
                self.wait_limits(kid.children[0], delay, "a question")
                fields["timeout"], fields["timeout_text"] = delay, text
            else:
                self.ask_option(kid, fields, seen)
        return m.Ask(
            span=span,
            question=self.text(kids[0]),
            field=self.field(kids[1]),
            choices=tuple(choices),
            **fields,
        )

    # issue 12: asks
    def ask_option(self, kid: Tree[Token], fields: dict[str, Any], seen: dict[str, Span]) -> None:
        """One line of an ask's block; each may come once (PF205)."""
        word = {
            "ask_invalid": "invalid",
            "ask_retries": "retries",
            "ask_cancel": "cancel",
            "give_up_goto": "if no answer",
            "give_up_continue": "if no answer",
        }[kid.data]
        where = self.span(kid)
        if word in seen:
            self.diagnostics.append(
                error(
                    Code.ASK_OPTION_TWICE,
                    where,
                    f"this question already has an `{word}` line (line {seen[word].line})",
                    "keep one of them",
                )
            )
            return
        seen[word] = where
        first: Any = kid.children[0] if kid.children else None
        if kid.data == "ask_invalid":
            fields["invalid"] = self.text(first)
        elif kid.data == "ask_retries":
            count = int(str(first))
            if count > MAX_RETRIES:
                self.fail(
                    Code.BAD_RETRIES,
                    first,
                    (
                        f"{count} retries is more than anyone types",
                        f"use 0 to {MAX_RETRIES}; after them the question lets go",
                    ),
                )
            fields["retries"] = min(count, MAX_RETRIES)
        elif kid.data == "ask_cancel":
            words = self.strings(first)
            for token, word_ in zip(first.children, words, strict=True):
                if not word_.strip():
                    self.fail(
                        Code.EMPTY_KEYWORD,
                        token,
                        ("this word is empty", 'write a word between the quotes, or remove ""'),
                    )
            fields["cancel"] = words
        elif kid.data == "give_up_goto":
            fields["give_up"] = self.target(first)
        else:
            fields["give_up_continue"] = True

    def wait_limits(self, token: Token, delay: timedelta | None, what: str) -> None:
        """A question or a handoff waits at least a minute (PF126)."""
        if delay is not None and delay < MIN_WAIT:
            self.fail(
                Code.BAD_WAIT,
                token,
                (
                    f"a question that waits {token} lets go before the contact can answer"
                    if what == "a question"
                    else f"a handoff for {token} takes the conversation back before"
                    " anyone on your team can answer",
                    "wait at least a minute, such as 30m or 2h",
                ),
            )

    def a_goto(self, tree: Tree[Token], span: Span) -> m.Action:
        return m.Goto(span=span, target=self.target(cast(Tree[Token], tree.children[0])))

    def a_after(self, tree: Tree[Token], span: Span) -> m.Action:
        kids: list[Any] = list(tree.children)
        delay, text = self.duration(kids[0])
        fields = self.after_fields(kids[1:-1], delay, text)
        return m.After(
            span=span, delay=delay or 0, delay_text=text, body=self.body(kids[-1]), **fields
        )

    def condition(
        self, tree: Tree[Token], depth: int = 0, whole: Tree[Token] | None = None
    ) -> m.Condition:
        """issue 12: D. `tagged`, comparisons, and `not` / `and` / `or` over them.

        Bounded in depth (MAX_CONDITION_DEPTH), and a chain `a and b and c ...` is read
        as one flat list without recursion: no condition, however long, can exhaust
        Python's stack here or in the checks and the engine that walk the model.
        """
        kids: list[Any] = list(tree.children)
        span = self.span(tree)
        whole = tree if whole is None else whole
        if depth > MAX_CONDITION_DEPTH:
            if id(whole) not in self.too_deep:  # one finding per condition, on all of it
                self.too_deep.add(id(whole))
                self.fail(
                    Code.CONDITION_TOO_DEEP,
                    whole,
                    (
                        f"this condition nests more than {MAX_CONDITION_DEPTH} levels deep",
                        "split it: set a tag or a field in one `if`, then test it in the next",
                    ),
                )
            return m.Tagged(span=span, name="")
        if tree.data == "c_tagged":
            return m.Tagged(span=span, name=self.string(kids[0]))
        if tree.data == "c_not":
            return negate(self.condition(kids[0], depth + 1, whole), span)
        if tree.data in ("c_and", "c_or"):
            chain: list[Any] = []
            node: Any = tree
            while isinstance(node, Tree) and node.data == tree.data:  # the left spine
                chain.append(node.children[1])
                node = node.children[0]
            chain.append(node)
            kind = m.AllOf if tree.data == "c_and" else m.AnyOf
            operands = tuple(self.condition(kid, depth + 1, whole) for kid in reversed(chain))
            return kind(span=span, operands=operands)
        return self.comparison(kids, span)

    def comparison(self, kids: list[Any], span: Span) -> m.Condition:
        """`name == "Bob"` compares texts; `guests > 8` (or `> "8"`) compares numbers."""
        field = self.field(kids[0])
        op = cast(m.CompareOp, str(kids[1].children[0]))
        value: Token = kids[2]
        if value.type == "STRING" and op in ("==", "!="):
            return m.FieldEquals(
                span=span, field=field, value=self.string(value), negated=op == "!="
            )
        text = self.string(value) if value.type == "STRING" else str(value)
        number = values.parse_number(text)
        if number is None:
            self.fail(
                Code.BAD_NUMBER,
                value,
                (
                    f"{op} compares numbers, and {value} is not a number",
                    f"write a number such as {field} {op} 8 (== and != also compare texts)",
                ),
            )
        return m.Compare(
            span=span, field=field, op=op, number=number or 0, number_text=text.strip()
        )

    def branches(self, kids: list[Any]) -> tuple[tuple[m.Action, ...], tuple[m.Action, ...]]:
        then = self.body(kids[0])
        otherwise = self.body(kids[1].children[0]) if len(kids) > 1 else ()
        return then, otherwise

    def a_if_block(self, tree: Tree[Token], span: Span) -> m.Action:
        kids: list[Any] = list(tree.children)
        return self.if_chain(span, kids[0], kids[1], kids[2:])

    def if_chain(self, span: Span, condition: Any, body: Any, rest: list[Any]) -> m.If:
        """issue 12: D. `elif C:` is an `if C:` alone in the else branch of the one above."""
        otherwise: tuple[m.Action, ...] = ()
        if rest and rest[0].data == "elif_block":
            elif_tree = rest[0]
            cond, inner = elif_tree.children
            otherwise = (self.if_chain(self.span(elif_tree), cond, inner, rest[1:]),)
        elif rest:
            otherwise = self.body(rest[0].children[0])
        return m.If(
            span=span,
            condition=self.condition(condition),
            then=self.body(body),
            otherwise=otherwise,
        )

    def a_unless_block(self, tree: Tree[Token], span: Span) -> m.Action:
        """issue 12: D. `unless C:` runs its body when C does not hold: `if not C:`."""
        kids: list[Any] = list(tree.children)
        then, otherwise = self.branches(kids[1:])
        condition = negate(self.condition(kids[0]), self.span(kids[0]))
        return m.If(span=span, condition=condition, then=then, otherwise=otherwise)

    def a_split_block(self, tree: Tree[Token], span: Span) -> m.Action:
        kids: list[Any] = list(tree.children)
        percent = float(str(kids[0]).rstrip("%"))
        if not 0 < percent < 100:
            self.fail(
                Code.BAD_PERCENT,
                kids[0],
                (f"{kids[0]} cannot split contacts", "use a share between 1% and 99%"),
            )
        then, otherwise = self.branches(kids[1:])
        return m.Split(span=span, percent=percent, then=then, otherwise=otherwise)

    def a_request_notifications(self, tree: Tree[Token], span: Span) -> m.Action:
        kids: list[Any] = list(tree.children)
        frequency = str(kids[2].children[0].children[0]) if len(kids) > 2 else "daily"
        return m.RequestNotifications(
            span=span,
            topic=self.string(kids[0]),
            title=self.string(kids[1]),
            frequency=cast(m.Frequency, frequency),
        )

    def a_handoff(self, tree: Tree[Token], span: Span) -> m.Action:
        fields: dict[str, Any] = {}
        for kid in tree.children:
            if isinstance(kid, Token):
                fields["reason"] = self.string(kid)
            else:  # issue 12: `handoff ... for 2h`
                token = cast(Token, kid.children[0])
                delay, text = self.duration(token)
                self.wait_limits(token, delay, "a handoff")
                fields["timeout"], fields["timeout_text"] = delay, text
        return m.Handoff(span=span, **fields)

    def a_notify(self, tree: Tree[Token], span: Span) -> m.Action:
        return m.Notify(span=span, url=self.url(cast(Token, tree.children[0])))

    def a_stop(self, tree: Tree[Token], span: Span) -> m.Action:
        return m.Stop(span=span)

    def a_typing(self, tree: Tree[Token], span: Span) -> m.Action:
        """issue 12: D. `typing 2s` (`typing` alone: 1s), at most MAX_TYPING."""
        if not tree.children:
            return m.Typing(span=span, pause=DEFAULT_TYPING, pause_text="1s")
        token = cast(Token, tree.children[0])
        pause, text = self.duration(token)
        if pause is not None and pause > MAX_TYPING:
            self.fail(
                Code.TYPING_TOO_LONG,
                token,
                (
                    f"typing {text} holds the next message too long: Messenger shows the"
                    f" indicator for at most {MAX_TYPING.seconds}s",
                    f"use a pause of {MAX_TYPING.seconds}s or less, such as typing 3s",
                ),
            )
            pause = MAX_TYPING
        return m.Typing(span=span, pause=pause or DEFAULT_TYPING, pause_text=text)


def negate(condition: m.Condition, span: Span) -> m.Condition:
    """issue 12: D. `not tagged "x"` stays the Tagged node it always was; others wrap in Not."""
    if isinstance(condition, m.Tagged):
        return condition.model_copy(update={"negated": not condition.negated, "span": span})
    return m.Not(span=span, operand=condition)


def build_flow(parsed: Parsed, name: str) -> tuple[m.Flow, list[Diagnostic]]:
    builder = Builder(parsed.source.path)
    diagnostics = list(parsed.diagnostics)
    if not NAME.fullmatch(name):
        diagnostics.append(
            error(
                Code.BAD_NAME,
                Span.point(parsed.source.path, 1, 1),
                f'"{name}" cannot be a flow name (it is the file name without .flow)',
                "name flow files with letters, digits, _ and -, starting with a letter",
            )
        )
    flow = builder.flow(parsed, name)
    if parsed.unread:  # issue 12: A
        flow = flow.model_copy(
            update={
                "unread_lines": tuple(u.line for u in parsed.unread),
                "unread_steps": tuple(s for u in parsed.unread for s in u.steps),
            }
        )
    return flow, diagnostics + builder.diagnostics
