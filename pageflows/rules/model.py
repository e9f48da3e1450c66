"""The typed model of a flow file: what build.py makes of the syntax tree.

Every node is a frozen pydantic model with a `span`, so checks and the engine
can point back at the marketer's text. Nodes are plain data: no behaviour
beyond small derived properties, so the engine can compare them with `==`.
"""

from __future__ import annotations

import weakref
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from pageflows.rules.source import Span

# issue 13: A: see the end of this module.
_DEFERRED = ConfigDict(frozen=True, defer_build=True)


class Node(BaseModel):
    model_config = _DEFERRED

    span: Span


# ------------------------------------------------------------------ templates


class Literal_(BaseModel):
    model_config = _DEFERRED
    kind: Literal["literal"] = "literal"
    text: str


class Placeholder(BaseModel):
    """`{contact.first_name|there}`: a documented name and an optional fallback."""

    model_config = _DEFERRED
    kind: Literal["placeholder"] = "placeholder"
    name: str
    fallback: str | None = None


TemplatePart = Annotated[Literal_ | Placeholder, Field(discriminator="kind")]


class Text(Node):
    """A quoted text after escapes, split into literal parts and placeholders."""

    raw: str
    parts: tuple[TemplatePart, ...] = ()

    @property
    def longest(self) -> int:
        """Length assuming each placeholder renders as its fallback (or empty).

        Why: limits such as 2,000 characters are checked on what Facebook
        receives; a placeholder's value is unknown at check time.
        """
        total = 0
        for part in self.parts:
            if isinstance(part, Literal_):
                total += len(part.text)
            else:
                total += len(part.fallback or "")
        return total


# ------------------------------------------------------------------ reactions


class Target(Node):
    """A step to continue in: `ask_email` (this flow) or `other_flow.ask_email`."""

    flow: str | None = None
    step: str

    def __str__(self) -> str:
        return f"{self.flow}.{self.step}" if self.flow else self.step


class AddTag(Node):
    kind: Literal["tag"] = "tag"
    name: str


class RemoveTag(Node):
    kind: Literal["untag"] = "untag"
    name: str


class SetField(Node):
    kind: Literal["set"] = "set"
    field: str
    value: Text


class Goto(Node):
    kind: Literal["goto"] = "goto"
    target: Target


Reaction = Annotated[Goto | AddTag | RemoveTag | SetField, Field(discriminator="kind")]


class QuickReply(Node):
    title: str
    reaction: Reaction
    # issue 12: B. The title as a template (`{contact.first_name}'s table`), filled at send
    # time; None where a node is made without one, and then `title` is sent as it is.
    title_text: Text | None = None


class UrlButton(Node):
    kind: Literal["url"] = "url"
    title: str
    url: str
    title_text: Text | None = None  # issue 12: B (see QuickReply)


class CallButton(Node):
    kind: Literal["call"] = "call"
    title: str
    phone: str
    title_text: Text | None = None  # issue 12: B (see QuickReply)


class ReactButton(Node):
    kind: Literal["react"] = "react"
    title: str
    reaction: Reaction
    title_text: Text | None = None  # issue 12: B (see QuickReply)


Button = Annotated[UrlButton | CallButton | ReactButton, Field(discriminator="kind")]


class Card(Node):
    title: Text
    subtitle: Text | None = None
    image: str | None = None
    link: str | None = None
    buttons: tuple[Button, ...] = ()


# ------------------------------------------------------------------ actions


class SendText(Node):
    kind: Literal["send"] = "send"
    text: Text
    quick_replies: tuple[QuickReply, ...] = ()


class SendButtons(Node):
    kind: Literal["send_buttons"] = "send_buttons"
    text: Text
    buttons: tuple[Button, ...]


class SendCards(Node):
    """`send card "t":` (one card) or `send cards:` (a carousel)."""

    kind: Literal["send_cards"] = "send_cards"
    cards: tuple[Card, ...]


MediaKind = Literal["image", "audio", "video", "file"]


