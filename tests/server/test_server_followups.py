"""Follow-ups in a running service: the window is respected, and a restart loses none.

Like tests/e2e/test_serve.py (its small helpers are copied, not imported):
the service runs for real against the Graph API simulator on a socket, on
SQLite and PostgreSQL, and both share a fake clock so hours pass at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from embedded_web import Served, serve_in_thread
from sqlalchemy import select
from sqlalchemy.orm import Session
from support import wait_for

from pageflows.clock import FakeClock
from pageflows.serve import Service, build_service
from pageflows.service.config import PageConfig, Settings
from pageflows.service.storage.models import FollowUp, OutboxMessage
from pageflows.simulator import RunningSimulator, running_simulator

PAGE = "104123456789012"
TOKEN = "followup-page-token"
SECRET = "followup-app-secret"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

# `after 25h` without a tag or a notification topic: the checker only warns.
FLOWS = """
on keyword "remind":
    send "ok"
    after 20h:
        send "still there?"

on keyword "late":
    send "ok"
    after 25h:
        send "late"
"""


def texts(sim: RunningSimulator, psid: str) -> list[str]:
    return [m["request"]["message"].get("text", "") for m in sim.control.sent_messages(psid)]


@dataclass
class World:
    sim: RunningSimulator
    clock: FakeClock
    settings: Settings
    flows: str
    service: Service | None = None
    served: Served | None = None

    def start_service(self) -> Service:
        service = build_service(self.settings, self.flows, self.clock)
        self.served = serve_in_thread(service)
        self.sim.control.register_page(
            page_id=PAGE, token=TOKEN, app_secret=SECRET,
            webhook_url=f"{self.served.url}/webhook", name="Shop",
        )  # fmt: skip
        service.start()
        self.service = service
        return service

    def stop_service(self) -> None:
        if self.served is not None:
            self.served.stop()
            self.served = None
            self.service = None

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.sim.control.set_clock(self.clock.now())
        if self.service is not None:
            self.service.wake()

    def outbox(self) -> list[OutboxMessage]:
        assert self.service is not None
        with Session(self.service.engine) as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    def follow_ups(self) -> list[FollowUp]:
        assert self.service is not None
        with Session(self.service.engine) as session:
            return list(session.scalars(select(FollowUp).order_by(FollowUp.id)))


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "reminders.flow").write_text(FLOWS, "utf-8")
    with running_simulator() as sim:
        sim.control.set_clock(START)
        settings = Settings(
            database_url=database_url,
            app_secret=SECRET,
            verify_token="followup-verify",
            graph_url=sim.url,
            pages=(PageConfig(id=PAGE, token=TOKEN, name="Shop"),),
        )
        world = World(sim, FakeClock(START), settings, str(flows))
        try:
            yield world
        finally:
            world.stop_service()


def test_a_follow_up_after_the_window_is_skipped_and_never_reaches_facebook(
    world: World,
) -> None:
    world.start_service()
    psid = world.sim.control.say("late", as_="alice")["psid"]
    assert wait_for(lambda: texts(world.sim, psid), 1) == ["ok"]
    pending = wait_for(world.follow_ups, 1)
    assert pending[0].status == "pending" and pending[0].due_at == START + timedelta(hours=25)

    world.advance(timedelta(hours=25))
    skipped = wait_for(lambda: [r for r in world.outbox() if r.status == "skipped"], 1)
    assert len(skipped) == 1
    assert skipped[0].reason == "outside_window" and skipped[0].contact_id == psid
    assert skipped[0].preview == "late"
    time.sleep(0.6)  # let the worker finish its pass before checking that nothing went out
    assert texts(world.sim, psid) == ["ok"]
    assert [f.status for f in world.follow_ups()] == ["done"]
    assert [r.status for r in world.outbox()] == ["sent", "skipped"]


def test_a_follow_up_inside_the_window_goes_out_when_due(world: World) -> None:
    world.start_service()
    psid = world.sim.control.say("remind", as_="bob")["psid"]
    assert wait_for(lambda: texts(world.sim, psid), 1) == ["ok"]
    world.advance(timedelta(hours=19, minutes=59))
    time.sleep(0.6)
    assert texts(world.sim, psid) == ["ok"]  # not a minute early
    world.advance(timedelta(minutes=1))
    assert wait_for(lambda: texts(world.sim, psid), 2) == ["ok", "still there?"]
    answers = world.sim.control.sent_messages(psid)
    assert answers[1]["ok"] and answers[1]["request"]["messaging_type"] == "UPDATE"


def test_a_follow_up_scheduled_before_a_restart_is_sent_after_it(world: World) -> None:
    first = world.start_service()
    psid = world.sim.control.say("remind", as_="cleo")["psid"]
    assert wait_for(lambda: texts(world.sim, psid), 1) == ["ok"]
    assert [f.status for f in wait_for(world.follow_ups, 1)] == ["pending"]
    world.stop_service()
    assert not first.alive()

    world.advance(timedelta(hours=20, minutes=1))  # time passes while nothing runs
    time.sleep(0.3)
    assert texts(world.sim, psid) == ["ok"]

    second = world.start_service()
    assert second is not first
    assert wait_for(lambda: texts(world.sim, psid), 2) == ["ok", "still there?"]
    time.sleep(0.6)
    assert texts(world.sim, psid) == ["ok", "still there?"]  # sent once, not twice
    assert [f.status for f in world.follow_ups()] == ["done"]
    assert [r.status for r in world.outbox()] == ["sent", "sent"]
