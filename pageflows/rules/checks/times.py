"""Checks of follow-ups counted from a stored date (issue 12: time).

Why: `before {contact.booking_date} by 1d` with a field no flow ever sets or
asks is never scheduled: every contact would get a `date_missing` note at run
time, and the marketer would learn it from an empty report. A typo
(`{contact.bookng_date}`) is the usual cause, so the warning names the
closest field the flows do set.
"""

from __future__ import annotations

import difflib

from pageflows.rules import model as m
from pageflows.rules.diagnostics import Code, Diagnostic, warning
from pageflows.rules.walk import reactions, walk_flow


def check(flows: list[m.Flow], stored_elsewhere: frozenset[str] = frozenset()) -> list[Diagnostic]:
    """``stored_elsewhere``: the fields flows checked apart from these store (issue 13: A:
    rules/split_check.py)."""
    stored: set[str] | None = None  # issue 13: A: gathered only for a follow-up that needs it
    found: list[Diagnostic] = []
    for flow in flows:
        for action, _ in walk_flow(flow):
            if not isinstance(action, m.After) or not action.anchor:
                continue
            if stored is None:
                stored = stored_fields(flows) | stored_elsewhere
            if action.anchor not in stored:
                close = difflib.get_close_matches(action.anchor, sorted(stored), n=1)
                hint = (
                    f"did you mean {{contact.{close[0]}}}?"
                    if close
                    else f'save the date first, such as set {action.anchor} = "2026-12-05"'
                    f" or ask ... into {action.anchor}"
                )
                found.append(
                    warning(
                        Code.DATE_FIELD_NEVER_SET,
                        action.span,
                        f"no flow sets or asks {{contact.{action.anchor}}}: this follow-up"
                        " is never scheduled (date_missing)",
                        hint,
                    )
                )
    return found


def stored_fields(flows: list[m.Flow]) -> set[str]:
    """Every field a `set` (a line, a quick reply, a button) or an `ask` stores."""
    names: set[str] = set()
    for flow in flows:
        for action, _ in walk_flow(flow):
            if isinstance(action, m.SetField | m.Ask):
                names.add(action.field)
            for reaction in reactions(action):
                if isinstance(reaction, m.SetField):
                    names.add(reaction.field)
    return names
