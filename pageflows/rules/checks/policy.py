"""Facebook's messaging policy on a given day: tags, HUMAN_AGENT, windows.

Why `as_of`: Facebook retires tags (three on 2026-04-27), so a flow that was
fine last month can be refused today; `pageflows check --as-of DATE` asks
about another day. The dated table lives in the engine and is passed in as
`tag_policy`, so rules/ stays free of engine imports.
"""

from __future__ import annotations

import difflib
from datetime import date, timedelta
from typing import TYPE_CHECKING

from pageflows.rules import model as m
from pageflows.rules.checks.times import stored_fields
from pageflows.rules.diagnostics import Code, Diagnostic, error, warning
from pageflows.rules.source import Span
from pageflows.rules.walk import children, walk_flow

if TYPE_CHECKING:
    from pageflows.rules.checks import TagPolicy

WINDOW = timedelta(hours=24)
KNOWN_TAGS = (
    "HUMAN_AGENT",
    "CUSTOMER_FEEDBACK",
    "CONFIRMED_EVENT_UPDATE",
    "POST_PURCHASE_UPDATE",
    "ACCOUNT_UPDATE",
)
NOT_FOR_FLOWS = ("HUMAN_AGENT", "CUSTOMER_FEEDBACK")  # reported by their own checks below
# Actions that put a message in front of the contact.
MESSAGES = (
    m.SendText,
    m.SendButtons,
    m.SendCards,
    m.SendMedia,
    m.SendTemplate,
    m.Ask,
    m.RequestNotifications,
)


def check(
    flows: list[m.Flow],
    as_of: date,
    tag_policy: TagPolicy,
    stored_elsewhere: frozenset[str] = frozenset(),
) -> list[Diagnostic]:
    """``stored_elsewhere``: the fields flows checked apart from these store (issue 13: A:
    rules/split_check.py)."""
    found: list[Diagnostic] = []
    # issue 12: a date never stored is PF420's, not ours. issue 13: A: the stored
    # fields are gathered (a walk of every flow) only for a follow-up that needs them.
    stored: set[str] | None = None
    for flow in flows:
        for action, where in walk_flow(flow):
            if isinstance(action, m.After):
                if action.tag and action.tag_span:
                    found += _tag(action.tag, action.tag_span, as_of, tag_policy)
                total = where.delay + action.delay
                has_channel = action.tag or action.topic or where.channel_tag or where.channel_topic
                if action.anchor and stored is None:
                    stored = stored_fields(flows) | stored_elsewhere
                never = action.anchor and stored is not None and action.anchor not in stored
                late = None if never else _late(action, total)
                if late and not has_channel and not _only_templates(action.body):
                    found.append(
                        warning(
                            Code.FOLLOW_UP_OUTSIDE_WINDOW,
                            action.span,
                            late,
                            'send it within 24h, or as a utility template (`send template "name"`)'
                            " for transactional updates",
                        )
                    )
        for broadcast in flow.broadcasts:
            if broadcast.tag and broadcast.tag_span:
                found += _tag(broadcast.tag, broadcast.tag_span, as_of, tag_policy)
            if (
                not broadcast.tag
                and broadcast.audience != "subscribers"
                and not _only_templates(broadcast.body)
            ):
                found.append(
                    warning(
                        Code.BROADCAST_WITHOUT_TAG,
                        broadcast.span,
                        f'broadcast "{broadcast.name}" has no tag: it reaches only contacts'
                        " who wrote in the 24 h before it goes out",
                        "promotions may only go inside the window; for transactional updates"
                        ' use a utility template (`send template "name"`)',
                    )
                )
    return found


