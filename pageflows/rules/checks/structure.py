"""Names and targets: every goto lands somewhere, names are unique, steps are reachable."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import NamedTuple, cast

from pageflows.rules import model as m
from pageflows.rules.diagnostics import Code, Diagnostic, error, warning
from pageflows.rules.source import Span
from pageflows.rules.walk import reactions, roots, walk_flow


def targets_of(action: m.Action) -> list[m.Target]:
    """issue 13: A: kinds told by `type(...) is` (no model class has subclasses), not
    isinstance through pydantic's metaclass, for every action and reaction."""
    found = [r.target for r in reactions(action) if type(r) is m.Goto]
    if type(action) is m.Goto:
        found.append(action.target)
    if type(action) is m.Ask and action.give_up is not None:  # issue 12: asks
        found.append(action.give_up)
    return found


def check(flows: list[m.Flow]) -> list[Diagnostic]:
    by_name = {f.name: f for f in flows}
    found = same_names(flows)
    local, reached = within(flows, by_name)
    found += local
    # issue 12: A: a block that failed to parse may hold the goto that leads there.
    unread = any(f.unread_lines for f in flows)
    found += unreachable(flows, reached, unread)
    return found


def same_names(flows: Sequence[m.Flow | Steps]) -> list[Diagnostic]:
    """Two flow files of one name (in two folders): the later one."""
    found: list[Diagnostic] = []
    seen_flows: dict[str, m.Flow | Steps] = {}
    for flow in flows:
        if flow.name in seen_flows:
            found.append(
                error(
                    Code.DUPLICATE_NAME,
                    m_span(flow),
                    f'two flow files are named "{flow.name}"',
                    f"the other one is {seen_flows[flow.name].path}; rename one of them",
                )
            )
        seen_flows.setdefault(flow.name, flow)
    return found


def within(
    flows: list[m.Flow], by_name: Mapping[str, m.Flow | Steps]
) -> tuple[list[Diagnostic], set[tuple[str, str]]]:
    """The findings of each flow's own blocks (names defined twice, targets, private
    replies, actions after a jump), and the steps its targets reach.

    issue 13: A: apart from `unreachable`, which needs every flow's targets: `pageflows
    check` runs this in a forked child for flows whose targets are all their own
    (rules/split_check.py), with ``by_name`` of its flows only.
    """
    found = _duplicates(flows)
    reached: set[tuple[str, str]] = set()
    for flow in flows:
        for action, where in walk_flow(flow):
            for target in targets_of(action):
                problem = _resolve(target, flow, by_name)
                if problem:
                    found.append(problem)
                    meant = _meant_step(target, flow, by_name)
                    if meant is not None:  # one slip, one finding: not also "unreachable"
                        reached.add(meant)
                else:
                    reached.add((target.flow or flow.name, target.step))
            if type(action) is m.PrivateReply and (not where.is_comment_trigger or where.in_after):
                found.append(
                    error(
                        Code.PRIVATE_REPLY_OUTSIDE_COMMENT,
                        action.span,
                        "a private reply can only answer the comment that fired an"
                        " `on comment` trigger",
                        "move it into an `on comment ...:` block (not inside `after`), or use send",
                    )
                )
        found += _after_jumps(flow)
    return found, reached


def unreachable(
    flows: Sequence[m.Flow | Steps], reached: set[tuple[str, str]], unread: bool
) -> list[Diagnostic]:
    """Steps no target of any flow reaches (none when a block failed to parse)."""
    found: list[Diagnostic] = []
    for flow in flows if not unread else ():
        for step in flow.steps:
            if (flow.name, step.name) not in reached:
                found.append(
                    warning(
                        Code.UNREACHABLE_STEP,
                        step.span,
                        f'no trigger, quick reply, button or goto leads to step "{step.name}"',
                        "link it from a quick reply or a goto, or delete it",
                    )
                )
    return found


class StepName(NamedTuple):
    """A step as the other flows' targets see it: its name, and where it is."""

    name: str
    span: Span


