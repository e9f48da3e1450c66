"""issue 13: A. The shadowed-keyword check reads the index's entries (by rank), not
entries made again in the triggers' order: once sorted, the very same findings."""

from __future__ import annotations

import random
from pathlib import Path

from pageflows.rules.build import build_flow
from pageflows.rules.checks.triggers import _covers, _keyword_shadows
from pageflows.rules.compile import compile_program, keyword_entries
from pageflows.rules.diagnostics import sort_key
from pageflows.rules.parse import parse_bytes

WORDS = ["price", "size", "red", "blue", "shoe", "sale", "hi", "hello", "ship", "!!"]


def flow_text(rnd: random.Random) -> str:
    blocks = []
    for _ in range(120):
        phrases = ", ".join(
            '"' + " ".join(rnd.sample(WORDS, rnd.randint(1, 2))) + '"'
            for _ in range(rnd.randint(1, 3))
        )
        mode = rnd.choice(["exact", "starts", "contains", ""])
        blocks.append(f'on keyword {phrases} {mode}:\n    send "x"\n')
    return "\n".join(blocks)


def test_shadow_findings_are_those_of_the_triggers_order() -> None:
    rnd = random.Random(13)
    flows = []
    for n in range(3):
        parsed = parse_bytes(f"f{n}.flow", flow_text(rnd).encode())
        flows.append(build_flow(parsed, Path(f"f{n}.flow").stem)[0])
    program = compile_program(flows)
    ours = _keyword_shadows([t.trigger.span for t in program.triggers], program.keywords)
    # The loop as it was: entries in the triggers' order, each against the index.
    theirs = []
    for entry in keyword_entries(program.triggers):
        for other in program.keywords.matches(entry.phrase):
            if other.rank >= entry.rank or other.trigger == entry.trigger:
                continue
            if _covers(other, entry):
                span = program.triggers[entry.trigger].trigger.span
                theirs.append((span, f'keyword "{entry.phrase}" never fires: "{other.phrase}"'))
                break
    assert len(ours) == len(theirs) > 100
    # Sorted as load.py sorts (stable, by place and code): the same findings, ties
    # (two phrases of one trigger) in the same order.
    theirs.sort(key=lambda found: found[0][:3])
    shown = [(d.span, d.message.split(" (")[0]) for d in sorted(ours, key=sort_key)]
    assert shown == theirs
