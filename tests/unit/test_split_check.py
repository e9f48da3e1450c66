"""issue 13: A. The last files read, built and checked in a forked child (rules/split_check.py).

`pageflows check` of large flows has a child build the model of its last files and run
the checks of one flow at a time there, sending back its findings and what the checks of
all the flows read of them. What a user sees must not change: the same findings (the
very values, in the same order) and the same files, whether the child sums its flows up,
sends some back to be read here, fails, dies or is never started; and everything but
`pageflows check` still gets the program and every flow.
"""

from __future__ import annotations

import marshal
import os
import sys
from datetime import date
from pathlib import Path

import pytest

from pageflows.engine.policy_table import RULES, check_tag
from pageflows.rules import second_core, split_check
from pageflows.rules.build import build_flow
from pageflows.rules.diagnostics import sort_key
from pageflows.rules.load import LoadResult, load_texts
from pageflows.rules.parse import parse_bytes

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bench_check import flow_text, write_flows  # noqa: E402
from tests.unit.test_lex_ahead import (  # noqa: E402
    assert_a_bug_in_the_builder_is_raised_and_the_child_waited_for,
)
from tests.unit.test_second_core import assert_check_prints_what_one_process_finds  # noqa: E402
from tests.unit.test_trusted_build import assert_same  # noqa: E402

AS_OF = date(2026, 11, 24)
PAGEFLOWS = str(Path(sys.executable).parent / "pageflows")
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")


def corpus() -> dict[str, bytes]:
    """Every golden case and example flow (one file a name: the split needs that), with
    generated files around them: errors of every kind, cross-flow targets and fields,
    `after`s, asks, broadcasts, templates and odd files among the ones the child gets."""
    texts: dict[str, bytes] = {"a_gen.flow": flow_text(0, 300, findings=False).encode()}
    names: set[str] = set()
    for folder in ("tests/golden/cases", "examples/flows"):
        for path in sorted((ROOT / folder).glob("*.flow")):
            if path.stem not in names:
                names.add(path.stem)
                texts[str(path)] = path.read_bytes()
    texts["y_gen.flow"] = flow_text(1, 300, findings=True).encode()
    texts["z_gen.flow"] = flow_text(2, 300, findings=False).encode()
    return texts


def load(texts: dict[str, bytes], second_core: bool) -> LoadResult:
    return load_texts(texts, AS_OF, check_tag, (), RULES.token_regions, second_core=second_core)


