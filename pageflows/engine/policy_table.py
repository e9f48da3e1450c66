"""Facebook's message tags and notification-token rules as dated data (``RULES``), and
``check_tag``: the part of engine/policy.py that `pageflows check` reads.

Why a module of its own (issue 13: A): `pageflows check` needs the table and
``check_tag`` only; engine/policy.py (the decisions the engine makes at send
time, with their pydantic models) took a tenth of the command's start-up to
import. policy.py imports all of this back, and remains the place to read the
rules from: see its docstring for how they are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pageflows.rules.page_facts import REGIONS

TagStatus = Literal["accepted", "retired", "unknown", "human_only"]


@dataclass(frozen=True)
class TagRule:
    """A message tag and the days Facebook accepts it; ``retired_on`` is the first day refused."""

    tag: str
    accepted_from: date | None
    retired_on: date | None
    window: timedelta | None  # max age since the contact's last message; None = no fixed limit
    automation_allowed: bool
    replacement: str  # what to use instead, in a marketer's words
    source: str


@dataclass(frozen=True)
class TokenCapRule:
    """From ``effective_from`` on, one marketing message per notification token per ``cap``."""

    effective_from: date
    cap: timedelta
    source: str = "[MM]"


@dataclass(frozen=True)
class TokenRegionRule:
    """From ``discontinued_on`` on, notification tokens work only for Pages in ``kept_in``."""

    deprecated_on: date
    discontinued_on: date
    kept_in: tuple[str, ...]
    source: str = "[MM] policy.md §3"

    def allows(self, on: date, region: str | None) -> bool:
        return on < self.discontinued_on or region in self.kept_in


@dataclass(frozen=True)
class PolicyTable:
    standard_window: timedelta
    human_agent_window: timedelta
    private_reply_window: timedelta
    tags: tuple[TagRule, ...]
    token_caps: tuple[TokenCapRule, ...]
    token_regions: TokenRegionRule
    optin_request_gap: timedelta  # one opt-in request per title per person per this long
    ad_window: timedelta  # after a click-to-Messenger ad, where the Page turned it on
    legacy_frequency_until: date  # tokens before this day carry a daily/weekly/monthly frequency


_NO_PROMO = (
    'send the update as an approved utility template (`send template "name"`), '
    "or inside the 24 h window after the contact's last message"
)
_HUMAN_ONLY = "only a person typing in the inbox may use it, never an automated message"
_FEEDBACK = "send the feedback request within 7 days of the contact's last message"
_7D, _2026, _2020 = timedelta(days=7), date(2026, 4, 27), date(2020, 3, 4)

# fmt: off
# Retired 2020-03-04 when 17 tags were cut to 4 (announced 2019-08-29) [POL][C-tags].
_TAGS_RETIRED_2020 = (
    "BUSINESS_PRODUCTIVITY", "COMMUNITY_ALERT", "CONFIRMED_EVENT_REMINDER",
    "NON_PROMOTIONAL_SUBSCRIPTION", "PAIRING_UPDATE", "APPLICATION_UPDATE", "PAYMENT_UPDATE",
    "PERSONAL_FINANCE_UPDATE", "SHIPPING_UPDATE", "RESERVATION_UPDATE", "ISSUE_RESOLUTION",
    "APPOINTMENT_UPDATE", "GAME_EVENT", "TRANSPORTATION_UPDATE", "FEATURE_FUNCTIONALITY_UPDATE",
    "TICKET_UPDATE",
)
RULES = PolicyTable(
    standard_window=timedelta(hours=24),    # policy.md §1 [S][POL]
    human_agent_window=_7D,                 # policy.md §2 [S-ref]
    private_reply_window=_7D,               # policy.md §4 [PR]
    tags=(
        #       tag                       from  retired_on window automated replacement  source
        TagRule("HUMAN_AGENT",            None, None,      _7D,   False,    _HUMAN_ONLY, "[S-ref]"),
        TagRule("CUSTOMER_FEEDBACK",      None, None,      _7D,   True,     _FEEDBACK,   "[S-ref]"),
        # Error 100 from 2026-04-27; the last day Facebook accepts them is 2026-04-26.
        TagRule("CONFIRMED_EVENT_UPDATE", None, _2026,     None,  True,     _NO_PROMO,   "[S-ref]"),
        TagRule("POST_PURCHASE_UPDATE",   None, _2026,     None,  True,     _NO_PROMO,   "[S-ref]"),
        TagRule("ACCOUNT_UPDATE",         None, _2026,     None,  True,     _NO_PROMO,   "[S-ref]"),
        *(TagRule(name, None, _2020, None, True, _NO_PROMO, "[C-tags]")
          for name in _TAGS_RETIRED_2020),
    ),
    token_caps=(
        # Tokens without a frequency exist from 2023-01-31; earlier dates fall back to this row.
        TokenCapRule(date(2023, 1, 31), timedelta(hours=24), "[MM]"),
        TokenCapRule(date(2025, 9, 1), timedelta(hours=48), "[MM]"),
    ),
    # Deprecated 2026-01-12, discontinued 2026-02-10 outside AU, EU, JP, KR, UK [MM] §3.
    token_regions=TokenRegionRule(date(2026, 1, 12), date(2026, 2, 10), REGIONS),
    optin_request_gap=_7D,                  # policy.md §3 [MM]: 1 request / week per title
    ad_window=_7D,                          # policy.md §1a [POL] (a per-Page opt-in)
    legacy_frequency_until=date(2023, 1, 31),  # policy.md §3 [MM]
)
# fmt: on


@dataclass(frozen=True)
class TagVerdict:
    tag: str
    status: TagStatus
    retired_on: date | None
    replacement: str
    rule: TagRule | None


def check_tag(tag: str, on: date, rules: PolicyTable = RULES) -> TagVerdict:
    """What Facebook does with ``tag`` on day ``on``; names are case-sensitive, as Facebook's."""
    candidates = [r for r in rules.tags if r.tag == tag]
    for rule in candidates:
        started = rule.accepted_from is None or rule.accepted_from <= on
        if started and (rule.retired_on is None or on < rule.retired_on):
            status: TagStatus = "accepted" if rule.automation_allowed else "human_only"
            return TagVerdict(tag, status, rule.retired_on, rule.replacement, rule)
    retired = [r for r in candidates if r.retired_on is not None and r.retired_on <= on]
    if retired:
        rule = max(retired, key=lambda r: r.retired_on or date.min)
        return TagVerdict(tag, "retired", rule.retired_on, rule.replacement, rule)
    return TagVerdict(tag, "unknown", None, _NO_PROMO, None)
