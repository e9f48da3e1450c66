"""Checks over a whole set of flows, one module per family.

Each check takes the built flows (and, for policy, the day to check against)
and returns diagnostics; none of them raises or mutates anything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Protocol

from pageflows.rules import model as m
from pageflows.rules.checks import limits, policy, structure, triggers
from pageflows.rules.diagnostics import Diagnostic


class TagVerdictLike(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def retired_on(self) -> date | None: ...
    @property
    def replacement(self) -> str: ...


TagPolicy = Callable[[str, date], TagVerdictLike]


def run_checks(flows: list[m.Flow], as_of: date, tag_policy: TagPolicy) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    found += structure.check(flows)
    found += limits.check(flows)
    found += policy.check(flows, as_of, tag_policy)
    found += triggers.check(flows)
    return found
