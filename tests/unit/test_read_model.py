"""Blocks read straight into the model (rules/read_model.py) are the model build.py makes.

issue 13: A. `read_model.read` skips Lark's trees for the common blocks. Here
every block it reads is also parsed by Lark and built by build.py from that
tree, and the two are compared node by node (`read_model.differences`: class,
fields and their order, fields given, every value with its exact type); the
tree's build must find nothing, since the fast path leaves every block with a
finding to build.py. Blocks: every form of the language, the examples, golden
cases and fixtures, the benchmark's flows, real blocks edited at random, and
flows generated from the forms it reads (hypothesis). tests/conftest.py does
the same for every block the rest of the suite reads.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pageflows.engine.policy_table import RULES, check_tag
from pageflows.rules import model as m
from pageflows.rules import parse, read_model
from pageflows.rules.build import build_flow
from pageflows.rules.load import load_texts
from pageflows.rules.source import Span

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from both_ways import edited, from_tree, same_as_the_tree  # noqa: E402

from bench.bench_check import flow_text  # noqa: E402
from tests.unit.test_read_block import CORPUS, EVERY_FORM, PIECES, blocks  # noqa: E402


def test_every_form_and_the_corpus_are_built_as_from_the_tree() -> None:
    read = [chunk for chunk in [*blocks(EVERY_FORM), *CORPUS] if same_as_the_tree(chunk)]
    assert len(read) > 60  # the common forms are read straight into the model


def test_the_benchmark_flows_are_read_straight_into_the_model() -> None:
    for findings in (False, True):
        for n, chunk in enumerate(blocks(flow_text(0, 400, findings=findings))):
            if chunk.strip().startswith("#") and "\n" not in chunk.strip():
                continue  # a comment alone, at the end
            assert same_as_the_tree(chunk, "bench.flow", n * 5), chunk


def test_positions_count_from_the_blocks_line_in_the_file() -> None:
    chunk = 'on keyword "a":\n    send "x"\n        quick "y" -> menu\n'
    nodes = read_model.read(chunk, "f.flow", 9)
    assert nodes is not None
    block = nodes[0]
    assert isinstance(block, m.TriggerBlock)
    assert block.trigger.span == Span("f.flow", 10, 4, 10, 15)
    assert same_as_the_tree(chunk, "f.flow", 9)


def test_what_build_py_would_report_is_left_to_it() -> None:
    for chunk in [
        'on keyword "":\n    send "x"\n',  # an empty keyword
        'on keyword "a":\n    send "\\q"\n',  # an unknown escape
        'on keyword "a":\n    send "a { b"\n',  # a brace that is not closed
        'on keyword "a":\n    send "a } b"\n',  # a brace that closes nothing
        'on keyword "a":\n    set Size = "M"\n',  # not a field name
        'on ref "a b":\n    send "x"\n',  # not a ref
        'on keyword "a":\n    ask "Size?" into size\n',  # a form it does not read
        'on keyword "a":\n\tsend "x"\n',  # tabs
        'broadcast b to everyone at "2026-12-01 10:00" in "UTC":\n    send "x"\n',
        "# only a comment\n",
    ]:
        assert read_model.read(chunk, "x.flow", 0) is None, chunk
        assert from_tree(chunk, "x.flow", 0) is None or not same_as_the_tree(chunk)


def test_differences_finds_what_differs() -> None:
    chunk = 'on keyword "a", "b" exact:\n    tag "t"\n    send "x"\n        quick "y" -> f.s\n'
    ours = read_model.read(chunk, "x.flow", 0)
    theirs = from_tree(chunk, "x.flow", 0)
    assert ours is not None and theirs is not None
    assert read_model.differences(ours, theirs[0]) == []
    block = ours[0]
    assert isinstance(block, m.TriggerBlock)
    moved = block.model_copy(update={"span": Span("x.flow", 1, 1, 5, 2)})
    assert read_model.differences((moved,), theirs[0])
    validated = m.TriggerBlock(span=block.span, trigger=block.trigger, body=block.body)
    assert read_model.differences((validated,), theirs[0]) == []
    starts = block.trigger.model_copy(update={"mode": "starts"})
    renamed = block.model_copy(update={"trigger": starts})
    assert read_model.differences((renamed,), theirs[0])
    assert read_model.differences(("x",), (b"x",))
    assert read_model.differences((1,), (1.0,))


def test_whole_files_load_the_same_either_way() -> None:
    texts = {f"f{n}.flow": flow_text(n, 60, findings=n % 2 == 1).encode() for n in range(3)}
    texts["every_form.flow"] = EVERY_FORM.encode()
    for folder in ("examples", "tests/golden"):
        for path in sorted((ROOT / folder).rglob("*.flow")):
            texts[str(path)] = path.read_bytes()
    day = date(2026, 11, 28)
    fast = load_texts(texts, day, check_tag, (), RULES.token_regions)
    read = read_model.read
    try:
        read_model.read = lambda *_: None  # type: ignore[assignment]
        slow = load_texts(texts, day, check_tag, (), RULES.token_regions)
    finally:
        read_model.read = read  # type: ignore[assignment]
    assert fast.diagnostics == slow.diagnostics
    assert read_model.differences(fast.flows, slow.flows) == []
    assert (fast.program is None) == (slow.program is None)


# ------------------------------------------------------------------ edited and generated

EDITS = (*PIECES, '"\\q"', '"{"', '""', '" "', '"{contact.first_name|x}"', "a.b", "->", "-> x")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CORPUS),
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 12), st.sampled_from(EDITS)),
        min_size=1,
        max_size=4,
    ),
)
def test_edited_blocks_are_built_as_from_the_tree_or_left_to_it(
    chunk: str, edits: list[tuple[float, int, str]]
) -> None:
    """Insert a piece, or replace up to 12 characters with it, anywhere in a real block."""
    same_as_the_tree(edited(chunk, edits))


_GOOD_CHARS = st.sampled_from([*"ab Zé 1|._-:n", "{contact.first_name}", "{{", "}}", "\\n"])
_ANY_CHARS = st.sampled_from([*'ab Zé 1{}|._-\\"n', "{contact.first_name}", "{{", "}}", "{x"])
_GOOD_NAMES = ["menu", "s1", "a-b", "x_y", "last_topic"]
_ANY_NAMES = [*_GOOD_NAMES, "send", "on", "é", "1a", "stop", "Size", "a-"]


def block_forms(clean: bool) -> st.SearchStrategy[str]:
    """Blocks of the forms read_model reads; ``clean``: texts and names build.py takes."""
    chars = _GOOD_CHARS if clean else _ANY_CHARS
    texts = st.lists(chars, min_size=int(clean), max_size=8).map(lambda p: '"' + "".join(p) + '"')
    names = st.sampled_from(_GOOD_NAMES if clean else _ANY_NAMES)
    fields = st.sampled_from(["size", "last_topic", "x1"] + ([] if clean else ["a-b", "Size"]))
    targets = st.one_of(names, st.tuples(names, names).map(".".join))
    sets = st.tuples(fields, texts).map(lambda p: f"set {p[0]} = {p[1]}")
    reactions = st.one_of(
        targets,
        texts.map(lambda t: f"tag {t}"),
        texts.map(lambda t: f"untag {t}"),
        sets,
    )
    quick = st.tuples(texts, reactions).map(lambda p: f"        quick {p[0]} -> {p[1]}\n")
    send = st.tuples(texts, st.lists(quick, max_size=3)).map(
        lambda p: f"    send {p[0]}\n" + "".join(p[1])
    )
    actions = st.one_of(
        send,
        texts.map(lambda t: f"    tag {t}\n"),
        texts.map(lambda t: f"    untag {t}\n"),
        sets.map(lambda r: f"    {r}\n"),
        (reactions if not clean else targets).map(lambda r: f"    goto {r}\n"),
    )
    modes = ["", " exact", " starts", " contains"] + ([] if clean else [" sideways"])
    sources = ["ads", "link", "qr", "chat plugin"] + ([] if clean else ["chat", "x"])
    keywords = texts.map(lambda t: '"k' + t[1:]) if clean else texts  # not blank
    refs = st.sampled_from(['"spring"', '"camp_*"', '"a.b:c"'])
    refs = refs if clean else st.one_of(refs, texts)
    heads = st.one_of(
        st.tuples(st.lists(keywords, min_size=1, max_size=3), st.sampled_from(modes)).map(
            lambda p: f"on keyword {', '.join(p[0])}{p[1]}:"
        ),
        refs.map(lambda t: f"on ref {t}:"),
        st.tuples(refs, st.sampled_from(sources)).map(lambda p: f"on ref {p[0]} from {p[1]}:"),
        st.sampled_from(["on ref missing:", "on message:"]),
        names.map(lambda n: f"step {n}:"),
    )
    comments = st.sampled_from(["", "# a comment\n", "# one\n\n# two\n"])
    return st.tuples(comments, heads, st.lists(actions, min_size=1, max_size=4)).map(
        lambda p: p[0] + p[1] + "\n" + "".join(p[2])
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(block_forms(clean=True), st.integers(0, 400))
def test_generated_clean_blocks_are_read_straight_and_as_from_the_tree(
    chunk: str, offset: int
) -> None:
    assert same_as_the_tree(chunk, "gen.flow", offset), f"left to the tree:\n{chunk}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(block_forms(clean=False), st.integers(0, 400))
def test_generated_blocks_are_built_as_from_the_tree_or_left_to_it(chunk: str, offset: int) -> None:
    """Now and then a text or a name build.py reports or Lark refuses: left to them."""
    same_as_the_tree(chunk, "gen.flow", offset)


def test_generated_flows_build_the_same_either_way() -> None:
    """A whole file: the flow build_flow makes with and without the fast path."""
    data = flow_text(1, 120, findings=True).encode()
    fast = build_flow(parse.parse_bytes("g.flow", data), "g")
    read = read_model.read
    try:
        read_model.read = lambda *_: None  # type: ignore[assignment]
        slow = build_flow(parse.parse_bytes("g.flow", data), "g")
    finally:
        read_model.read = read  # type: ignore[assignment]
    assert fast[1] == slow[1]
    assert read_model.differences(fast[0], slow[0]) == []


def test_texts_read_again_share_their_parts_and_the_memo_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Equal texts take one tuple of (frozen) parts; the memo of them keeps the first texts
    it meets, up to its bound (emptied when full, it read the repeated texts again)."""
    texts = ["Hi {contact.first_name|there}!", "a", "b", "c", "Hi {contact.first_name|there}!"]
    chunk = 'on keyword "k":\n' + "".join(f'    send "{t}"\n' for t in texts)
    nodes = read_model.read(chunk, "x.flow", 0)
    assert nodes is not None and isinstance(nodes[0], m.TriggerBlock)
    sends = [cast(m.SendText, action) for action in nodes[0].body]
    assert [s.text.raw for s in sends] == texts
    assert sends[0].text.parts is sends[4].text.parts
    monkeypatch.setattr(read_model, "MAX_TEMPLATES", 3)
    monkeypatch.setattr(read_model, "_TEMPLATES", {})
    for _ in range(3):
        assert same_as_the_tree(chunk)
        assert list(read_model._TEMPLATES) == texts[:3]  # the first three, kept when full
    again = read_model.read(chunk, "x.flow", 0)
    assert again is not None
    first = cast(m.SendText, again[0].body[0]).text  # type: ignore[union-attr]
    assert first.parts is read_model._TEMPLATES[texts[0]]


def test_a_load_shares_texts_parts_across_its_files_and_keeps_none_after_it() -> None:
    """issue 13: A: the memo of texts' parts lives for one load (`read_model.one_load`)."""
    text = 'on keyword "{n}":\n    send "Hi {{contact.first_name|there}}!"\n'
    files = {f"f{n}.flow": text.format(n=n).encode() for n in range(2)}
    result = load_texts(files, date(2026, 11, 28), check_tag, (), RULES.token_regions)
    first, second = (cast(m.SendText, f.triggers[0].body[0]).text for f in result.flows)
    assert first.parts is second.parts
    assert read_model._TEMPLATES == {}
    again = load_texts(files, date(2026, 11, 28), check_tag, (), RULES.token_regions)
    assert cast(m.SendText, again.flows[0].triggers[0].body[0]).text.parts is not first.parts
    assert read_model._TEMPLATES == {}
