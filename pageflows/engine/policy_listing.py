"""Facebook's rules on a given day, and what changed between two days, as lines people read.

`pageflows policy` prints these; docs/policy.md explains them. Every line is derived
from the dated table in policy.py (and the Graph versions in graph_versions.py when
given), so the listing can never say something the engine does not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pageflows.engine.policy import RULES, PolicyTable, check_tag, token_cap, tokens_allowed
from pageflows.rules.page_facts import PageFacts


@dataclass(frozen=True)
class RuleLine:
    """One rule in force: what it is, what pageflows does on that day, and its source."""

    rule: str
    in_force: str
    source: str


@dataclass(frozen=True)
class Change:
    """A dated change of Facebook's rules."""

    on: date
    what: str
    source: str


def _days(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 72 and hours % 24 == 0 else f"{hours} h"


def rules_on(on: date, page: PageFacts, rules: PolicyTable = RULES) -> list[RuleLine]:
    """The rules in force on ``on`` for ``page``, in the order the engine applies them."""
    lines = [
        RuleLine(
            "standard window",
            f"{_days(rules.standard_window)} after the contact's last message: RESPONSE"
            " (a reply) or UPDATE (a follow-up, a broadcast), promotions allowed",
            "policy.md §1 [S][POL]",
        ),
        RuleLine(
            "ad window",
            f"{_days(rules.ad_window)} after a message that came from a click-to-Messenger ad"
            if page.ad_window
            else f"off for this page (`ad_window = true` makes it {_days(rules.ad_window)})",
            "policy.md §1a [POL]",
        ),
        RuleLine("utility templates", _templates_line(page), "policy.md §2a [UT]"),
    ]
    retired: dict[date, list[str]] = {}
    for tag in _tag_names(rules):
        verdict = check_tag(tag, on, rules)
        if verdict.status == "retired" and verdict.retired_on is not None:
            retired.setdefault(verdict.retired_on, []).append(tag)
            continue
        lines.append(RuleLine(f"tag {tag}", _tag_line(tag, on, rules), _tag_source(tag, rules)))
    for day, tags in sorted(retired.items(), reverse=True):
        lines.append(
            RuleLine(
                f"tags retired {day}",
                f"refused (error 100/1893061, inside the window too): {', '.join(tags)}",
                _tag_source(tags[0], rules),
            )
        )
    lines.append(RuleLine("notification tokens", _token_line(on, page, rules), "policy.md §3 [MM]"))
    lines.append(
        RuleLine(
            "opt-in requests",
            "inside the window only, one per title per person per "
            f"{_days(rules.optin_request_gap)}"
            + ("" if tokens_allowed(on, page.region, rules) else "; none for this page's region"),
            "policy.md §3 [MM]",
        )
    )
    lines.append(
        RuleLine(
            "human agent",
            f"a person's reply from 24 h to {_days(rules.human_agent_window)} goes with"
            " HUMAN_AGENT (the Page needs Facebook's permission); never automation",
            "policy.md §2 [S-ref]",
        )
    )
    lines.append(
        RuleLine(
            "private replies",
            f"one per comment, within {_days(rules.private_reply_window)}, never to the"
            " Page's own comments",
            "policy.md §4 [PR]",
        )
    )
    return lines


def changes_between(since: date, until: date, rules: PolicyTable = RULES) -> list[Change]:
    """Every dated change after ``since`` up to and including ``until``, oldest first."""
    found: list[Change] = []
    retired: dict[date, list[str]] = {}
    for rule in rules.tags:
        if rule.retired_on is not None:
            retired.setdefault(rule.retired_on, []).append(rule.tag)
    for day, tags in retired.items():
        shown = (
            ", ".join(tags) if len(tags) <= 4 else f"{len(tags)} tags ({', '.join(tags[:3])}...)"
        )
        found.append(
            Change(day, f"Facebook refuses {shown} (error 100); use utility templates", "[S-ref]")
        )
    for cap in rules.token_caps[1:]:
        found.append(
            Change(
                cap.effective_from,
                f"one message per notification token per {_days(cap.cap)}",
                cap.source,
            )
        )
    regions = rules.token_regions
    kept = ", ".join(regions.kept_in)
    found += [
        Change(
            rules.legacy_frequency_until,
            "notification permissions no longer carry a daily/weekly/monthly frequency",
            "policy.md §3 [MM]",
        ),
        Change(regions.deprecated_on, "notification messages deprecated", regions.source),
        Change(
            regions.discontinued_on,
            f"notification messages discontinued except for Pages in {kept}",
            regions.source,
        ),
    ]
    return sorted((c for c in found if since < c.on <= until), key=lambda c: (c.on, c.what))


def _templates_line(page: PageFacts) -> str:
    approved = [t for t in page.templates if t.approved]
    others = [t for t in page.templates if not t.approved]
    base = "UTILITY at any time, approved templates only, non-promotional"
    if not page.templates:
        return base + "; this page has no templates known (`pageflows templates sync`)"
    parts = [f"{len(approved)} approved"] + [f"{t.name} {t.status}" for t in others]
    return f"{base}; this page: {', '.join(parts)}"


def _tag_names(rules: PolicyTable) -> list[str]:
    names: list[str] = []
    for rule in rules.tags:
        if rule.tag not in names:
            names.append(rule.tag)
    return names


def _tag_source(tag: str, rules: PolicyTable) -> str:
    return "policy.md §2 " + next(r.source for r in rules.tags if r.tag == tag)


def _tag_line(tag: str, on: date, rules: PolicyTable) -> str:
    verdict = check_tag(tag, on, rules)
    if verdict.status == "retired":
        return f"refused since {verdict.retired_on} (error 100/1893061, inside the window too)"
    window = verdict.rule.window if verdict.rule else None
    limit = (
        f"up to {_days(window)} after the contact's last message" if window else "no fixed limit"
    )
    if verdict.status == "human_only":
        return f"people only, {limit}"
    until = f", refused from {verdict.retired_on}" if verdict.retired_on else ""
    return f"accepted, {limit}, non-promotional{until}"


def _token_line(on: date, page: PageFacts, rules: PolicyTable) -> str:
    regions = rules.token_regions
    where = f"region {page.region}" if page.region else "no region set"
    if not tokens_allowed(on, page.region, rules):
        return (
            f"discontinued since {regions.discontinued_on} outside"
            f" {', '.join(regions.kept_in)}; this page ({where}): every token send is skipped"
        )
    cap = f"one message per token per {_days(token_cap(on, rules))}"
    if on >= regions.deprecated_on and on < regions.discontinued_on:
        kept = ", ".join(regions.kept_in)
        return f"{cap}; deprecated, ending {regions.discontinued_on} outside {kept}"
    return f"{cap} ({where})"
