"""A flow as a diagram: its triggers, steps and broadcasts as lanes, what each does as rows.

Marketers would rather look than read (issue 11): `pageflows graph FLOW` and the
console's Flows page draw this. The model is drawn as written: each root block
(a trigger, a step, a broadcast) is a lane; its actions are rows in their order,
with what is nested under `after`, `if` and `split` one level in; a quick reply,
button or `goto` that leads to a step is an edge to that step's lane. Follow-ups
show their delay, `unless replied`, and their tag or topic. Each row that sends a
message carries its `site` (flow:line:col, as service/step_stats.py names
messages), so the console can put the step's numbers on it.

Pure: text in (a parsed Flow), a Diagram out; the renderers (diagram_mermaid.py,
diagram_svg.py) only draw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath
from typing import Literal

from pageflows.rules import model as m
from pageflows.rules.source import Span

RowKind = Literal[
    "send", "buttons", "cards", "media", "template", "private_reply", "ask", "after", "if",
    "else", "split", "tag", "untag", "set", "goto", "handoff", "stop", "notify", "typing",
    "request_notifications",
]  # fmt: skip
LaneKind = Literal["trigger", "step", "broadcast"]
MESSAGE_ROWS = frozenset(
    {
        "send",
        "buttons",
        "cards",
        "media",
        "template",
        "private_reply",
        "ask",
        "request_notifications",
    }
)
MAX_TEXT = 60


@dataclass(frozen=True)
class Tap:
    """A quick reply or button of a row: what it says and what it does."""

    title: str
    does: str  # "-> confirm", "tag vip", "opens https://...", "calls +33..."
    target: str | None = None  # the lane it leads to, if any


@dataclass(frozen=True)
class Row:
    id: str
    kind: RowKind
    text: str
    depth: int = 0
    site: str | None = None  # flow:line:col of a message (its numbers), else None
    taps: tuple[Tap, ...] = ()


@dataclass(frozen=True)
class Lane:
    id: str  # the root's address: flow:on:N, flow:step:NAME, flow:broadcast:NAME
    kind: LaneKind
    title: str
    rows: tuple[Row, ...]
    line: int


@dataclass(frozen=True)
class Edge:
    source: str  # a row's id
    target: str  # a lane's id, or an "elsewhere" id for a step of another flow
    label: str
    kind: Literal["tap", "goto", "no_answer"]


@dataclass(frozen=True)
class Diagram:
    flow: str
    lanes: tuple[Lane, ...]
    edges: tuple[Edge, ...]
    elsewhere: tuple[str, ...] = ()  # steps of other flows it leads to: "flow.step"

    def lane(self, lane_id: str) -> Lane | None:
        return next((lane for lane in self.lanes if lane.id == lane_id), None)


def site_of(span: Span) -> str:
    """flow:line:col, the name service/step_stats.py gives a message's numbers."""
    return f"{PurePath(span.path).stem}:{span.line}:{span.col}"


