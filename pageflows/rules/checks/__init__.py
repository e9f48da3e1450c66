"""Checks over a whole set of flows, one module per family.

Each check takes the built flows (and, for policy, the day to check against)
and returns diagnostics; none of them raises or mutates anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Protocol

from pydantic import BaseModel

from pageflows.rules import model as m
from pageflows.rules.checks import (  # issue 12: B
    asks,
    conditions,  # issue 12: D
    fields,
    limits,
    notifications,
    policy,
    promotional,
    silence,
    structure,
    templates,
    times,
    titles,
    triggers,
)
from pageflows.rules.compile import Program, compile_program
from pageflows.rules.diagnostics import Diagnostic
from pageflows.rules.page_facts import PageFacts
from pageflows.rules.second_core import Child, can_fork
from pageflows.rules.walk import nodes, shared_walks


class TagVerdictLike(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def retired_on(self) -> date | None: ...
    @property
    def replacement(self) -> str: ...


TagPolicy = Callable[[str, date], TagVerdictLike]


class TokenRule(Protocol):
    """When Facebook stopped notification tokens, and where it kept them (engine/policy.py)."""

    @property
    def deprecated_on(self) -> date: ...
    @property
    def discontinued_on(self) -> date: ...
    @property
    def kept_in(self) -> tuple[str, ...]: ...


def run_checks(
    flows: list[m.Flow],
    as_of: date,
    tag_policy: TagPolicy,
    pages: tuple[PageFacts, ...] = (),
    tokens: TokenRule | None = None,
    program: Program | None = None,
) -> list[Diagnostic]:
    """Every check; ``pages`` are the Pages the flows run on (none known: the strict default).

    ``program`` is `compile_program(flows)` when the caller has compiled it already
    (load.py, issue 13: A): the trigger checks read it rather than compile again.
    """
    known = pages or (PageFacts(),)
    with shared_walks(flows):  # issue 13: A: one walk_flow of each flow
        found = _checks(ORDER, flows, as_of, tag_policy, known, tokens, program)
    return _in_order(found)


def compile_and_check(
    flows: list[m.Flow],
    as_of: date,
    tag_policy: TagPolicy,
    pages: tuple[PageFacts, ...] = (),
    tokens: TokenRule | None = None,
    *,
    second_core: bool = False,
) -> tuple[Program, list[Diagnostic]]:
    """`compile_program(flows)` and `run_checks` with it: the same program, the same findings.

    issue 13: A: with ``second_core`` (`pageflows check`) and flows large enough to
    be worth a fork, the checks that need no program run in a forked child
    (second_core.py) while this process compiles and runs the others.
    """
    known = pages or (PageFacts(),)
    with shared_walks(flows):  # made before the fork: the child has them too
        child = None
        if second_core and _worth_a_fork(flows) and can_fork():
            child = Child(lambda: _checks(OF_THE_MODEL, flows, as_of, tag_policy, known, tokens))
        try:
            program = compile_program(flows)
            mine = [name for name in ORDER if child is None or name not in OF_THE_MODEL]
            found = _checks(mine, flows, as_of, tag_policy, known, tokens, program)
            if child is not None:
                found |= child.result()
        finally:
            if child is not None:
                child.close()
    return program, _in_order(found)


# The checks, in the order their findings are listed (before sorting, which keeps
# this order among findings at the same place).
ORDER = (
    "structure",
    "limits",
    "policy",
    "templates",
    "promotional",
    "notifications",
    "triggers",
    "fields",  # issue 12: B
    "titles",  # issue 12: B
    "silence",  # issue 12: B
    "conditions",  # issue 12: D
    "asks",  # issue 12: asks
    "times",  # issue 12: time
)
# issue 13: A: the checks a second core runs while the program is compiled: some of
# those that need no program, about as long as compiling and the others (10,000
# triggers: ~0.25 s each side).
OF_THE_MODEL = frozenset({"structure", "limits", "fields", "silence", "conditions"})
# Flows smaller than this (in top-level blocks) are checked faster than a fork is made.
FORK_FROM_BLOCKS = 2000


def _worth_a_fork(flows: list[m.Flow]) -> bool:
    blocks = sum(len(f.triggers) + len(f.steps) + len(f.broadcasts) for f in flows)
    return blocks >= FORK_FROM_BLOCKS


def _in_order(found: dict[str, list[Diagnostic]]) -> list[Diagnostic]:
    return [d for name in ORDER for d in found[name]]


def _checks(
    names: Iterable[str],
    flows: list[m.Flow],
    as_of: date,
    tag_policy: TagPolicy,
    known: tuple[PageFacts, ...],
    tokens: TokenRule | None,
    program: Program | None = None,
    *,
    every: list[BaseModel] | None = None,
    stored_elsewhere: frozenset[str] = frozenset(),
) -> dict[str, list[Diagnostic]]:
    """The named checks' findings, by name (within `shared_walks` of the flows).

    issue 13: A: ``every``: `nodes(flows)`, if the caller has it; ``stored_elsewhere``:
    the fields other flows store, checked apart from these (rules/split_check.py).
    """

    def all_nodes() -> list[BaseModel]:
        nonlocal every
        if every is None:
            every = nodes(flows)  # issue 13: A: one walk, shared by the checks that read all
        return every

    each: dict[str, Callable[[], list[Diagnostic]]] = {
        "structure": lambda: structure.check(flows),
        "limits": lambda: limits.check(flows),
        "policy": lambda: policy.check(flows, as_of, tag_policy, stored_elsewhere),
        "templates": lambda: templates.check(flows, known),
        "promotional": lambda: promotional.check(flows, known),
        "notifications": lambda: (
            [] if tokens is None else notifications.check(flows, as_of, known, tokens)
        ),
        "triggers": lambda: triggers.check(flows, program),
        "fields": lambda: fields.check(flows, all_nodes()),
        "titles": lambda: titles.check(flows),
        "silence": lambda: silence.check(flows, as_of),
        "conditions": lambda: conditions.check(flows, all_nodes()),
        "asks": lambda: asks.check(flows, as_of),
        "times": lambda: times.check(flows, stored_elsewhere),
    }
    return {name: list(each[name]()) for name in names}
