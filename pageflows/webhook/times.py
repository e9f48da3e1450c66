"""Webhook times: epoch milliseconds, or seconds where Facebook sent seconds, in a sane range.

Messaging `timestamp`, `watermark` and `entry.time` are documented as epoch
milliseconds, feed times as seconds, and Facebook has sent seconds where its
docs say milliseconds. The two never overlap in practice: 10**11 ms is March
1973, before Messenger existed, while 10**11 s is the year 5138. So a value
below 10**11 is read as seconds.

Only times from 1970 up to the year 3000 are accepted. The database could
hold more (PostgreSQL to the year 294276), but the service adds hours and
days to these times (the 24 h window, follow-ups) and Python's datetime ends
at the year 9999: a time near either end would break the worker long after
the webhook had answered 200. Refusing it at the edge is a 400 with a reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SECONDS_BELOW = 10**11
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
_EPOCH = EARLIEST
_LATEST_MS = (LATEST - _EPOCH) // timedelta(milliseconds=1)


class OutOfRange(ValueError):
    """A number or date that cannot be a moment Facebook meant."""


def epoch_ms(value: int) -> int:
    """Epoch milliseconds for a webhook number in ms or s; raises OutOfRange outside 1970-3000."""
    ms = value * 1000 if value < SECONDS_BELOW else value
    if not 0 <= ms < _LATEST_MS:
        raise OutOfRange(value)
    return ms


def in_range(moment: datetime) -> datetime:
    """An aware datetime as UTC, or OutOfRange when it falls outside 1970-3000."""
    try:
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:  # year 1 at +05:00 is before the year 1 in UTC
        raise OutOfRange(moment.isoformat()) from None
    if not EARLIEST <= moment < LATEST:
        raise OutOfRange(moment.isoformat())
    return moment