@pytest.fixture
def always_split(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The split made whatever the size (no lexing child, so only one child is forked);
    records what each child answered (None: nothing readable)."""
    monkeypatch.setattr(split_check, "FROM_BYTES", 0)
    monkeypatch.setattr(split_check, "can_fork", lambda: hasattr(os, "fork"))
    monkeypatch.setattr("pageflows.rules.lex_ahead.can_fork", lambda: False)
    answers: list[object] = []
    answer = second_core.Child.answer

    def recorded(child: second_core.Child) -> object:
        found = answer(child)
        answers.append(found)
        return found

    monkeypatch.setattr(second_core.Child, "answer", recorded)
    return answers


def assert_same_findings(ours: LoadResult, expected: LoadResult) -> None:
    assert_same(list(ours.diagnostics), list(expected.diagnostics), "findings")
    assert ours.sources == expected.sources
    assert list(ours.sources) == list(expected.sources)


@needs_fork
@pytest.mark.parametrize("share", [0.05, 0.35, 0.7])
def test_the_split_finds_what_one_process_finds(
    share: float, always_split: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(split_check, "SHARE_HERE", share)
    texts = corpus()
    expected = load(texts, second_core=False)
    ours = load(texts, second_core=True)
    (answer,) = always_split
    assert isinstance(answer, dict) and answer  # some flows were summed up in the child
    assert_same_findings(ours, expected)
    assert len(expected.diagnostics) > 300
    # check prints no program; the flows are those built here, in the files' order
    assert ours.program is None
    assert [f.path for f in ours.flows] == [p for p in texts if p not in answer]


@needs_fork
def test_a_flow_the_child_cannot_sum_up_is_read_here(always_split: list[object]) -> None:
    """A flow whose checks need the other flows (a goto into another flow, a follow-up,
    a question...) comes back unread and is read here; the others are summed up."""
    texts = corpus()
    expected = load(texts, second_core=False)
    ours = load(texts, second_core=True)
    (answer,) = always_split
    assert isinstance(answer, dict)
    assert "z_gen.flow" in answer and "y_gen.flow" in answer
    read_here = {f.path for f in ours.flows}
    assert str(ROOT / "tests/golden/cases/unknown_flow.flow") in read_here
    assert str(ROOT / "examples/flows/lead_capture.flow") in read_here  # asks, afters
    assert read_here | set(answer) == set(texts)  # every file, in one process or the other
    assert_same_findings(ours, expected)


@needs_fork
@pytest.mark.parametrize(
    "answer",
    [b"", b"\x00garbage", marshal.dumps([("a.flow", "a", [], {}, [], [], [], [], [])])],
)
def test_a_child_that_fails_or_answers_nonsense_changes_nothing(
    answer: bytes, always_split: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = corpus()
    expected = load(texts, second_core=False)

    def child(job: object, read_end: int, write_end: int) -> None:
        os.close(read_end)
        os.write(write_end, answer)
        os._exit(0 if answer else 1)

    monkeypatch.setattr(second_core, "_run_child", child)
    ours = load(texts, second_core=True)
    assert always_split == [None]
    assert_same_findings(ours, expected)
    assert ours.program is not None or expected.program is None  # checked as without a child
    assert len(ours.flows) == len(texts)


@needs_fork
def test_a_child_killed_while_it_works_changes_nothing(
    always_split: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = corpus()
    expected = load(texts, second_core=False)
    summed_up = split_check.summed_up

    def killed(*args: object) -> object:
        os.kill(os.getpid(), 9)
        return summed_up(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(split_check, "summed_up", killed)
    ours = load(texts, second_core=True)
    assert always_split == [None]
    assert_same_findings(ours, expected)


@needs_fork
def test_a_bug_here_is_raised_once_and_the_child_waited_for(
    always_split: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_a_bug_in_the_builder_is_raised_and_the_child_waited_for(
        monkeypatch, lambda: load(corpus(), second_core=True)
    )


def test_no_split_for_small_flows_one_file_or_two_of_one_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[object] = []
    monkeypatch.setattr(split_check, "Child", lambda *args: started.append(args))
    monkeypatch.setattr(split_check, "can_fork", lambda: True)
    monkeypatch.setattr("pageflows.rules.lex_ahead.can_fork", lambda: False)
    two = {
        "a/x.flow": flow_text(0, 50, findings=False).encode(),
        "b/y.flow": flow_text(1, 50, findings=False).encode(),
    }
    assert load(two, second_core=True).program is not None  # small
    monkeypatch.setattr(split_check, "FROM_BYTES", 0)
    assert load({"a/x.flow": two["a/x.flow"]}, second_core=True).program is not None
    same_name = {"a/x.flow": two["a/x.flow"], "b/x.flow": two["b/y.flow"]}
    assert load(same_name, second_core=True).errors  # two flows named x, checked in one
    assert started == []
    assert load(two, second_core=False).program is not None  # not asked for: not `check`
    assert started == []


def test_a_summary_is_what_the_checks_read_of_a_flow() -> None:
    """The summary of a flow rebuilt is the facts the checks of all flows read of it."""
    from pageflows.rules.checks import fields, structure, triggers

    data = flow_text(3, 40, findings=True).encode()
    flow, built = build_flow(parse_bytes("g.flow", data), "g")
    plain = split_check.summed_up("g.flow", flow, built, AS_OF)
    (summed,) = split_check._from_plain(marshal.loads(marshal.dumps([plain]))).values()
    assert summed.name == "g" and summed.path == "g.flow"
    assert summed.triggers == [triggers.facts(block.trigger) for block in flow.triggers]
    from pageflows.rules.walk import nodes

    assert summed.uses == fields.uses(nodes(flow))
    assert [(s.name, s.span) for s in summed.steps.steps] == [(s.name, s.span) for s in flow.steps]
    assert (
        summed.found["titles"]
        and summed.found["structure"] == structure.within([flow], {"g": flow})[0]
    )


@pytest.mark.parametrize(
    "text",
    [
        'on keyword "a":\n    goto other.start\n',
        'on keyword "a":\n    after 1h:\n        send "x"\n',
        'on keyword "a":\n    ask "Email?" into email\n',
        'on keyword "a":\n    if guests > 8:\n        send "big"\n',
        'on keyword "a":\n    send template "order_update"\n',
        'on keyword "a":\n    request notifications "Deals"\n',
        'broadcast deals at 2026-12-01 10:00 Europe/Paris:\n    send "x"\n',
        'on keyword "a":\n    sned "x"\n',
    ],
)
def test_what_the_child_sends_back_to_be_read_here(text: str) -> None:
    flow, built = build_flow(parse_bytes("g.flow", text.encode()), "g")
    assert split_check.summed_up("g.flow", flow, built, AS_OF) == ("g.flow",)


def test_check_of_large_flows_from_the_command_line(tmp_path: Path) -> None:
    """`pageflows check` of flows large enough to split, as a user runs it, with findings
    in both processes' files and across them: the same text as one process's check."""
    folder = tmp_path / "flows"
    write_flows(folder, 2400, findings=True)
    for case in ("unreachable_step", "silent_tap", "unknown_field", "code_after_goto"):
        (folder / f"zz_{case}.flow").write_bytes(
            (ROOT / f"tests/golden/cases/{case}.flow").read_bytes()
        )
    assert_check_prints_what_one_process_finds(folder)


def _keyword_flows(seed: int) -> list[list[tuple[str, tuple[str, ...]]]]:
    """Random keyword triggers (mode, phrases) over few words, so that they overlap: the
    same phrases, one the start or a run of another's, in every mode, with accents,
    capitals, punctuation-only phrases and a trigger naming one phrase twice."""
    import random

    rng = random.Random(seed)
    words = ["hi", "Price", "price", "PRÍCE", "menu", "open", "now", "!!", "shoes"]
    flows = []
    for _ in range(rng.randint(1, 4)):
        flow = []
        for _ in range(rng.randint(0, 30)):
            phrases = tuple(
                " ".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
                for _ in range(rng.randint(1, 3))
            )
            if rng.random() < 0.05:
                phrases = (phrases[0], phrases[0])
            flow.append((rng.choice(["exact", "starts", "contains"]), phrases))
        flows.append(flow)
    return flows


@pytest.mark.parametrize("seed", range(60))
def test_shadows_found_without_an_index_are_the_indexs(seed: int) -> None:
    """`check_facts` (no index, split_check.py) against `check` (the program's index), on
    keywords that shadow each other in every way; the same findings in the same order."""
    from pageflows.rules.checks import triggers
    from pageflows.rules.compile import compile_program

    texts = {}
    for n, flow in enumerate(_keyword_flows(seed)):
        blocks = [
            "on keyword " + ", ".join(f'"{p}"' for p in phrases) + f' {mode}:\n    send "x"\n'
            for mode, phrases in flow
        ]
        texts[f"f{n}.flow"] = "\n".join(blocks) or "# nothing\n"
    flows = [build_flow(parse_bytes(p, t.encode()), p[:-5])[0] for p, t in texts.items()]
    program = compile_program(flows)
    expected = triggers.check(flows, program)
    facts = [triggers.facts(t.trigger) for t in program.triggers]
    assert_same(triggers.check_facts(facts, False), expected, "findings")
    # The first triggers judged first (this process's files, while the child reads):
    # each trigger's findings in the same order, so the same once sorted by place.
    cut = len(program.triggers) * (seed % 5) // 4
    shadows = triggers.Shadows()
    shadows.add(facts[:cut])
    found = triggers.check_facts(facts, False, shadows)
    assert_same(sorted(found, key=sort_key), sorted(expected, key=sort_key), "findings")
