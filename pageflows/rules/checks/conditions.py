"""Numbers compared with fields that may not hold one, and typing that holds nothing back.

issue 12: D. `if guests > 8` reads the field as a number; an answer to an
`ask ... into guests` that is not `as number` can be "eight" or "8 people", and
then every comparison is false (docs/language.md, "Conditions"): the contact
takes the `else` branch without anyone noticing. So the checker warns where a
field compared as a number is asked for as text (PF418).

`typing 2s` shows the indicator and holds the *next* message; where nothing is
sent after it in its block, the contact sees dots that lead nowhere (PF419).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from pydantic import BaseModel

from pageflows.rules import model as m
from pageflows.rules.diagnostics import Code, Diagnostic, warning
from pageflows.rules.values import parse_number
from pageflows.rules.walk import nodes, roots, walk_flow

# What ends a block's run without sending anything after a typing indicator.
ENDS_SILENTLY = (m.Stop, m.Handoff)
_ENDS_SILENTLY = frozenset(ENDS_SILENTLY)  # looked up by type (no model class has subclasses)


def check(flows: list[m.Flow], every: Sequence[BaseModel] | None = None) -> list[Diagnostic]:
    """``every`` is `nodes(flows)` when the caller has it already (run_checks, issue 13: A)."""
    every = nodes(flows) if every is None else every
    return _numbers_from_text(every) + typing_before_nothing(flows)


def _numbers_from_text(every: Sequence[BaseModel]) -> list[Diagnostic]:
    text_asks: dict[str, m.Ask] = {}
    # issue 13: A: `type(node) is`, not isinstance through pydantic's metaclass, on
    # each of a quarter of a million nodes (no model class has subclasses); the asks
    # and the comparisons picked out in one pass.
    asks: list[m.Ask] = []
    compares: list[m.Compare] = []
    for node in every:
        kind = type(node)
        if kind is m.Ask:
            asks.append(cast(m.Ask, node))
        elif kind is m.Compare:
            compares.append(cast(m.Compare, node))
    for asked in asks:
        if asked.expects != "number":
            text_asks.setdefault(asked.field, asked)
    found: list[Diagnostic] = []
    warned: set[str] = set()
    for node in compares:
        if node.field in warned:
            continue
        if parse_number(node.number_text) is None:
            continue  # not a number at all: PF130 says so, one mistake, one finding
        ask = text_asks.get(node.field)
        if ask is None:
            continue
        warned.add(node.field)
        where = f"line {ask.span.line}"
        if ask.span.path != node.span.path:
            where = f"{ask.span.path.rsplit('/', 1)[-1]}:{ask.span.line}"
        found.append(
            warning(
                Code.NUMBER_FROM_TEXT,
                node.span,
                f'"{node.field}" is asked as {ask.expects} ({where}), so an answer'
                f' such as "eight" is not a number and `{node.field} {node.op}'
                f" {node.number_text}` is false for it",
                f"ask it as a number: `ask ... into {node.field} as number`",
            )
        )
    return found


def typing_before_nothing(flows: list[m.Flow]) -> list[Diagnostic]:
    """A typing indicator last in a trigger, step, broadcast or `after` body, or just
    before a `stop` or `handoff`: nothing follows for it to announce."""
    bodies: list[tuple[m.Action, ...]] = []
    for flow in flows:
        bodies += [root.body for root in roots(flow)]
        # issue 13: A: kinds by `type(...) is`, as above, for every action.
        bodies += [action.body for action, _ in walk_flow(flow) if type(action) is m.After]
    found: list[Diagnostic] = []
    for body in bodies:
        for n, action in enumerate(body):
            if type(action) is not m.Typing:
                continue
            following = body[n + 1] if n + 1 < len(body) else None
            if following is None or type(following) in _ENDS_SILENTLY:
                found.append(
                    warning(
                        Code.TYPING_BEFORE_NOTHING,
                        action.span,
                        "nothing is sent after this typing indicator: the contact sees"
                        " Messenger's dots, then nothing",
                        "put typing just before the message it announces, or remove it",
                    )
                )
    return found
