"""issue 13: A. compile.py makes keyword entries and compiled triggers without calling
their dataclasses' __init__ (rules/compile.py, `_new`): they must be the very values
the constructors make.

Every flow of the corpus (examples, golden cases, the benchmark's flows, every form of
the language) is compiled, and each entry and compiled trigger is compared with the one
its constructor makes of the same fields: equal, the same hash, the same attributes in
the same order and of the same size (a dataclass instance's attributes set in another
way could take another layout, and the keyword index's memory is a target).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pageflows.rules import model as m
from pageflows.rules.build import build_flow
from pageflows.rules.compile import CompiledTrigger, compile_program, keyword_entries
from pageflows.rules.keyword_index import KeywordEntry
from pageflows.rules.parse import parse_bytes

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bench_check import flow_text  # noqa: E402
from tests.unit.test_read_block import EVERY_FORM  # noqa: E402


def corpus_flows() -> list[m.Flow]:
    found = [("every_form.flow", EVERY_FORM.encode())]
    for folder in ("examples", "tests/golden"):
        found += [(str(p), p.read_bytes()) for p in sorted((ROOT / folder).rglob("*.flow"))]
    for n, findings in enumerate((False, True)):
        found.append((f"bench_{n}.flow", flow_text(n, 400, findings=findings).encode()))
    return [build_flow(parse_bytes(path, data), Path(path).stem)[0] for path, data in found]


def same_value(made: object, constructed: object) -> None:
    assert type(made) is type(constructed)
    assert made == constructed
    assert hash(made) == hash(constructed)
    assert list(made.__dict__.items()) == list(constructed.__dict__.items())
    assert sys.getsizeof(made.__dict__) == sys.getsizeof(constructed.__dict__)


def test_entries_and_triggers_are_what_their_constructors_make() -> None:
    program = compile_program(corpus_flows())
    entries = keyword_entries(program.triggers)
    assert len(program.triggers) > 800 and len(entries) > 1000
    for compiled in program.triggers:
        fields = {"id": compiled.id, "flow": compiled.flow, "block": compiled.block}
        same_value(compiled, CompiledTrigger(**fields))
    for entry in entries:
        fields: dict[str, Any] = {
            "phrase": entry.phrase,
            "mode": entry.mode.value,  # as a string: the constructor makes the mode of it
            "rank": entry.rank,
            "trigger": entry.trigger,
        }
        same_value(entry, KeywordEntry(**fields))
