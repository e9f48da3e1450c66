"""Facebook's side of the webhook: signed bodies, and redelivery until a 200.

Facebook retries a POST that got no 200 (the server was dead, the connection
was reset, it answered 5xx), and now and then delivers a batch twice even
after a 200. `Facebook` does both, from a few threads, so events reach a
restarted server out of order and more than once, as they do in production.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import requests

POST_TIMEOUT = 5.0
MAX_BACKOFF = 2.0


@dataclass(frozen=True)
class Event:
    """One message a contact sends: keyword `keyword` from `psid`, with its own `mid`."""

    number: int
    psid: str
    keyword: int
    text: str
    mid: str


def sign(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def batch_body(page_id: str, events: Sequence[Event], now_ms: int) -> bytes:
    """One POST body, possibly batching several contacts' messages, as Facebook does."""
    items = [
        {
            "sender": {"id": e.psid},
            "recipient": {"id": page_id},
            "timestamp": now_ms,
            "message": {"mid": e.mid, "text": e.text},
        }
        for e in events
    ]
    entry = {"id": page_id, "time": now_ms, "messaging": items}
    return json.dumps({"object": "page", "entry": [entry]}, separators=(",", ":")).encode()


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    body: bytes = field(compare=False)
    events: tuple[int, ...] = field(compare=False)
    attempts: int = field(default=0, compare=False)
    answered: bool = field(default=False, compare=False)  # already got a 200 once


@dataclass
class DeliveryStats:
    posts: int = 0
    answered: int = 0  # POSTs that got a 200
    unanswered: Counter[str] = field(default_factory=Counter)  # why a POST got no 200
    retries: int = 0  # POSTs sent again because an earlier one got no 200
    redelivered_after_200: int = 0  # POSTs sent again although one got a 200


class Facebook:
    """Delivers signed webhook bodies to `url` until each gets a 200; thread-safe."""

    def __init__(
        self,
        url: str,
        app_secret: str,
        rng: random.Random,
        redeliver_probability: float = 0.05,
        threads: int = 4,
    ) -> None:
        self.url = url
        self.app_secret = app_secret
        self.rng = rng
        self.redeliver_probability = redeliver_probability
        self.stats = DeliveryStats()
        self.accepted: set[int] = set()  # event numbers that got a 200 at least once
        self._queue: list[_Delivery] = []
        self._in_flight = 0
        self._seq = 0
        self._cond = threading.Condition()
        self._closed = False
        self._session = threading.local()
        self._threads = [
            threading.Thread(target=self._run, name=f"facebook-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, body: bytes, events: Sequence[int]) -> None:
        self._push(_Delivery(time.monotonic(), 0, body, tuple(events)))

    def was_accepted(self, event: int) -> bool:
        with self._cond:
            return event in self.accepted

    def pending(self) -> int:
        """Bodies not yet answered with a 200, or due to be redelivered."""
        with self._cond:
            return len(self._queue) + self._in_flight

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            time.sleep(0.1)
        return self.pending() == 0

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=POST_TIMEOUT + 1)

    def _push(self, delivery: _Delivery) -> None:
        with self._cond:
            self._seq += 1
            delivery.seq = self._seq
            heapq.heappush(self._queue, delivery)
            self._cond.notify()

    def _take(self) -> _Delivery | None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                if self._queue and self._queue[0].due <= now:
                    self._in_flight += 1
                    return heapq.heappop(self._queue)
                wait = self._queue[0].due - now if self._queue else 0.5
                self._cond.wait(min(wait, 0.5))
            return None

    def _run(self) -> None:
        while (delivery := self._take()) is not None:
            try:
                self._post(delivery)
            except Exception as exc:  # a harness bug must never drop a delivery silently
                with self._cond:
                    self.stats.unanswered[f"harness error {type(exc).__name__}"] += 1
                self._follow(delivery, answered=False)
            finally:
                with self._cond:
                    self._in_flight -= 1

    def _post(self, delivery: _Delivery) -> None:
        session: requests.Session = getattr(self._session, "value", None) or requests.Session()
        self._session.value = session
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(delivery.body, self.app_secret),
            "User-Agent": "facebookexternalua",
        }
        outcome = "ok"
        try:
            answer = session.post(
                self.url, data=delivery.body, headers=headers, timeout=POST_TIMEOUT
            )
            if answer.status_code != 200:
                outcome = f"HTTP {answer.status_code}"
        except requests.Timeout:
            outcome = "timeout"
        except requests.ConnectionError as exc:
            refused = "refused" in str(exc).lower()
            outcome = "connection refused" if refused else "connection lost"
        except requests.RequestException as exc:  # e.g. a body cut short by the kill
            outcome = type(exc).__name__
        if outcome != "ok":
            session.close()  # its pooled connection may be dead; Facebook opens a new one
            self._session.value = None
        with self._cond:
            self.stats.posts += 1
            if outcome == "ok":
                self.stats.answered += 1
                self.accepted.update(delivery.events)
            else:
                self.stats.unanswered[outcome] += 1
        self._follow(delivery, outcome == "ok")

    def _follow(self, delivery: _Delivery, answered: bool) -> None:
        """Schedule what Facebook does next: a retry, or sometimes a redelivery after a 200."""
        now = time.monotonic()
        if not answered:
            backoff = min(MAX_BACKOFF, 0.2 * 2**delivery.attempts) * self.rng.uniform(0.5, 1.5)
            with self._cond:
                self.stats.retries += 1
            self._push(
                _Delivery(
                    now + backoff, 0, delivery.body, delivery.events,
                    delivery.attempts + 1, delivery.answered,
                )
            )  # fmt: skip
            return
        if not delivery.answered and self.rng.random() < self.redeliver_probability:
            with self._cond:
                self.stats.redelivered_after_200 += 1
            later = now + self.rng.uniform(0.2, 3.0)
            self._push(_Delivery(later, 0, delivery.body, delivery.events, 0, True))