class SendMedia(Node):
    kind: Literal["send_media"] = "send_media"
    media: MediaKind
    url: str


class SendTemplate(Node):
    """`send template "name" language "en_US" with "{contact.order_id}"`: a utility template.

    Facebook fills the template's `{{1}}`, `{{2}}`... with ``parameters`` in order; the
    template itself (its text and buttons) lives with the Page on Facebook's side.
    """

    kind: Literal["send_template"] = "send_template"
    name: str
    language: str = "en_US"
    parameters: tuple[Text, ...] = ()
    quick_replies: tuple[QuickReply, ...] = ()  # refused by Facebook; kept for the checker


class PrivateReply(Node):
    kind: Literal["private_reply"] = "private_reply"
    text: Text
    quick_replies: tuple[QuickReply, ...] = ()


AskKind = Literal["email", "phone", "number", "text", "date", "time"]

# issue 12: asks: how long a question waits, how often it asks again and which words end
# it, when the flow does not say (docs/language.md, "When a question lets go").
ASK_WAITS = timedelta(hours=24)
ASK_RETRIES = 2
ASK_CANCEL = ("stop", "cancel")


class AskChoice(Node):
    """`quick "4"` under an `ask`: a tappable answer, taken as if the contact typed it.

    With a reaction (`quick "More than 8" -> big_group`) it is no answer: it leads
    elsewhere, like any quick reply, and the question lets go.
    """

    title: str
    reaction: Reaction | None = None


class Ask(Node):
    kind: Literal["ask"] = "ask"
    question: Text
    field: str
    expects: AskKind = "text"
    invalid: Text | None = None
    # issue 12: asks
    choices: tuple[AskChoice, ...] = ()
    timeout: timedelta | None = None  # `for 1h`: the flow goes on when it runs out
    timeout_text: str | None = None
    retries: int | None = None  # None: ASK_RETRIES
    cancel: tuple[str, ...] | None = None  # None: ASK_CANCEL
    give_up: Target | None = None  # `if no answer -> step`
    give_up_continue: bool = False  # `if no answer continue`

    @property
    def waits(self) -> timedelta:
        return self.timeout or ASK_WAITS

    @property
    def tries(self) -> int:
        """How many answers the question takes in all: the first and its retries."""
        return 1 + (ASK_RETRIES if self.retries is None else self.retries)

    @property
    def cancel_words(self) -> tuple[str, ...]:
        return ASK_CANCEL if self.cancel is None else self.cancel


class After(Node):
    kind: Literal["after"] = "after"
    delay: timedelta
    delay_text: str
    unless_replied: bool = False
    tag: str | None = None
    tag_span: Span | None = None
    topic: str | None = None
    body: tuple[Action, ...]
    # issue 12 (time). `at "10:00"`: the follow-up goes at that time of day (the contact's
    # time zone when known, else the Page's), on the day `delay` (whole days) later.
    at: str | None = None
    at_span: Span | None = None
    # `before {contact.booking_date} by 1d`: counted from a stored date, not from now.
    anchor: str | None = None  # the field holding the date, such as "booking_date"
    side: Literal["before", "after"] = "after"

    @property
    def anchored(self) -> bool:
        """Counted from a stored date: when it fires is known only at run time."""
        return self.anchor is not None


class Tagged(Node):
    kind: Literal["tagged"] = "tagged"
    name: str
    negated: bool = False


class FieldEquals(Node):
    kind: Literal["equals"] = "equals"
    field: str
    value: str
    negated: bool = False


CompareOp = Literal["==", "!=", ">", ">=", "<", "<="]


class Compare(Node):
    """issue 12: D. `guests > 8`: the field read as a number, against a number.

    Holds only when the field holds a number ("8", "8.5" or "8,5"): a missing
    field, or an answer such as "eight", makes every comparison false except
    `!=`, which is `not ==`.
    """

    kind: Literal["compare"] = "compare"
    field: str
    op: CompareOp
    number: Decimal
    number_text: str


