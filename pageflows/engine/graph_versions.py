"""Graph API versions as dated data: until when Facebook serves each one.

Every Graph call names a version in its path (`/v25.0/me/messages`). Facebook
keeps a version for about two years after the next one comes out and then
stops serving it, on a date it announces; a bot still calling it breaks that
day, all at once. So the dates are data, like the tag retirements in
`policy.py`: `serve` and `worker` warn 90 days ahead and refuse to start on an
ended version, and `pageflows check` reports it, all judged on the clock's
day (a value passed in: this module does no I/O and reads no clock).

A version's `until` is the day Facebook lists it as "available until"; that
day is counted as ended (the safe reading of an end date with no time of day).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

# send-api.md's first paragraph; v19.0 and v20.0, listed there only as expired, carry the
# dates of Facebook's version list (developers.facebook.com/docs/graph-api/changelog/versions).
SOURCE = "Graph changelog, updated 2026-10-29"
WARN_WITHIN = timedelta(days=90)
_FORM = re.compile(r"v(\d+)\.(\d+)")


@dataclass(frozen=True)
class GraphVersion:
    name: str  # "v25.0", as it appears in the URL
    released: date
    until: date | None  # None: Facebook has announced no end (treated as not ending)

    @property
    def number(self) -> tuple[int, int]:
        return _number(self.name) or (0, 0)


VERSIONS: tuple[GraphVersion, ...] = (
    GraphVersion("v19.0", date(2024, 1, 23), date(2026, 5, 21)),
    GraphVersion("v20.0", date(2024, 5, 21), date(2026, 9, 24)),
    GraphVersion("v21.0", date(2024, 10, 2), date(2027, 1, 21)),
    GraphVersion("v22.0", date(2025, 1, 21), date(2027, 5, 20)),
    GraphVersion("v23.0", date(2025, 5, 29), date(2027, 10, 8)),
    GraphVersion("v24.0", date(2025, 10, 8), date(2028, 2, 18)),
    GraphVersion("v25.0", date(2026, 2, 18), date(2028, 7, 29)),
    GraphVersion("v26.0", date(2026, 7, 29), None),
    GraphVersion("v27.0", date(2026, 11, 4), None),  # current since 2026-11-04
)
# What pageflows calls unless told otherwise: the newest version the fact pack's notes
# were checked against (policy.md §2a, "verified on v25"), served until 2028-07-29.
DEFAULT_VERSION = "v25.0"

State = Literal["ok", "ending", "ended", "unknown"]


@dataclass(frozen=True)
class VersionVerdict:
    """What a version means on a day: `message` is one sentence naming the date."""

    version: str
    state: State
    until: date | None
    move_to: str | None  # the version to use instead, when this one is ending or ended
    message: str

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def is_version(text: str) -> bool:
    """The form of a Graph API version in a URL: v, a number, a dot, a number (v25.0)."""
    return _FORM.fullmatch(text) is not None


def find(version: str) -> GraphVersion | None:
    return next((v for v in VERSIONS if v.name == version), None)


def version_status(version: str, on: date) -> VersionVerdict:
    """Is `version` served on `on`: ok, ending within 90 days, ended, or not in the table."""
    known = find(version)
    if known is None:
        return _not_listed(version, on)
    if known.until is None:
        return VersionVerdict(
            version, "ok", None, None, f"Graph API {version} has no announced end date ({SOURCE})."
        )
    left = (known.until - on).days
    move_to = recommended(on)
    if left <= 0:
        return VersionVerdict(
            version,
            "ended",
            known.until,
            move_to,
            f"Graph API {version} ended on {known.until} ({SOURCE}); move to {move_to}.",
        )
    if left <= WARN_WITHIN.days:
        days = "1 day" if left == 1 else f"{left} days"
        return VersionVerdict(
            version,
            "ending",
            known.until,
            move_to,
            f"Graph API {version} ends on {known.until}, in {days} ({SOURCE}); move to {move_to}.",
        )
    return VersionVerdict(
        version, "ok", known.until, None, f"Graph API {version} is served until {known.until}."
    )


def recommended(on: date) -> str:
    """The default version while it is not ending; else the newest one that is not."""
    if _lasts(find(DEFAULT_VERSION), on):
        return DEFAULT_VERSION
    lasting = [v for v in VERSIONS if _lasts(v, on)]
    return lasting[-1].name if lasting else VERSIONS[-1].name


def _lasts(version: GraphVersion | None, on: date) -> bool:
    return version is not None and (
        version.until is None or (version.until - on).days > WARN_WITHIN.days
    )


def _not_listed(version: str, on: date) -> VersionVerdict:
    """Older than the table: ended (Facebook ends versions in order). Newer: unknown."""
    number, oldest = _number(version), VERSIONS[0]
    if number is not None and number < oldest.number:
        move_to = recommended(on)
        return VersionVerdict(
            version,
            "ended",
            None,
            move_to,
            f"Graph API {version} ended before {oldest.name} did on {oldest.until}"
            f" ({SOURCE}); move to {move_to}.",
        )
    if number is None:
        message = f"{version!r} is not a Graph API version (write it as v25.0)."
    else:
        message = f"Graph API {version} is not in pageflows' table ({SOURCE}): its end is unknown."
    return VersionVerdict(version, "unknown", None, None, message)


def _number(version: str) -> tuple[int, int] | None:
    match = _FORM.fullmatch(version)
    return (int(match.group(1)), int(match.group(2))) if match else None
