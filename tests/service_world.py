"""A running service against the Graph API simulator, for tests that need the real path.

Both run on real sockets (signed webhooks in, Graph calls out) on SQLite or
PostgreSQL; they share a fake clock, so backoff, windows and outages of a
minute pass at once. `restart` is a new process on the same database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from embedded_web import Served, serve_in_thread
from sqlalchemy import select
from sqlalchemy.orm import Session

from pageflows.clock import FakeClock
from pageflows.serve import Service, build_service
from pageflows.service.config import PageConfig, Settings
from pageflows.service.storage.models import InboxEvent, OutboxMessage
from pageflows.simulator import RunningSimulator, running_simulator

PAGE = "104123456789012"
TOKEN = "faults-page-token"
SECRET = "faults-app-secret"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ADMIN_TOKEN = "world-admin-token"


def signature(raw: bytes, secret: str = SECRET) -> str:
    """`X-Hub-Signature-256` as Facebook computes it with the app secret."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@dataclass
class World:
    sim: RunningSimulator
    database_url: str
    flows: Path
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    token: str = TOKEN
    graph_timeout: float = 10.0
    service: Service | None = None
    served: Served | None = None
    page: PageConfig = field(default_factory=lambda: PageConfig(id=PAGE, token=TOKEN, name="Shop"))

    @property
    def url(self) -> str:
        assert self.served is not None
        return self.served.url

    def settings(self) -> Settings:
        return Settings(
            database_url=self.database_url,
            app_secret=SECRET,
            verify_token="faults-verify",
            graph_url=self.sim.url,
            pages=(replace(self.page, token=self.token),),
            admin_token=ADMIN_TOKEN,
        )

    def start(self, register: bool = True, worker: bool = False) -> Service:
        """Serve; without `worker` the test steps the worker itself (`settle`)."""
        # One contact at a time: on a fake clock a paced wait takes no real time, so
        # concurrent senders would race; the real-clock tests (tests/processes) cover them.
        service = build_service(
            self.settings(),
            str(self.flows),
            self.clock,
            graph_timeout=self.graph_timeout,
            concurrency=1,
        )
        self.served = serve_in_thread(service)
        if register:
            self.register(self.served.url, self.token)
        if worker:
            service.start()
        self.service = service
        return service

    def register(self, url: str, token: str) -> None:
        page = self.page
        self.sim.control.register_page(
            page_id=PAGE,
            token=token,
            app_secret=SECRET,
            webhook_url=f"{url}/webhook",
            name="Shop",
            region=page.region,
            ad_window=page.ad_window,
            human_agent=page.human_agent,
            templates=[
                {"name": t.name, "language": t.language, "status": t.status, "body": t.body}
                for t in page.templates
            ],
        )

    def stop(self) -> None:
        if self.served is not None:
            self.served.stop()
            self.served = None
            self.service = None

    def restart(self, token: str | None = None) -> Service:
        self.stop()
        if token is not None:
            self.token = token
        return self.start(register=False)

    def advance(self, delta: timedelta, step: timedelta = timedelta(seconds=1)) -> None:
        """Let time pass in steps, waking the worker at each, as real time would."""
        end = self.clock.now() + delta
        while self.clock.now() < end:
            self.clock.set(min(end, self.clock.now() + step))
            self.sim.control.set_clock(self.clock.now())
            self.settle()

    def settle(self, timeout: float = 30.0) -> None:
        """Run worker passes until one finds nothing to do at the current time."""
        assert self.service is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.service.work_once() == 0:
                return
        raise AssertionError("the worker did not settle")

    def outbox(self) -> list[OutboxMessage]:
        assert self.service is not None
        with Session(self.service.engine) as session:
            rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
            session.expunge_all()
            return rows

    def inbox(self) -> list[InboxEvent]:
        assert self.service is not None
        with Session(self.service.engine) as session:
            rows = list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))
            session.expunge_all()
            return rows

    def health(self) -> dict[str, Any]:
        assert self.service is not None
        answer: dict[str, Any] = requests.get(f"{self.url}/healthz", timeout=5).json()
        return answer

    def post(self, body: dict[str, Any]) -> int:
        """A signed webhook POST, as Facebook sends one."""
        assert self.service is not None
        raw = json.dumps(body).encode()
        answer = requests.post(
            f"{self.url}/webhook",
            data=raw,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature(raw)},
            timeout=10,
        )
        return answer.status_code

    def api(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str = ADMIN_TOKEN
    ) -> requests.Response:
        """The operator API over HTTP, as a person's tools (or the console) call it."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(
            method, f"{self.url}/api{path}", json=body, headers=headers, timeout=10
        )

    def texts(self, psid: str | None = None) -> list[str]:
        return [
            m["request"]["message"].get("text", "")
            for m in self.sim.control.sent_messages(psid)
            if m.get("ok") and "message" in m["request"]
        ]


@contextmanager
def running_world(
    database_url: str, folder: Path, flow: str, graph_timeout: float = 10.0
) -> Iterator[World]:
    """A simulator at START and a World with `flow` as its only flow file; stopped after."""
    flows = folder / "flows"
    flows.mkdir()
    (flows / "main.flow").write_text(flow, "utf-8")
    with running_simulator() as sim:
        sim.control.set_clock(START)
        world = World(sim, database_url, flows, graph_timeout=graph_timeout)
        try:
            yield world
        finally:
            world.stop()