def short(text: str, limit: int = MAX_TEXT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "\u2026"


def duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def trigger_title(trigger: m.Trigger) -> str:
    """`on keyword "hi", "hello"` as a marketer wrote it (near enough)."""
    if isinstance(trigger, m.KeywordTrigger):
        mode = "" if trigger.mode == "contains" else f" {trigger.mode}"
        return f"on keyword{mode} " + ", ".join(f'"{p}"' for p in trigger.phrases)
    if isinstance(trigger, m.RegexTrigger):
        return f"on regex /{trigger.pattern}/{trigger.flags}"
    if isinstance(trigger, m.RefTrigger):
        source = f" from {trigger.source}" if trigger.source else ""
        return f'on ref "{trigger.ref}"{source}'
    if isinstance(trigger, m.CommentTrigger):
        post = f' on post "{trigger.post_id}"' if trigger.post_id else ""
        words = " containing " + ", ".join(f'"{w}"' for w in trigger.containing)
        return "on comment" + post + (words if trigger.containing else "")
    if isinstance(trigger, m.PostbackTrigger):
        return f'on postback "{trigger.payload}"'
    if isinstance(trigger, m.AttachmentTrigger):
        return f"on {trigger.media}"
    if isinstance(trigger, m.OptinTrigger):
        return f'on optin "{trigger.topic}"'
    if isinstance(trigger, m.WindowClosingTrigger):
        return f"on window closing in {duration(trigger.before)}"
    return "on " + trigger.kind.replace("_", " ")


def condition_text(condition: m.Condition) -> str:
    if isinstance(condition, m.Tagged):
        return f"{'not ' if condition.negated else ''}tagged {condition.name}"
    if isinstance(condition, m.FieldEquals):
        op = "is not" if condition.negated else "is"
        return f'{condition.field} {op} "{condition.value}"'
    if isinstance(condition, m.Compare):
        return f"{condition.field} {condition.op} {condition.number_text}"
    if isinstance(condition, m.Not):
        return f"not ({condition_text(condition.operand)})"
    joiner = " and " if isinstance(condition, m.AllOf) else " or "
    return joiner.join(condition_text(c) for c in condition.operands)


def flow_diagram(flow: m.Flow) -> Diagram:
    builder = _Builder(flow)
    lanes = []
    for i, block in enumerate(flow.triggers):
        lane_id = f"{flow.name}:on:{i}"
        rows = builder.rows(block.body, lane_id)
        lanes.append(Lane(lane_id, "trigger", trigger_title(block.trigger), rows, block.span.line))
    for step in flow.steps:
        lane_id = builder.step_lane(step.name)
        rows = builder.rows(step.body, lane_id)
        lanes.append(Lane(lane_id, "step", f"step {step.name}", rows, step.span.line))
    for cast in flow.broadcasts:
        lane_id = f"{flow.name}:broadcast:{cast.name}"
        rows = builder.rows(cast.body, lane_id)
        lanes.append(Lane(lane_id, "broadcast", _broadcast_title(cast), rows, cast.span.line))
    return Diagram(flow.name, tuple(lanes), tuple(builder.edges), tuple(sorted(builder.elsewhere)))


def _broadcast_title(cast: m.Broadcast) -> str:
    audience = cast.audience + (f" {cast.audience_value}" if cast.audience_value else "")
    when = cast.every_text or cast.local_time.strftime("%Y-%m-%d %H:%M")
    tag = f", tag {cast.tag}" if cast.tag else ""
    return f"broadcast {cast.name} to {audience}, {when} {cast.timezone}{tag}"


@dataclass
class _Builder:
    flow: m.Flow
    edges: list[Edge] = field(default_factory=list)
    elsewhere: set[str] = field(default_factory=set)
    count: int = 0

    def step_lane(self, name: str) -> str:
        return f"{self.flow.name}:step:{name}"

    def target(self, target: m.Target) -> tuple[str, str]:
        """(lane id, words) of a goto target; another flow's step is an "elsewhere" node."""
        if target.flow and target.flow != self.flow.name:
            name = f"{target.flow}.{target.step}"
            self.elsewhere.add(name)
            return f"elsewhere:{name}", name
        return self.step_lane(target.step), target.step

    def new_id(self) -> str:
        self.count += 1
        return f"{self.flow.name}:r{self.count}"

    def rows(self, actions: tuple[m.Action, ...], lane: str, depth: int = 0) -> tuple[Row, ...]:
        out: list[Row] = []
        for action in actions:
            out.extend(self.action(action, lane, depth))
        return tuple(out)

    def tap(self, row_id: str, title: str, reaction: m.Reaction | None) -> Tap:
        if reaction is None:
            return Tap(title, "answers")
        if isinstance(reaction, m.Goto):
            lane, words = self.target(reaction.target)
            self.edges.append(Edge(row_id, lane, title, "tap"))
            return Tap(title, f"-> {words}", lane)
        if isinstance(reaction, m.AddTag):
            return Tap(title, f"tag {reaction.name}")
        if isinstance(reaction, m.RemoveTag):
            return Tap(title, f"untag {reaction.name}")
        return Tap(title, f"set {reaction.field} = {short(reaction.value.raw, 24)}")

    def button(self, row_id: str, button: m.Button) -> Tap:
        if isinstance(button, m.UrlButton):
            return Tap(button.title, f"opens {short(button.url, 40)}")
        if isinstance(button, m.CallButton):
            return Tap(button.title, f"calls {button.phone}")
        return self.tap(row_id, button.title, button.reaction)

    def action(self, action: m.Action, lane: str, depth: int) -> list[Row]:
        row_id = self.new_id()
        site = site_of(action.span)
        if isinstance(action, m.SendText):
            taps = tuple(self.tap(row_id, q.title, q.reaction) for q in action.quick_replies)
            return [Row(row_id, "send", short(action.text.raw), depth, site, taps)]
        if isinstance(action, m.SendButtons):
            taps = tuple(self.button(row_id, b) for b in action.buttons)
            return [Row(row_id, "buttons", short(action.text.raw), depth, site, taps)]
        if isinstance(action, m.SendCards):
            titles = ", ".join(short(c.title.raw, 24) for c in action.cards)
            taps = tuple(self.button(row_id, b) for c in action.cards for b in c.buttons)
            kind_text = "card" if len(action.cards) == 1 else f"{len(action.cards)} cards"
            return [Row(row_id, "cards", f"{kind_text}: {titles}", depth, site, taps)]
        if isinstance(action, m.SendMedia):
            return [Row(row_id, "media", f"{action.media} {short(action.url, 40)}", depth, site)]
        if isinstance(action, m.SendTemplate):
            return [Row(row_id, "template", f'template "{action.name}"', depth, site)]
        if isinstance(action, m.PrivateReply):
            taps = tuple(self.tap(row_id, q.title, q.reaction) for q in action.quick_replies)
            return [Row(row_id, "private_reply", short(action.text.raw), depth, site, taps)]
        if isinstance(action, m.Ask):
            return [self.ask(action, row_id, depth, site)]
        if isinstance(action, m.RequestNotifications):
            text = f'asks to notify "{action.topic}" ({action.frequency})'
            return [Row(row_id, "request_notifications", text, depth, site)]
        if isinstance(action, m.After):
            return [
                Row(row_id, "after", _after_text(action), depth),
                *self.rows(action.body, lane, depth + 1),
            ]
        if isinstance(action, m.If):
            rows = [Row(row_id, "if", f"if {condition_text(action.condition)}", depth)]
            rows.extend(self.rows(action.then, lane, depth + 1))
            if action.otherwise:
                rows.append(Row(self.new_id(), "else", "else", depth))
                rows.extend(self.rows(action.otherwise, lane, depth + 1))
            return rows
        if isinstance(action, m.Split):
            rows = [Row(row_id, "split", f"split {action.percent:g}%", depth)]
            rows.extend(self.rows(action.then, lane, depth + 1))
            if action.otherwise:
                rows.append(Row(self.new_id(), "else", "the others", depth))
                rows.extend(self.rows(action.otherwise, lane, depth + 1))
            return rows
        if isinstance(action, m.Goto):
            target, words = self.target(action.target)
            self.edges.append(Edge(row_id, target, "goto", "goto"))
            return [Row(row_id, "goto", f"goto {words}", depth)]
        return [Row(row_id, *_small(action), depth)]  # type: ignore[arg-type]

    def ask(self, action: m.Ask, row_id: str, depth: int, site: str) -> Row:
        taps = [self.tap(row_id, c.title, c.reaction) for c in action.choices]
        if action.give_up is not None:
            lane, words = self.target(action.give_up)
            self.edges.append(Edge(row_id, lane, "no answer", "no_answer"))
            taps.append(Tap("no answer", f"-> {words}", lane))
        text = f"{short(action.question.raw, 40)} -> {action.field} ({action.expects})"
        return Row(row_id, "ask", text, depth, site, tuple(taps))


def _after_text(action: m.After) -> str:
    if action.anchor:
        text = f"{action.side} {{contact.{action.anchor}}} by {action.delay_text}"
    else:
        text = f"after {action.delay_text}"
    if action.at:
        text += f' at "{action.at}"'
    if action.unless_replied:
        text += " unless replied"
    if action.tag:
        text += f", tag {action.tag}"
    if action.topic:
        text += f', topic "{action.topic}"'
    return text


def _small(action: m.Action) -> tuple[str, str]:
    """(kind, text) of the actions that send nothing of their own."""
    if isinstance(action, m.AddTag):
        return "tag", f"tag {action.name}"
    if isinstance(action, m.RemoveTag):
        return "untag", f"untag {action.name}"
    if isinstance(action, m.SetField):
        return "set", f"set {action.field} = {short(action.value.raw, 30)}"
    if isinstance(action, m.Handoff):
        wait = f" for {action.timeout_text}" if action.timeout_text else ""
        return "handoff", f"hand off to a person{wait}"
    if isinstance(action, m.Notify):
        return "notify", f"notify {short(action.url, 40)}"
    if isinstance(action, m.Typing):
        return "typing", f"typing {action.pause_text}"
    return "stop", "stop"