class Not(Node):
    """issue 12: D. `not C`, and `unless C:` (an If whose condition is Not)."""

    kind: Literal["not"] = "not"
    operand: Condition


class AllOf(Node):
    """issue 12: D. `A and B and ...`: every operand holds (checked left to right)."""

    kind: Literal["and"] = "and"
    operands: tuple[Condition, ...]


class AnyOf(Node):
    """issue 12: D. `A or B or ...`: some operand holds."""

    kind: Literal["or"] = "or"
    operands: tuple[Condition, ...]


Condition = Annotated[
    Tagged | FieldEquals | Compare | Not | AllOf | AnyOf, Field(discriminator="kind")
]


class If(Node):
    kind: Literal["if"] = "if"
    condition: Condition
    then: tuple[Action, ...]
    otherwise: tuple[Action, ...] = ()


class Split(Node):
    """A/B split: a stable share of contacts takes `then`, the rest `otherwise`."""

    kind: Literal["split"] = "split"
    percent: float
    then: tuple[Action, ...]
    otherwise: tuple[Action, ...] = ()


Frequency = Literal["daily", "weekly", "monthly"]


class RequestNotifications(Node):
    kind: Literal["request_notifications"] = "request_notifications"
    topic: str
    title: str
    frequency: Frequency = "daily"


class Handoff(Node):
    kind: Literal["handoff"] = "handoff"
    reason: str | None = None
    # issue 12: `handoff "..." for 2h`: automation takes the conversation back after it.
    timeout: timedelta | None = None
    timeout_text: str | None = None


class Notify(Node):
    kind: Literal["notify"] = "notify"
    url: str


class Stop(Node):
    kind: Literal["stop"] = "stop"


class Typing(Node):
    """issue 12: D. `typing 2s`: Facebook's typing indicator, then a pause before the next
    message of the run, so a long answer does not arrive all at once."""

    kind: Literal["typing"] = "typing"
    pause: timedelta
    pause_text: str


Action = Annotated[
    SendText
    | SendButtons
    | SendCards
    | SendMedia
    | SendTemplate
    | PrivateReply
    | AddTag
    | RemoveTag
    | SetField
    | Ask
    | Goto
    | After
    | If
    | Split
    | RequestNotifications
    | Handoff
    | Notify
    | Stop
    | Typing,
    Field(discriminator="kind"),
]

# ------------------------------------------------------------------ triggers

KeywordModeName = Literal["exact", "starts", "contains"]
RefSource = Literal["ads", "link", "qr", "chat_plugin"]
AttachmentKind = Literal["image", "audio", "video", "file", "location"]


class KeywordTrigger(Node):
    kind: Literal["keyword"] = "keyword"
    phrases: tuple[str, ...]
    mode: KeywordModeName = "contains"


class RegexTrigger(Node):
    kind: Literal["regex"] = "regex"
    pattern: str
    flags: str = ""


class RefTrigger(Node):
    """`on ref "x"`; a `*` in the value makes it a glob (`"camp_*"`)."""

    kind: Literal["ref"] = "ref"
    ref: str
    source: RefSource | None = None

    @property
    def is_glob(self) -> bool:
        return "*" in self.ref


class RefMissingTrigger(Node):
    kind: Literal["ref_missing"] = "ref_missing"


class CommentTrigger(Node):
    kind: Literal["comment"] = "comment"
    post_id: str | None = None
    containing: tuple[str, ...] = ()


class PostbackTrigger(Node):
    kind: Literal["postback"] = "postback"
    payload: str


class GetStartedTrigger(Node):
    kind: Literal["get_started"] = "get_started"


class FirstMessageTrigger(Node):
    kind: Literal["first_message"] = "first_message"


class MessageTrigger(Node):
    kind: Literal["message"] = "message"


class AttachmentTrigger(Node):
    kind: Literal["attachment"] = "attachment"
    media: AttachmentKind


class OptinTrigger(Node):
    kind: Literal["optin"] = "optin"
    topic: str


