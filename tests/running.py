"""A running `serve` (webhook on a socket, worker, scheduler) against the Graph API simulator.

Shared by the tests that post webhook bodies over real HTTP and read what the
worker answered: real sockets, a real database, a fake clock both sides share.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from service_world import PAGE, START, running_world, signature
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pageflows.clock import FakeClock
from pageflows.serve import Service
from pageflows.service.storage.models import InboxEvent, OutboxMessage
from pageflows.simulator import RunningSimulator

__all__ = ["PAGE", "START", "Running", "messaging_body", "ms", "running"]


@dataclass
class Running:
    service: Service
    sim: RunningSimulator
    clock: FakeClock
    http: requests.Session
    url: str

    def post(self, raw: bytes, signed: bool | str = True) -> requests.Response:
        """POST raw bytes to /webhook: signed with the app secret, unsigned, or a given header."""
        headers = {"Content-Type": "application/json"}
        if signed is True:
            headers["X-Hub-Signature-256"] = signature(raw)
        elif isinstance(signed, str):
            headers["X-Hub-Signature-256"] = signed
        return self.http.post(f"{self.url}/webhook", data=raw, headers=headers, timeout=30)

    def texts(self, psid: str) -> list[str]:
        return [
            str(m["request"]["message"].get("text", m["request"]["message"]))
            for m in self.sim.control.sent_messages(psid)
            if m["ok"]
        ]

    def inbox(self) -> list[InboxEvent]:
        with Session(self.service.engine) as session:
            return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))

    def outbox(self) -> list[OutboxMessage]:
        with Session(self.service.engine) as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    def pending(self) -> int:
        with Session(self.service.engine) as session:
            count = session.scalar(
                select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "pending")
            )
        return int(count or 0)

    def drain(self, wait: float = 30.0) -> int:
        """Wake the worker until the inbox has nothing pending (or `wait` passes); what is left.

        An event that failed waits for its retry (`next_attempt_at`, a second or five
        later): on the shared fake clock that moment never comes unless the clock is
        moved, so it is moved there, as real time would pass. An event that keeps
        failing is parked after its last try: callers that care assert on that.
        """
        deadline = time.monotonic() + wait
        left = self.pending()
        while left and time.monotonic() < deadline:
            self.service.wake()
            time.sleep(0.05)
            retry_at = self.next_retry()
            if retry_at is not None and retry_at > self.clock.now():
                self.clock.set(retry_at)
                self.sim.control.set_clock(retry_at)
            left = self.pending()
        return left

    def next_retry(self) -> datetime | None:
        """When the earliest pending event that failed may be tried again (None: none failed)."""
        with Session(self.service.engine) as session:
            moment = session.scalar(
                select(func.min(InboxEvent.next_attempt_at)).where(
                    InboxEvent.status == "pending", InboxEvent.attempts > 0
                )
            )
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.clock.now().tzinfo)
        return moment

    def failures(self) -> list[str]:
        """The errors of the inbox events that failed at least once (retried or parked)."""
        return [f"{row.id} {row.status}: {row.error}" for row in self.inbox() if row.attempts]


@contextmanager
def running(database_url: str, flows: str, tmp_path: Path) -> Iterator[Running]:
    """`flows` (one file's text) served for PAGE on `database_url`, the simulator as Facebook."""
    with running_world(database_url, tmp_path, flows) as world:
        service = world.start(worker=True)
        http = requests.Session()
        try:
            yield Running(service, world.sim, world.clock, http, world.url)
        finally:
            http.close()


def messaging_body(page: str, *items: dict[str, Any], time_ms: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": page, "messaging": list(items)}
    if time_ms is not None:
        entry["time"] = time_ms
    return {"object": "page", "entry": [entry]}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
