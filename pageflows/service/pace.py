"""Each page's pace: no more than its rate of sends per second, across every process.

Facebook's Page Inbox stops working for a Page that sends more than 40
messages a second (policy.md §5), and a throttled Page costs every contact a
delay; so each page has a rate (`rate` in its `[[pages]]` table, default
`DEFAULT_RATE`) that no burst, broadcast or retry may exceed, whichever
process sends.

How: `page_state.next_send_at` is the earliest moment the page's next call
may start. A sender reserves a slot by moving it on by one interval, in a
transaction holding the page's row lock, then sleeps until its slot. Slots
are `HEADROOM` times wider than the rate asks, and a sender that wakes more
than half an interval late gives its slot up and takes a new one, so an
overloaded machine or network jitter cannot crowd more than `rate` calls
into any one second as Facebook sees them.
"""

from __future__ import annotations

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

HEADROOM = 1.25  # slots 25% wider than 1/rate


class Pacer:
    def __init__(self, engine: Engine, clock: Clock, rates: dict[str, float]) -> None:
        self.engine = engine
        self.clock = clock
        # Reservations of this process one at a time: on SQLite `FOR UPDATE` is no lock and
        # a read-then-write would hand one slot out twice (SQLite has one worker process).
        self.lock = threading.Lock()
        self.intervals = {
            page: timedelta(seconds=HEADROOM / rate) for page, rate in rates.items() if rate > 0
        }

    def interval(self, page_id: str, shared_rate: float | None = None) -> timedelta:
        """The page's slot width: by the rate in its `page_state` row when given (the one
        every process paces by), else by this process's setting."""
        if shared_rate:
            return timedelta(seconds=HEADROOM / shared_rate)
        return self.intervals.get(page_id, timedelta(seconds=HEADROOM / DEFAULT_RATE))

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

    def wait_for(self, page_id: str, slot: datetime | None) -> None:
        """Block until `slot` (reserved with the claim); a slot missed by more than half an
        interval (a busy machine) has passed unused, so wait for a fresh one instead."""
        grace = self.interval(page_id) / 2
        while True:
            if slot is None:
                slot = self.reserve(page_id)[0]
            delay = (slot - self.clock.now()).total_seconds()
            if delay > 0:
                self.clock.sleep(delay)
            if self.clock.now() - slot <= grace:
                return
            slot = None
