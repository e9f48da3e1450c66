"""Facebook's Messenger rules that depend on the date or on a length of time, as data.

One table of dated changes and one of time spans, each row naming where in
/work/shared/messenger/policy.md it is written, so a date Facebook moves is
changed in one line here. The simulator reads them against its own clock
(`clock.py`), never against pageflows.engine's table: the two copies are
written separately so that each catches the other's mistakes on the wire.
Dates are UTC days: a change "from 2026-04-27" applies from 2026-04-27T00:00Z.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True)
class Change:
    """A rule Facebook switched on for good on `starts` (the first UTC day it applies)."""

    starts: date
    what: str
    source: str

    def in_force(self, now: datetime) -> bool:
        return now.astimezone(UTC).date() >= self.starts


@dataclass(frozen=True)
class Span:
    """A length of time a rule allows (a window, a cap, a gap between requests)."""

    length: timedelta
    what: str
    source: str


# The dated table: (first UTC day, what changed, where policy.md says so).
TAGS_RETIRED_2020 = Change(
    date(2020, 3, 4),
    "16 message tags retired (announced 2019-08-29)",
    "policy.md §1, §2 [POL][C-tags]",
)
TOKEN_CAP_48H = Change(
    date(2025, 9, 1),
    "one send per notification token per 48 h instead of 24 h",
    "policy.md §3 [MM]",
)
TOKENS_REGIONAL = Change(
    date(2026, 2, 10),
    "notification tokens and opt-in requests only for Pages in AU, EU, JP, KR, UK",
    "policy.md §3 [MM] (deprecated 2026-01-12, discontinued 2026-02-10)",
)
TAGS_RETIRED_2026 = Change(
    date(2026, 4, 27),
    "CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE refused with 100/1893061",
    "policy.md §2 [S] (chatwoot#14669)",
)
CHANGES = (TAGS_RETIRED_2020, TOKEN_CAP_48H, TOKENS_REGIONAL, TAGS_RETIRED_2026)

# The spans: (how long, what for, where policy.md says so).
STANDARD_WINDOW = Span(
    timedelta(hours=24), "after the person's last message; closed at 24 h", "policy.md §1 [S][POL]"
)
AD_WINDOW = Span(
    timedelta(days=7),
    "after a message that followed a click-to-Messenger ad, where the Page turned it on",
    "policy.md §1a [POL]",
)
TAG_WINDOW = Span(
    timedelta(days=7), "HUMAN_AGENT and CUSTOMER_FEEDBACK after the last message", "policy.md §2"
)
PRIVATE_REPLY_WINDOW = Span(timedelta(days=7), "after the comment's creation", "policy.md §4 [PR]")
TOKEN_CAP_BEFORE = Span(
    timedelta(hours=24), "between two sends to one token before 2025-09-01", "policy.md §3 [MM]"
)
TOKEN_CAP_AFTER = Span(
    timedelta(hours=48), "between two sends to one token from 2025-09-01", "policy.md §3 [MM]"
)
OPTIN_REQUEST_GAP = Span(
    timedelta(days=7), "between two opt-in requests of one title to one person", "policy.md §3"
)
SPANS = (
    STANDARD_WINDOW, AD_WINDOW, TAG_WINDOW, PRIVATE_REPLY_WINDOW, TOKEN_CAP_BEFORE,
    TOKEN_CAP_AFTER, OPTIN_REQUEST_GAP,
)  # fmt: skip

# Where notification tokens survive TOKENS_REGIONAL (policy.md §3; "EU" stands for the EU geo).
TOKEN_REGIONS = ("AU", "EU", "JP", "KR", "UK")
SEVEN_DAY_TAGS = ("HUMAN_AGENT", "CUSTOMER_FEEDBACK")
TAGS_RETIRING_2026 = ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE")
TAGS_RETIRING_2020 = (
    "BUSINESS_PRODUCTIVITY", "COMMUNITY_ALERT", "CONFIRMED_EVENT_REMINDER",
    "NON_PROMOTIONAL_SUBSCRIPTION", "PAIRING_UPDATE", "APPLICATION_UPDATE", "PAYMENT_UPDATE",
    "PERSONAL_FINANCE_UPDATE", "SHIPPING_UPDATE", "RESERVATION_UPDATE", "ISSUE_RESOLUTION",
    "APPOINTMENT_UPDATE", "GAME_EVENT", "TRANSPORTATION_UPDATE", "FEATURE_FUNCTIONALITY_UPDATE",
    "TICKET_UPDATE",
)  # fmt: skip
_TAG_RETIREMENTS = (
    (TAGS_RETIRED_2020, TAGS_RETIRING_2020),
    (TAGS_RETIRED_2026, TAGS_RETIRING_2026),
)


def retired_tags(now: datetime) -> tuple[str, ...]:
    """The tags Facebook refuses at `now` (with 100/1893061, even inside the window)."""
    return tuple(t for change, tags in _TAG_RETIREMENTS if change.in_force(now) for t in tags)


def live_tags(now: datetime) -> tuple[str, ...]:
    """The tags Facebook still takes at `now`: the 7-day ones and those not yet retired."""
    retired = retired_tags(now)
    every = (*SEVEN_DAY_TAGS, *TAGS_RETIRING_2026, *TAGS_RETIRING_2020)
    return tuple(t for t in every if t not in retired)


def tokens_allowed(now: datetime, region: str | None) -> bool:
    """Whether a Page in `region` (None: none of the five) may still use notification tokens."""
    return not TOKENS_REGIONAL.in_force(now) or region in TOKEN_REGIONS


def token_cap(now: datetime) -> timedelta:
    """The least time between two sends to one notification token at `now`."""
    return (TOKEN_CAP_AFTER if TOKEN_CAP_48H.in_force(now) else TOKEN_CAP_BEFORE).length
