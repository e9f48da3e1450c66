"""Contacts writing to the page at a steady rate, each keyword at most once per contact.

A small pool of contacts is active at a time, so one contact's messages
interleave with others' and sometimes share a webhook batch; a contact who
has sent every keyword leaves and a new one arrives.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from .flow import KEYWORDS, keyword
from .processes import Simulator
from .webhooks import Event, Facebook, batch_body

POOL = 16
BATCH_PROBABILITY = 0.2
PSID_BASE = 7_100_000_000_000_000


@dataclass
class _Contact:
    psid: str
    left: list[int] = field(default_factory=list)  # keywords not yet sent, in sending order


class Traffic:
    """Makes events at `rate` per second and hands them, signed, to `facebook`."""

    def __init__(
        self, sim: Simulator, facebook: Facebook, rng: random.Random, rate: float, tag: int
    ) -> None:
        self.sim = sim
        self.facebook = facebook
        self.rng = rng
        self.rate = rate
        self.tag = tag
        self.events: list[Event] = []
        self._pool: list[_Contact] = []
        self._contacts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():  # never started, or stopped already: nothing to wait for
            self._thread.join(timeout=30)

    def _new_contact(self) -> _Contact:
        self._contacts += 1
        psid = str(PSID_BASE + self.tag * 1_000_000 + self._contacts)
        self.sim.add_contact(psid)
        left = list(range(KEYWORDS))
        self.rng.shuffle(left)
        return _Contact(psid, left)

    def _next_event(self) -> Event:
        while len(self._pool) < POOL:
            self._pool.append(self._new_contact())
        contact = self.rng.choice(self._pool)
        n = contact.left.pop()
        if not contact.left:
            self._pool.remove(contact)
        number = len(self.events) + 1
        event = Event(number, contact.psid, n, keyword(n), f"m_crash{self.tag}_{number:07d}")
        self.events.append(event)
        return event

    def _run(self) -> None:
        try:
            next_at = time.monotonic()
            while not self._stop.is_set():
                size = self.rng.choice((2, 3)) if self.rng.random() < BATCH_PROBABILITY else 1
                batch = [self._next_event() for _ in range(size)]
                body = batch_body(self.sim.page.page_id, batch, int(time.time() * 1000))
                self.facebook.submit(body, [e.number for e in batch])
                next_at += size / self.rate
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        except BaseException as exc:  # surfaced by the harness, never swallowed
            self.error = exc
