"""Each page's pace: no more than its rate of sends per second, across every process.

Facebook's Page Inbox stops working for a Page that sends more than 40
messages a second (policy.md §5), and a throttled Page costs every contact a
delay; so each page has a rate (`rate` in its `[[pages]]` table, default
`DEFAULT_RATE`) that no burst, broadcast or retry may exceed, whichever
process sends.

How: `page_state.next_send_at` is the earliest moment the page's next call
may start. A sender reserves a slot by moving it on by one interval, in a
transaction holding the page's row lock, then sleeps until its slot. A call
starts at most `grace` after its slot (a sender that wakes later gives its
slot up and takes a new one), and reaches Facebook within `JITTER` of it.
So any one second as Facebook sees it holds the calls of slots within
`1 + JITTER` seconds: slots `(1 + JITTER) / floor(rate)` apart put at most
`floor(rate)` calls into it, and the page still gets 92% of its rate at 250/s
(issue 13: the earlier 25% headroom cost a fifth of every page's pace; 40 ms of
jitter, 96%, was exceeded on a busy 2-core machine: 11 calls in a second at 10/s).
"""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from pageflows.clock import Clock

# Messages per second: the default (half the Page Inbox threshold), the least and
# the most (the threshold itself, policy.md §5): in defaults.py (issue 13: A).
from pageflows.service.defaults import DEFAULT_RATE as DEFAULT_RATE
from pageflows.service.defaults import MAX_RATE as MAX_RATE
from pageflows.service.defaults import MIN_RATE as MIN_RATE
from pageflows.service.storage.models import PageState

# issue 13: E. How late a call may reach Facebook after its slot: half of it for the sender
# to wake and start the call (`grace`), half for the network. Slots are this much wider.
JITTER = 0.08  # seconds


class Pacer:
    def __init__(self, engine: Engine, clock: Clock, rates: dict[str, float]) -> None:
        self.engine = engine
        self.clock = clock
        # Reservations of this process one at a time: on SQLite `FOR UPDATE` is no lock and
        # a read-then-write would hand one slot out twice (SQLite has one worker process).
        self.lock = threading.Lock()
        self.intervals = {page: slot_width(rate) for page, rate in rates.items() if rate > 0}

    def interval(self, page_id: str, shared_rate: float | None = None) -> timedelta:
        """The page's slot width: by the rate in its `page_state` row when given (the one
        every process paces by), else by this process's setting."""
        if shared_rate:
            return slot_width(shared_rate)
        return self.intervals.get(page_id, slot_width(DEFAULT_RATE))

    def grace(self, page_id: str) -> timedelta:
        """How late after its slot a call may still start: half the jitter the slots allow
        for (the other half is the network's), whatever the rate; it was half an interval,
        2 ms at 250/s, which a busy machine misses more often than not."""
        return timedelta(seconds=JITTER / 2)

    def reserve(self, page_id: str, count: int = 1) -> list[datetime]:
        """`count` consecutive moments at which this caller may start a call for the page;
        no one else gets them. In their own transaction, holding the page's row."""
        with self.lock, self.engine.begin() as connection:
            taken = connection.execute(
                select(PageState.next_send_at, PageState.rate)
                .where(PageState.page_id == page_id)
                .with_for_update()
            ).one_or_none()
            rate = taken[1] if taken else None
            slots = self.take(page_id, taken[0] if taken else None, count, rate)
            connection.execute(
                update(PageState)
                .where(PageState.page_id == page_id)
                .values(next_send_at=slots[-1] + self.interval(page_id, rate))
            )
        return slots

    def take(
        self,
        page_id: str,
        next_send_at: datetime | None,
        count: int,
        shared_rate: float | None = None,
    ) -> list[datetime]:
        """The slots from `next_send_at` (or now, if that has passed); the caller holds the
        page's row and stores the last slot plus one interval as the new `next_send_at`."""
        now = self.clock.now()
        first = max(now, next_send_at or now)
        interval = self.interval(page_id, shared_rate)
        return [first + n * interval for n in range(count)]

    def wait_for(self, page_id: str, slot: datetime | None) -> datetime:
        """Block until `slot` (reserved with the claim) and return the slot used; a slot
        missed by more than `grace` (a busy machine) has passed unused, so wait for a fresh
        one instead."""
        while True:
            if slot is None:
                slot = self.reserve(page_id)[0]
            delay = (slot - self.clock.now()).total_seconds()
            if delay > 0:
                self.clock.sleep(delay)
            if not self.missed(page_id, slot):
                return slot
            slot = None

    def sleep_until(self, moment: datetime) -> None:
        delay = (moment - self.clock.now()).total_seconds()
        if delay > 0:
            self.clock.sleep(delay)

    def missed(self, page_id: str, slot: datetime) -> bool:
        """Is it too late now to start a call in `slot`?"""
        return self.clock.now() - slot > self.grace(page_id)


def slot_width(rate: float) -> timedelta:
    """The interval between a page's slots: calls up to JITTER late after theirs still put
    at most `rate` of them (whole calls) into any one second; under 1/s, one per 1/rate s."""
    whole = math.floor(rate) if rate >= 1 else rate
    return timedelta(seconds=(1 + JITTER) / whole)
