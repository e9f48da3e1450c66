"""Notification tokens where Facebook no longer takes them (policy.md §3).

Facebook deprecated recurring notifications on 2026-01-12 and discontinued them on
2026-02-10 for every Page outside AU, the EU, JP, KR and the UK. A flow that leans
on `via notification`, `request notifications` or a broadcast to subscribers then
reaches nobody on such a Page: every one of those messages is skipped. The check
runs as of the day asked (`check --as-of`), for each Page the flows run on.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from pageflows.rules import model as m
from pageflows.rules.diagnostics import Code, Diagnostic, warning
from pageflows.rules.page_facts import PageFacts
from pageflows.rules.source import Span
from pageflows.rules.walk import walk_flow

if TYPE_CHECKING:
    from pageflows.rules.checks import TokenRule

INSTEAD = (
    'send updates as an approved utility template (`send template "name"`), and promotions'
    " inside the 24 h window; or set the Page's region in pageflows.toml if it is in "
)


def check(
    flows: list[m.Flow], as_of: date, pages: tuple[PageFacts, ...], rule: TokenRule
) -> list[Diagnostic]:
    if as_of < rule.deprecated_on:
        return []
    outside = [p for p in pages if p.region not in rule.kept_in]
    if not outside:
        return []
    found: list[Diagnostic] = []
    for flow in flows:
        for action, _where in walk_flow(flow):
            if isinstance(action, m.After) and action.topic:
                found.append(
                    _warn(action.span, "this `via notification` follow-up", as_of, outside, rule)
                )
            elif isinstance(action, m.RequestNotifications):
                found.append(_warn(action.span, "this opt-in request", as_of, outside, rule))
        for broadcast in flow.broadcasts:
            if broadcast.audience == "subscribers":
                what = f'the broadcast "{broadcast.name}" to subscribers'
                found.append(_warn(broadcast.span, what, as_of, outside, rule))
    return found


def _warn(
    span: Span, what: str, as_of: date, outside: list[PageFacts], rule: TokenRule
) -> Diagnostic:
    pages = ", ".join(_where(p) for p in outside)
    kept = ", ".join(rule.kept_in[:-1]) + " and " + rule.kept_in[-1]
    if as_of < rule.discontinued_on:
        fate = f"Facebook stops notification messages on {rule.discontinued_on}"
        tense = "will be skipped from then on"
    else:
        fate = f"Facebook discontinued notification messages on {rule.discontinued_on}"
        tense = "is skipped"
    return warning(
        Code.NOTIFICATIONS_DISCONTINUED,
        span,
        f"{fate} for Pages outside {kept}, so {what} {tense} ({pages}; checked as of {as_of})",
        INSTEAD + ", ".join(rule.kept_in),
    )


def _where(page: PageFacts) -> str:
    region = f"region {page.region}" if page.region else "no region set"
    return f"{page.label}: {region}"
