"""Checks over a whole set of flows, one module per family.

Each check takes the built flows (and, for policy, the day to check against)
and returns diagnostics; none of them raises or mutates anything.
"""

from __future__ import annotations

from collections.abc import Callable
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
from pageflows.rules.compile import Program
from pageflows.rules.diagnostics import Diagnostic
from pageflows.rules.page_facts import PageFacts
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
    found: list[Diagnostic] = []
    every = nodes(flows)  # issue 13: A: one walk, shared by the checks that read all
    with shared_walks(flows):  # issue 13: A: and one walk_flow of each flow
        found += _each_check(flows, as_of, tag_policy, known, tokens, program, every)
    return found


def _each_check(
    flows: list[m.Flow],
    as_of: date,
    tag_policy: TagPolicy,
    known: tuple[PageFacts, ...],
    tokens: TokenRule | None,
    program: Program | None,
    every: list[BaseModel],
) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    found += structure.check(flows)
    found += limits.check(flows)
    found += policy.check(flows, as_of, tag_policy)
    found += templates.check(flows, known)
    found += promotional.check(flows, known)
    if tokens is not None:
        found += notifications.check(flows, as_of, known, tokens)
    found += triggers.check(flows, program)
    found += fields.check(flows, every)  # issue 12: B
    found += titles.check(flows)  # issue 12: B
    found += silence.check(flows, as_of)  # issue 12: B
    found += conditions.check(flows, every)  # issue 12: D
    found += asks.check(flows, as_of)  # issue 12: asks
    found += times.check(flows)  # issue 12: time
    return found
