"""Contacts writing to the page at a steady rate, each keyword at most once per contact.

A small pool of contacts is active at a time, so one contact's messages
interleave with others' and sometimes share a webhook batch; a contact who
has sent every keyword leaves and a new one arrives.

With `in_order`, a contact writes its next message only once Facebook has
delivered the previous one (a 200), as a person types one message after
another: the page receives each contact's messages in the order they were
written, so the order of the replies can be judged against it. Contacts
still waiting for a 200 sit out, and newcomers keep the rate up.
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
MAX_POOL = 4 * POOL  # in order: contacts waiting for a 200 sit out, up to this many in all
BATCH_PROBABILITY = 0.2
PSID_BASE = 7_100_000_000_000_000


@dataclass
class _Contact:
    psid: str
    left: list[int] = field(default_factory=list)  # keywords not yet sent, in sending order
    last: int | None = None  # the number of its latest event


class Traffic:
    """Makes events at `rate` per second and hands them, signed, to `facebook`."""

    def __init__(
        self,
        sim: Simulator,
        facebook: Facebook,
        rng: random.Random,
        rate: float,
        tag: int,
        in_order: bool = False,
    ) -> None:
        self.sim = sim
        self.in_order = in_order
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

    def _ready(self, contact: _Contact) -> bool:
        """May this contact write now? Always, unless in order and its last one is unanswered."""
        return not self.in_order or contact.last is None or self.facebook.was_accepted(contact.last)

    def _next_event(self) -> Event | None:
        while len(self._pool) < POOL:
            self._pool.append(self._new_contact())
        ready = [c for c in self._pool if self._ready(c)]
        if not ready and len(self._pool) < MAX_POOL:
            self._pool.append(self._new_contact())
            ready = self._pool[-1:]
        if not ready:
            return None  # everyone waits for Facebook to deliver: this tick writes nothing
        contact = self.rng.choice(ready)
        n = contact.left.pop()
        if not contact.left:
            self._pool.remove(contact)
        number = len(self.events) + 1
        contact.last = number
        event = Event(number, contact.psid, n, keyword(n), f"m_crash{self.tag}_{number:07d}")
        self.events.append(event)
        return event

    def _run(self) -> None:
        try:
            next_at = time.monotonic()
            while not self._stop.is_set():
                size = self.rng.choice((2, 3)) if self.rng.random() < BATCH_PROBABILITY else 1
                batch = [e for _ in range(size) if (e := self._next_event()) is not None]
                if not batch:
                    next_at += 1 / self.rate
                    self._stop.wait(max(0.0, next_at - time.monotonic()))
                    continue
                body = batch_body(self.sim.page.page_id, batch, int(time.time() * 1000))
                self.facebook.submit(body, [e.number for e in batch])
                next_at += len(batch) / self.rate
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        except BaseException as exc:  # surfaced by the harness, never swallowed
            self.error = exc