def _late(action: m.After, total: timedelta) -> str | None:
    """Why a follow-up may come after the 24 h window, or None if it never does."""
    skipped = "after the 24 h window: it is skipped unless they write again"
    if action.anchor == "" or (action.at and action.delay.total_seconds() % 86400):
        return None  # issue 12: time; an error already says what is wrong (PF137, PF138)
    if action.anchored:  # issue 12: time
        return (
            f"this follow-up comes {action.delay_text} {action.side} the date in"
            f" {{contact.{action.anchor}}}, usually days after the contact's message, {skipped}"
        )
    if action.at:  # issue 12: time; a message at 00:00 waits longest, one at 23:59 least
        hours, _, minutes = action.at.partition(":")
        if not (hours.isdigit() and minutes.isdigit()):
            return None  # PF135 bad-time-of-day already says what is wrong
        clock = timedelta(hours=int(hours), minutes=int(minutes))
        latest = total + clock
        if latest > WINDOW:
            earliest = max(total - timedelta(days=1) + clock, timedelta(0))
            return (
                f"this follow-up comes {action.delay_text} later at {action.at}, from"
                f" {_say(earliest)} to {_say(latest)} after the contact's message (by the"
                f" hour they wrote), {skipped}"
            )
        return None
    if total > WINDOW:
        return f"this follow-up comes {_say(total)} after the contact's message, {skipped}"
    return None


def _only_templates(body: tuple[m.Action, ...]) -> bool:
    """A follow-up whose messages are all utility templates needs no window (policy.md §2a)."""
    sends: list[m.Action] = []
    pending = list(body)
    while pending:
        action = pending.pop()
        if isinstance(action, MESSAGES):
            sends.append(action)
        for branch in children(action):
            pending += branch
    return bool(sends) and all(isinstance(a, m.SendTemplate) for a in sends)


def _say(delay: timedelta) -> str:
    hours = delay.total_seconds() / 3600
    return f"{hours:g}h" if hours < 48 else f"{hours / 24:g} days"


def _tag(tag: str, span: Span, as_of: date, tag_policy: TagPolicy) -> list[Diagnostic]:
    if tag == "HUMAN_AGENT":
        return [
            error(
                Code.HUMAN_AGENT_TAG,
                span,
                "HUMAN_AGENT is only for a person answering by hand; automation may never use it",
                "pageflows adds HUMAN_AGENT by itself when an agent replies from 24h to 7 days",
            )
        ]
    verdict = tag_policy(tag, as_of)
    if verdict.status == "unknown":
        hint = _unknown_tag_hint(tag, as_of, tag_policy, verdict.replacement)
        return [error(Code.UNKNOWN_TAG, span, f"{tag} is not a Messenger message tag", hint)]
    if verdict.status == "retired":
        since = verdict.retired_on.isoformat() if verdict.retired_on else "an earlier date"
        return [
            error(
                Code.RETIRED_TAG,
                span,
                f"Facebook refuses {tag} since {since} (error 100; checked as of {as_of})",
                verdict.replacement or None,
            )
        ]
    if tag == "CUSTOMER_FEEDBACK":
        return [
            error(
                Code.TAG_NOT_FOR_FLOWS,
                span,
                "CUSTOMER_FEEDBACK may only carry Facebook's customer feedback template,"
                " which flows cannot send",
                "send the survey inside the 24 h window instead",
            )
        ]
    return []


def _unknown_tag_hint(tag: str, as_of: date, tag_policy: TagPolicy, instead: str) -> str:
    """Suggest the nearest tag only as far as Facebook still takes it on `as_of`."""
    close = difflib.get_close_matches(tag.upper(), KNOWN_TAGS, n=1, cutoff=0.5)
    if not close:
        usable = [
            t
            for t in KNOWN_TAGS
            if t not in NOT_FOR_FLOWS and tag_policy(t, as_of).status == "accepted"
        ]
        if usable:
            return f"tags flows may use on {as_of}: " + ", ".join(usable)
        return f"no message tag is open to automated messages on {as_of}; {instead}"
    verdict = tag_policy(close[0], as_of)
    if verdict.status == "retired":
        since = verdict.retired_on or "an earlier date"
        return f"{close[0]} comes closest, but Facebook refuses it since {since}; {instead}"
    if verdict.status == "human_only":
        return f"{close[0]} comes closest, but only a person answering by hand may use it"
    return f"did you mean {close[0]}?"