class Steps:
    """issue 13: A: a flow checked in a forked child (rules/split_check.py), as much of it
    as the checks here read: its name, file and steps (all its targets are its own, and
    no block of it failed to parse)."""

    def __init__(self, name: str, path: str, steps: tuple[StepName, ...]) -> None:
        self.name = name
        self.path = path
        self.steps = steps
        self._by_name: dict[str, StepName] = {}
        for step in steps:
            self._by_name.setdefault(step.name, step)

    def step(self, name: str) -> StepName | None:
        return self._by_name.get(name)

    def may_define(self, name: str) -> bool:
        return False


def m_span(flow: m.Flow | Steps) -> Span:
    return Span.point(flow.path, 1, 1)


def _duplicates(flows: list[m.Flow]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    broadcasts: dict[str, m.Broadcast] = {}
    for flow in flows:
        steps: dict[str, m.Step] = {}
        for step in flow.steps:
            if step.name in steps:
                first = steps[step.name].span
                found.append(
                    error(
                        Code.DUPLICATE_NAME,
                        step.span,
                        f'step "{step.name}" is defined twice in this flow',
                        f"the first one is at line {first.line}; rename one of them",
                    )
                )
            steps.setdefault(step.name, step)
        for broadcast in flow.broadcasts:
            if broadcast.name in broadcasts:
                first = broadcasts[broadcast.name].span
                found.append(
                    error(
                        Code.DUPLICATE_NAME,
                        broadcast.span,
                        f'broadcast "{broadcast.name}" is defined twice',
                        f"the first one is at {first}; broadcast names are unique in a folder",
                    )
                )
            broadcasts.setdefault(broadcast.name, broadcast)
    return found


def _meant_step(
    target: m.Target, flow: m.Flow, by_name: Mapping[str, m.Flow | Steps]
) -> tuple[str, str] | None:
    """The step a misspelt target most likely meant (flow name, step name), if any."""
    owner = by_name.get(target.flow or flow.name)
    if owner is None:
        return None
    close = difflib.get_close_matches(target.step, [s.name for s in owner.steps], 1, 0.6)
    return (owner.name, close[0]) if close else None


def _resolve(
    target: m.Target, flow: m.Flow, by_name: Mapping[str, m.Flow | Steps]
) -> Diagnostic | None:
    owner = by_name.get(target.flow or flow.name)
    if owner is None:
        close = difflib.get_close_matches(target.flow or "", list(by_name), n=1, cutoff=0.6)
        hint = (
            f'did you mean "{close[0]}.{target.step}"?'
            if close
            else "flows are named after their files; loaded: " + ", ".join(sorted(by_name))
        )
        return error(Code.UNKNOWN_TARGET, target.span, f'there is no flow "{target.flow}"', hint)
    if owner.step(target.step) is not None or owner.may_define(target.step):
        return None  # issue 12: A: a block that failed to parse may be that step
    names = [s.name for s in owner.steps]
    meant = _meant_step(target, flow, by_name)
    if meant is not None:
        hint = f'did you mean "{meant[1]}"?'
    elif names:
        hint = "steps in this flow: " + ", ".join(names)
    else:
        hint = f'define it with "step {target.step}:"'
    where = "this flow" if owner is flow else f'flow "{owner.name}"'
    return error(
        Code.UNKNOWN_TARGET, target.span, f'there is no step "{target.step}" in {where}', hint
    )


def _after_jumps(flow: m.Flow) -> list[Diagnostic]:
    """Actions after a goto or stop in the same block never run."""
    found: list[Diagnostic] = []

    def scan(actions: tuple[m.Action, ...]) -> None:
        for i, action in enumerate(actions):
            kind = type(action)  # issue 13: A: see _targets
            if (kind is m.Goto or kind is m.Stop) and i + 1 < len(actions):
                word = "goto" if kind is m.Goto else "stop"
                found.append(
                    warning(
                        Code.CODE_AFTER_JUMP,
                        actions[i + 1].span,
                        f"this never runs: the {word} on line {action.span.line} leaves the block",
                        f"move it above the {word}, or delete it",
                    )
                )
            if kind is m.After:
                scan(cast(m.After, action).body)
            elif kind is m.If or kind is m.Split:
                branches = cast(m.If | m.Split, action)
                scan(branches.then)
                scan(branches.otherwise)

    for root in roots(flow):
        scan(root.body)
    return found
