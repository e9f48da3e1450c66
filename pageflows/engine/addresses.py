"""Stable addresses of places in flows: where a follow-up, an ask or a button leads.

A root is `flow:on:N` (the N-th trigger of the file), `flow:step:NAME` or
`flow:broadcast:NAME`; a path walks into it: `(2, "then", 0)` is the first
action of the `then` branch of the third action. Stored follow-ups and
payloads on buttons keep working across restarts as long as the flow keeps
its shape.
"""

from __future__ import annotations

from typing import Any

from pageflows.rules import model as m
from pageflows.rules.compile import Program

Path = tuple[int | str, ...]


def trigger_root(program: Program, trigger_id: int) -> str:
    compiled = program.triggers[trigger_id]
    flow = program.flows[compiled.flow]
    return f"{flow.name}:on:{flow.triggers.index(compiled.block)}"


def step_root(flow: str, step: str) -> str:
    return f"{flow}:step:{step}"


def broadcast_root(flow: str, name: str) -> str:
    return f"{flow}:broadcast:{name}"


def resolve(program: Program, root: str) -> tuple[str, tuple[m.Action, ...]] | None:
    """(flow name, actions) of a root, or None when the flows changed under it."""
    try:
        flow_name, kind, name = root.split(":", 2)
    except ValueError:
        return None
    flow = program.flows.get(flow_name)
    if flow is None:
        return None
    if kind == "on" and name.isdigit() and int(name) < len(flow.triggers):
        return flow_name, flow.triggers[int(name)].body
    if kind == "step":
        step = flow.step(name)
        return (flow_name, step.body) if step else None
    if kind == "broadcast":
        found = next((b for b in flow.broadcasts if b.name == name), None)
        return (flow_name, found.body) if found else None
    return None


def branch(action: m.Action, name: str) -> tuple[m.Action, ...]:
    if isinstance(action, m.After) and name == "body":
        return action.body
    if isinstance(action, m.If | m.Split):
        return action.then if name == "then" else action.otherwise
    raise LookupError(name)


def node_at(actions: tuple[m.Action, ...], path: Path) -> Any:
    """The node at `path`, or raise LookupError (a stale address)."""
    node: Any = actions
    i = 0
    while i < len(path):
        step = path[i]
        if isinstance(node, tuple):
            if not isinstance(step, int) or step >= len(node):
                raise LookupError(path)
            node = node[step]
            i += 1
            continue
        if not isinstance(step, str) or i + 1 >= len(path):
            raise LookupError(path)
        index = path[i + 1]
        if not isinstance(index, int):
            raise LookupError(path)
        if step == "quick" and isinstance(node, m.Ask):  # issue 12: an ask's answers to tap
            items: tuple[Any, ...] = node.choices
        elif step == "quick":
            items = node.quick_replies
        elif step == "button":
            items = node.buttons
        elif step == "card":
            items = node.cards
        else:
            items = branch(node, step)
            node = items
            i += 1
            continue
        if index >= len(items):
            raise LookupError(path)
        node = items[index]
        i += 2
    return node
