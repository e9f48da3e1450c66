"""issue 13: A. `walk.nodes`, now one stack instead of nested generators, walks as before.

The checks that look for a kind of node wherever it sits (fields.py,
conditions.py) read `nodes`; its order decides which use of a field is "first"
and so where a finding points. This compares it with the plain recursive walk
it replaced, on every example and golden flow.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from pageflows.rules import model as m
from pageflows.rules.build import build_flow
from pageflows.rules.parse import parse_bytes
from pageflows.rules.source import Span
from pageflows.rules.walk import nodes

ROOT = Path(__file__).resolve().parents[2]
FLOWS = sorted([*ROOT.glob("examples/**/*.flow"), *ROOT.glob("tests/golden/**/*.flow")])


def recursive(value: object) -> Iterator[BaseModel]:
    """The walk as it was written before: parents first, fields in declared order."""
    if isinstance(value, Span):
        return
    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from recursive(getattr(value, name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from recursive(item)


def built(path: Path) -> m.Flow:
    flow, _ = build_flow(parse_bytes(str(path), path.read_bytes()), path.stem)
    return flow


def test_nodes_walks_as_the_recursive_walk() -> None:
    flows = [built(path) for path in FLOWS]
    for path, flow in zip(FLOWS, flows, strict=True):
        walked = [id(n) for n in nodes([flow])]
        assert walked == [id(n) for n in recursive([flow])], path
    # And over a list of flows, as the checks call it.
    assert [id(n) for n in nodes(flows)] == [id(n) for n in recursive(flows)]


def test_nodes_reaches_nested_actions_and_skips_positions() -> None:
    assert len(FLOWS) > 10
    every = [n for path in FLOWS for n in nodes(built(path))]
    kinds = {type(n) for n in every}
    # Inside an `after`, an `if`, a quick reply: all reached; a position never yielded.
    assert {m.After, m.If, m.QuickReply, m.SetField, m.Text, m.Placeholder} <= kinds
    assert Span not in kinds


def test_no_model_class_has_subclasses() -> None:
    """issue 13: A: checks test a node's kind by `type(node) is`, a set look-up of its
    type, not isinstance (slow through pydantic's metaclass): right only while no
    model class has subclasses. A subclass needs those checks to use isinstance."""
    from pydantic import BaseModel

    from pageflows.rules import model as m

    classes = [c for c in vars(m).values() if isinstance(c, type) and issubclass(c, BaseModel)]
    assert len(classes) > 40
    with_subclasses = [
        c.__name__ for c in classes if c.__subclasses__() and c not in (m.Node, BaseModel)
    ]
    assert with_subclasses == []


def test_fields_of_plain_values_are_left_out_of_the_walk() -> None:
    """issue 13: A: `nodes` skips a field only when its type can hold no node."""
    from pageflows.rules.walk import _fields_reversed

    assert _fields_reversed(m.Text) == ("parts",)
    assert _fields_reversed(m.KeywordTrigger) == ()  # span, kind, phrases, mode: values
    assert _fields_reversed(m.QuickReply) == ("title_text", "reaction")
    assert _fields_reversed(m.Flow) == ("broadcasts", "steps", "triggers")
