"""The only reader of the wall clock.

Time is an argument everywhere else: a unit of work reads `clock.now()` once
and passes the value down, so tests swap `SystemClock` for `FakeClock` and
replay any moment (the day a tag retires, the last second of a 24 h window).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass (a paced sender waiting for its turn)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))


class FakeClock:
    """A clock that moves only when told to; it refuses naive datetimes."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def sleep(self, seconds: float) -> None:
        """Waiting on a fake clock moves it to the end of the wait, at once: a paced sender
        in a test takes no real time. Threads waiting together move it to the latest of
        their ends, not to the sum of their waits."""
        with self._lock:
            end = self._now + timedelta(seconds=max(seconds, 0.0))
        with self._lock:
            self._now = max(self._now, end)

    def set(self, moment: datetime) -> None:
        self._now = _aware_utc(moment)


def _aware_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a clock needs a timezone-aware datetime, got naive {moment!r}")
    return moment.astimezone(UTC)
