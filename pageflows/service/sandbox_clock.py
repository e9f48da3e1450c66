"""In sandbox mode every process keeps the simulator's time.

The preview (the web console) moves the simulator's clock ("an hour later", "8
days later") to show follow-ups and windows closing without waiting. The
worker deciding them and the web processes showing them are other processes,
so each follows the simulator: a thread asks its clock's offset from real time
(GET /_sim/clock, `offset_seconds`) a few times a second, and `now()` is the
real time plus that offset. The offset is a number that changes only when
someone moves the clock, so there is no jitter; and `now()` never goes back,
even if the simulator's clock is set backwards, because decisions about a
contact must carry times that only move forward.

Only `serve --sandbox` uses it; against Facebook the system clock is the time.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import requests

from pageflows.clock import Clock, SystemClock

log = logging.getLogger("pageflows.sandbox")
POLL_SECONDS = 0.25


class SandboxClock:
    def __init__(
        self, simulator_root: str, base: Clock | None = None, poll: float = POLL_SECONDS
    ) -> None:
        self.url = simulator_root.rstrip("/") + "/_sim/clock"
        self.base: Clock = base or SystemClock()
        self.poll = poll
        self._offset = timedelta()
        self._last: datetime | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._session = requests.Session()
        self._session.trust_env = False  # the simulator is on this machine, never via a proxy
        self.refresh()
        threading.Thread(target=self._follow, name="sandbox-clock", daemon=True).start()

    def now(self) -> datetime:
        with self._lock:
            moment = self.base.now() + self._offset
            if self._last is not None and moment < self._last:
                moment = self._last
            self._last = moment
            return moment

    def sleep(self, seconds: float) -> None:
        self.base.sleep(seconds)

    def refresh(self) -> bool:
        """Read the simulator's offset now; False (and the old offset kept) if it is away."""
        try:
            answer = self._session.get(self.url, timeout=2)
            offset = float(answer.json()["offset_seconds"])
        except (requests.RequestException, ValueError, KeyError, TypeError):
            return False
        with self._lock:
            self._offset = timedelta(seconds=offset)
        return True

    def stop(self) -> None:
        self._stop.set()

    def _follow(self) -> None:
        while not self._stop.wait(self.poll):
            self.refresh()
