"""issue 13: A. Nodes made without validation (rules/trusted.py) are the nodes validation makes.

build.py and values.py make their most frequent nodes with `trusted`, which
skips pydantic's validation. This builds every flow of the corpus (examples,
golden cases, fixtures, the benchmark's flows, every form of the language)
twice, once with every trusted node validated, and compares the two models
node by node: class, fields and their order, the set of fields given, extra
and private values, and every value with its exact type. The findings, too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from pageflows.rules import model as m
from pageflows.rules import trusted
from pageflows.rules.build import build_flow
from pageflows.rules.diagnostics import Diagnostic
from pageflows.rules.parse import parse_bytes

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bench_check import flow_text  # noqa: E402
from tests.unit.test_read_block import EVERY_FORM  # noqa: E402


def sources() -> list[tuple[str, bytes]]:
    found = [("every_form.flow", EVERY_FORM.encode())]
    for folder in ("examples", "tests/golden", "tests/fixtures"):
        found += [(str(p), p.read_bytes()) for p in sorted((ROOT / folder).rglob("*.flow"))]
    for findings in (False, True):
        found.append((f"bench_{findings}.flow", flow_text(0, 400, findings=findings).encode()))
    return found


def built(path: str, data: bytes) -> tuple[m.Flow, list[Diagnostic]]:
    return build_flow(parse_bytes(path, data), Path(path).stem)


def assert_same(ours: object, theirs: object, where: str) -> None:
    """Equal, of the very same types, down to the leaves; models field by field."""
    assert type(ours) is type(theirs), f"{where}: {type(ours)} != {type(theirs)}"
    if isinstance(ours, BaseModel):
        assert isinstance(theirs, BaseModel)
        assert list(ours.__dict__) == list(theirs.__dict__), where
        assert ours.model_fields_set == theirs.model_fields_set, where
        assert ours.__pydantic_extra__ == theirs.__pydantic_extra__, where
        assert ours.__pydantic_private__ == theirs.__pydantic_private__, where
        for name, value in ours.__dict__.items():
            assert_same(value, theirs.__dict__[name], f"{where}.{name}")
    elif isinstance(ours, tuple | list) and not isinstance(ours, str):
        assert isinstance(theirs, tuple | list)
        assert len(ours) == len(theirs), where
        for n, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{n}]")
    else:
        assert ours == theirs, where


def test_trusted_nodes_are_the_validated_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = sources()
    assert len(corpus) > 20
    fast = [built(path, data) for path, data in corpus]
    monkeypatch.setattr(trusted, "VALIDATE", True)
    checked = [built(path, data) for path, data in corpus]
    for (path, _), ours, theirs in zip(corpus, fast, checked, strict=True):
        assert_same(ours[0], theirs[0], path)
        assert ours[1] == theirs[1], path
        assert ours[0] == theirs[0]
        assert ours[0].model_dump() == theirs[0].model_dump()
        assert repr(ours[0]) == repr(theirs[0])


def test_a_trusted_node_is_an_ordinary_frozen_node() -> None:
    flow, found = built("one.flow", b'on keyword "hi" exact:\n    send "Hi {contact.first_name}"\n')
    assert found == []
    block = flow.triggers[0]
    assert block == m.TriggerBlock(span=block.span, trigger=block.trigger, body=block.body)
    assert hash(block.span) and block.model_dump()["trigger"]["phrases"] == ("hi",)
    with pytest.raises(ValueError, match="frozen"):
        block.body = ()  # type: ignore[misc]
    text = block.body[0].text  # type: ignore[union-attr]
    assert text.model_copy(update={"raw": "x"}).raw == "x"
    assert text.raw == "Hi {contact.first_name}"


def test_nodes_sharing_their_set_of_given_fields_do_not_see_each_other_change() -> None:
    """issue 13: A: trusted nodes of the same fields share one `model_fields_set`."""
    flow, _ = built("two.flow", b'on keyword "a":\n    goto s\n\non keyword "b":\n    goto s\n')
    first, second = (block.body[0] for block in flow.triggers)
    assert isinstance(first, m.Goto) and isinstance(second, m.Goto)
    given = set(second.model_fields_set)
    with pytest.raises(ValueError, match="frozen"):
        first.span = second.span  # type: ignore[misc]
    copied = first.model_copy(update={"span": second.span})
    copied.model_fields_set.add("whatever")
    for other in (first.model_copy(), first.model_copy(deep=True)):
        other.model_fields_set.add("whatever")
    assert second.model_fields_set == given == first.model_fields_set
    assert m.Goto.model_construct(span=first.span, target=first.target).model_fields_set == given


def test_only_frozen_models_share_their_set_of_given_fields() -> None:
    class Open(BaseModel):
        name: str = ""

    one = trusted.trusted(Open, {"name": "a"}, frozenset({"name"}))
    two = trusted.trusted(Open, {"name": "b"}, frozenset({"name"}))
    assert one.model_fields_set is not two.model_fields_set
    one.name = "c"
    assert two.model_fields_set == {"name"}
