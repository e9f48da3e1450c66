"""Walking action trees with their context, for checks and compilation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import UnionType
from typing import Annotated, Literal, Union, cast, get_args, get_origin

from pydantic import BaseModel

from pageflows.rules import model as m
from pageflows.rules.source import Span


@dataclass(frozen=True)
class Where:
    """Where an action sits: which flow, which root block, and under which `after`s."""

    flow: m.Flow
    root: m.TriggerBlock | m.Step | m.Broadcast
    delay: timedelta = timedelta(0)
    channel_tag: str | None = None
    channel_topic: str | None = None
    in_after: bool = False

    @property
    def is_comment_trigger(self) -> bool:
        return isinstance(self.root, m.TriggerBlock) and isinstance(
            self.root.trigger, m.CommentTrigger
        )


def children(action: m.Action) -> tuple[tuple[m.Action, ...], ...]:
    if isinstance(action, m.After):
        return (action.body,)
    if isinstance(action, m.If | m.Split):
        return (action.then, action.otherwise)
    return ()


def walk_actions(actions: tuple[m.Action, ...], where: Where) -> Iterator[tuple[m.Action, Where]]:
    for action in actions:
        yield action, where
        # issue 13: A: one dict look-up of the action's type, not isinstance calls
        # (each goes through pydantic's metaclass) for every action of every check.
        shape = _SHAPES.get(type(action))
        if shape is None:
            shape = _shape_of(type(action))
        if shape == _PLAIN:
            continue
        if isinstance(action, m.After):
            inner = Where(
                flow=where.flow,
                root=where.root,
                delay=where.delay + action.delay,
                channel_tag=action.tag or where.channel_tag,
                channel_topic=action.topic or where.channel_topic,
                in_after=True,
            )
            yield from walk_actions(action.body, inner)
        else:
            for branch in children(action):
                yield from walk_actions(branch, where)


_PLAIN, _NESTS = 0, 1
_SHAPES: dict[type, int] = {}


def _shape_of(kind: type) -> int:
    """Whether actions of this type hold other actions (`after`, `if`, `split`)."""
    shape = _NESTS if issubclass(kind, m.After | m.If | m.Split) else _PLAIN
    _SHAPES[kind] = shape
    return shape


def roots(flow: m.Flow) -> Iterator[m.TriggerBlock | m.Step | m.Broadcast]:
    yield from flow.triggers
    yield from flow.steps
    yield from flow.broadcasts


def walk_flow(flow: m.Flow) -> Iterator[tuple[m.Action, Where]]:
    """Every action of the flow with where it sits, roots in order, parents first."""
    walked = _SHARED.get(id(flow))
    if walked is not None and walked[0] is flow:
        return iter(walked[1])
    return _walk_flow(flow)


# issue 13: A: the walks of the flows being checked, made once (see shared_walks).
_SHARED: dict[int, tuple[m.Flow, list[tuple[m.Action, Where]]]] = {}


@contextmanager
def shared_walks(flows: list[m.Flow]) -> Iterator[None]:
    """Within this block, `walk_flow` of these flows gives one walk made up front.

    Why: a dozen checks each walk every flow; 10,000 triggers made 120,000 `Where`
    values and as many generator chains. The walks are dropped at the end.
    """
    for flow in flows:
        _SHARED[id(flow)] = (flow, list(_walk_flow(flow)))
    try:
        yield
    finally:
        for flow in flows:
            _SHARED.pop(id(flow), None)


def _walk_flow(flow: m.Flow) -> Iterator[tuple[m.Action, Where]]:
    for root in roots(flow):
        where = Where(flow=flow, root=root)
        if isinstance(root, m.Broadcast):
            where = Where(flow=flow, root=root, channel_tag=root.tag)
            if root.audience == "subscribers":
                where = Where(flow=flow, root=root, channel_topic=root.audience_value)
        yield from walk_actions(root.body, where)


def reactions(action: m.Action) -> Iterator[m.Reaction]:
    """Quick replies' and buttons' reactions inside one action.

    issue 13: A: kinds told by `type(...) is`, as in `taps`.
    """
    kind = type(action)
    if kind is m.SendText or kind is m.PrivateReply or kind is m.SendTemplate:
        for quick in cast(m.SendText | m.PrivateReply | m.SendTemplate, action).quick_replies:
            yield quick.reaction
    buttons: tuple[m.Button, ...] = ()
    if kind is m.SendButtons:
        buttons = cast(m.SendButtons, action).buttons
    elif kind is m.SendCards:
        buttons = tuple(b for card in cast(m.SendCards, action).cards for b in card.buttons)
    for button in buttons:
        if type(button) is m.ReactButton:
            yield button.reaction
    if kind is m.Ask:  # issue 12: asks: `quick "More" -> step` under a question
        for choice in cast(m.Ask, action).choices:
            if choice.reaction is not None:
                yield choice.reaction


Tap = m.QuickReply | m.ReactButton | m.AskChoice


def taps(action: m.Action) -> Iterator[Tap]:
    """The quick replies and buttons inside one action whose tap runs a reaction.

    A quick answer under an `ask` runs one only when it leads elsewhere
    (`quick "More than 8" -> big_group`); a plain one is taken as the answer.
    issue 13: A: the action's type compared (`is`), not isinstance through
    pydantic's metaclass: a dozen checks ask this of every action.
    """
    kind = type(action)
    if kind is m.SendText or kind is m.PrivateReply or kind is m.SendTemplate:
        yield from cast(m.SendText | m.PrivateReply | m.SendTemplate, action).quick_replies
    elif kind is m.Ask:
        yield from (c for c in cast(m.Ask, action).choices if c.reaction is not None)
    elif kind is m.SendButtons:
        buttons = cast(m.SendButtons, action).buttons
        yield from (b for b in buttons if type(b) is m.ReactButton)
    elif kind is m.SendCards:
        for card in cast(m.SendCards, action).cards:
            yield from (b for b in card.buttons if type(b) is m.ReactButton)


def nodes(value: object) -> list[BaseModel]:
    """Every model node under ``value`` (itself included), whatever field holds it.

    Why not walk_flow: checks that look for one kind of node wherever it sits (a
    `set` in a quick reply, a template in a button title) stay right when the
    language gains a new place for it, without a new case here.

    issue 13: A. Depth first, parents before children, fields in their declared
    order (as a recursive walk yields them), but with one stack and no generator
    per level: 10,000 triggers are a quarter of a million nodes, and nested
    generators cost a resume per level for each of them. A leaf (a string, a
    number) costs one dict look-up of its type. Positions (`Span`, on every
    node) are not walked: they are where a node is, not a part of the flow.
    A list, not a generator: every caller reads all of it, and a quarter of a
    million generator resumes cost a fifth of the walk.
    """
    found: list[BaseModel] = []
    add = found.append
    stack: list[object] = [value]
    pop, push = stack.pop, stack.extend
    plans = _PLANS
    while stack:
        item = pop()
        plan = plans.get(type(item), _UNSEEN)
        if plan is _UNSEEN:
            plan = _plan_of(type(item))
        if plan is None:
            continue  # a leaf
        if plan is _SEQUENCE:
            push(reversed(cast(tuple[object, ...], item)))
            continue
        add(cast(BaseModel, item))
        if plan:
            push(map(item.__dict__.__getitem__, plan))
    return found


# What to do with a value of each type met so far, one dict look-up per value
# (an isinstance against BaseModel goes through its metaclass): None for a leaf,
# _SEQUENCE for a tuple or list, else the model's fields to walk (_fields_reversed).
_SEQUENCE: tuple[str, ...] = ("<sequence>",)
_UNSEEN: tuple[str, ...] = ("<unseen>",)
_PLANS: dict[type, tuple[str, ...] | None] = {Span: None}


def _plan_of(kind: type) -> tuple[str, ...] | None:
    plan = (
        _fields_reversed(kind)
        if issubclass(kind, BaseModel)
        else _SEQUENCE
        if issubclass(kind, tuple | list)
        else None
    )
    _PLANS[kind] = plan
    return plan


_FIELDS_REVERSED: dict[type[BaseModel], tuple[str, ...]] = {}


def _fields_reversed(kind: type[BaseModel]) -> tuple[str, ...]:
    """The model class's fields that may hold a node, last first (the first pops first).

    issue 13: A. A field typed as plain values only (`raw: str`, `span: Span`,
    `phrases: tuple[str, ...]`) never holds a node: it is left out, so its value
    is neither pushed nor looked at (most of the values of a flow are such
    leaves). Which nodes come out, and in which order, is unchanged.
    """
    names = _FIELDS_REVERSED.get(kind)
    if names is None:
        names = _FIELDS_REVERSED[kind] = tuple(
            name
            for name, info in reversed(kind.model_fields.items())
            if not _only_values(info.annotation)
        )
    return names


# Types whose values are never nodes nor hold any.
_VALUE_TYPES: frozenset[object] = frozenset(
    {str, int, bool, float, Decimal, date, datetime, timedelta, type(None), Span}
)


def _only_values(annotation: object) -> bool:
    """True if every value of this annotation is a leaf (no model, no sequence of models).

    Conservative: any type it does not know (`Any`, a model, a list) counts as
    possibly holding nodes, and is walked as before.
    """
    if annotation in _VALUE_TYPES:
        return True
    origin = get_origin(annotation)
    if origin is Literal:
        return True
    if origin is Annotated:
        return _only_values(get_args(annotation)[0])
    if origin is Union or origin is UnionType or origin is tuple:
        return all(arg is Ellipsis or _only_values(arg) for arg in get_args(annotation))
    return False