class WindowClosingTrigger(Node):
    kind: Literal["window_closing"] = "window_closing"
    before: timedelta
    before_text: str


Trigger = Annotated[
    KeywordTrigger
    | RegexTrigger
    | RefTrigger
    | RefMissingTrigger
    | CommentTrigger
    | PostbackTrigger
    | GetStartedTrigger
    | FirstMessageTrigger
    | MessageTrigger
    | AttachmentTrigger
    | OptinTrigger
    | WindowClosingTrigger,
    Field(discriminator="kind"),
]


# ------------------------------------------------------------------ top level


class TriggerBlock(Node):
    trigger: Trigger
    body: tuple[Action, ...]


class Step(Node):
    name: str
    body: tuple[Action, ...]


AudienceKind = Literal["subscribers", "tagged", "everyone"]


class Broadcast(Node):
    name: str
    audience: AudienceKind
    audience_value: str | None = None
    local_time: datetime
    timezone: str
    send_at: datetime
    tag: str | None = None
    tag_span: Span | None = None
    body: tuple[Action, ...]
    # issue 12 (time). `every friday at "09:00"`: weekdays (0 = Monday) it recurs on, and
    # its time of day in `timezone`; `local_time`/`send_at` then hold only that time of day
    # on 2000-01-01 (see engine/timing.py for the occurrences).
    every: tuple[int, ...] = ()
    every_text: str = ""

    @property
    def recurring(self) -> bool:
        """Written with `every` (even if no day of it reads: PF136 says so)."""
        return bool(self.every or self.every_text)


class Flow(BaseModel):
    """One file: its name is the file's stem."""

    model_config = _DEFERRED

    name: str
    path: str
    triggers: tuple[TriggerBlock, ...] = ()
    steps: tuple[Step, ...] = ()
    broadcasts: tuple[Broadcast, ...] = ()
    # issue 12: A. Blocks of the file that failed to read or parse (their first lines),
    # and the steps they would have defined ("*": a step whose name is unreadable).
    # Checks about the whole program must not guess about what these blocks held.
    unread_lines: tuple[int, ...] = ()
    unread_steps: tuple[str, ...] = ()

    def step(self, name: str) -> Step | None:
        """The first step of this name, or None.

        issue 13: A: looked up by name, not by a scan of the steps: every `goto` and
        quick reply of a flow asks this (the structure check, the engine), so a scan
        made a flow of many steps and many triggers quadratic. The index is kept
        beside the flow (see _steps_by_name), not in it: the model stays plain data.
        """
        return _steps_by_name(self).get(name)

    def may_define(self, name: str) -> bool:
        """issue 12: A. True if a block that failed to parse may be step `name`."""
        return name in self.unread_steps or "*" in self.unread_steps


# issue 13: A. Each flow's steps by name (the first of a name), made on first use and
# dropped with the flow: keyed by id() with a weak reference, since a frozen model's
# hash would hash the whole flow.
_STEP_INDEXES: dict[int, tuple[weakref.ref[Flow], dict[str, Step]]] = {}


def _steps_by_name(flow: Flow) -> dict[str, Step]:
    key = id(flow)
    held = _STEP_INDEXES.get(key)
    if held is not None and held[0]() is flow:
        return held[1]
    index: dict[str, Step] = {}
    for step in flow.steps:
        index.setdefault(step.name, step)

    def forget(_: object, key: int = key) -> None:
        _STEP_INDEXES.pop(key, None)

    _STEP_INDEXES[key] = (weakref.ref(flow, forget), index)
    return index


# issue 13: A. Each class's validator is built when it is first needed, not here
# (`defer_build`, _DEFERRED): `pageflows check` makes its most frequent nodes
# without validation (trusted.py) and never needs most validators; building
# all of them was a sixth of the command's start-up. The forward references
# (`After.body` holds actions defined below it) are resolved then, from this
# module, as the model_rebuild() calls that stood here resolved them.
