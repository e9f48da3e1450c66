"""The simulator's own clock (it never imports pageflows.engine, so it keeps its own).

Every rule the simulator enforces (24 h window, 7-day tags, the 2026-04-27 tag
retirement, token caps, private-reply age) reads this clock, so a test can jump
to any moment over HTTP (`POST /_sim/clock`) and both sides of the wire agree.
It is named clock.py because the project allows only clock.py files to read
the wall clock.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment; naive values are taken as UTC (Facebook's clocks are UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class SimClock:
    """Real UTC time until set; once set it is frozen, and `advance` moves it.

    Frozen time makes boundaries (the last second of a window) reproducible;
    before any `set` the clock follows the real time shifted by past advances.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None
        self._offset = timedelta()

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(UTC) + self._offset  # noqa: TID251 - the simulator's only reader

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._frozen = moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)

    def unfreeze(self) -> None:
        """Back to the real time (used by `{"real": true}`)."""
        with self._lock:
            self._frozen, self._offset = None, timedelta()

    def offset_seconds(self) -> float:
        """How far this clock is from the real time: what a process following the
        simulator's time (pageflows' sandbox clock) adds to its own."""
        with self._lock:
            base = datetime.now(UTC)  # noqa: TID251 - the simulator's only reader
            moment = self._frozen if self._frozen is not None else base + self._offset
            return (moment - base).total_seconds()

    @property
    def frozen(self) -> bool:
        return self._frozen is not None


def to_ms(moment: datetime) -> int:
    """Webhook `timestamp`/`time`/watermark values are epoch milliseconds."""
    return int(moment.timestamp() * 1000)
