"""No event can stop the others: a failing event is retried, then parked, never a wall.

Before: one event that raised stayed pending and every later pass stopped at
it (no reply, no follow-up, no send for anyone) while `/healthz` said ok. The
failure here is a real exception inside the worker for one contact (the core
raising, as a bug would), through the real webhook, storage and sender.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from service_world import PAGE, World, running_world

from pageflows.cli import main
from pageflows.engine import core
from pageflows.service import worker as worker_module

FLOWS = """
on message:
    send "got it"
    after 1h:
        send "still there?"
"""
POISON_TEXT = "this one breaks the worker"


@pytest.fixture
def world(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    def handle(program: Any, contact: Any, event: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(event, "text", None) == POISON_TEXT:
            raise RuntimeError("a bug the event runs into")
        return core.handle(program, contact, event, *args, **kwargs)

    monkeypatch.setattr(worker_module, "handle", handle)
    monkeypatch.setenv("PAGEFLOWS_DATABASE_URL", database_url)
    with running_world(database_url, tmp_path, FLOWS) as world:
        yield world


def test_a_failing_event_is_parked_and_everyone_else_is_answered(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.start()
    poisoned = world.sim.control.say(POISON_TEXT, as_="mallory")["psid"]
    others = [world.sim.control.say("hi", as_=f"person{n}")["psid"] for n in range(3)]
    world.sim.control.say("are you there?", as_="mallory")  # waits behind mallory's first
    world.settle()
    for psid in others:
        assert world.texts(psid) == ["got it"]
    assert world.texts(poisoned) == []
    first = world.inbox()[0]
    assert (
        first.status == "pending" and first.attempts == 1 and "RuntimeError" in (first.error or "")
    )

    world.advance(timedelta(seconds=30))  # retried with backoff, then parked
    statuses = {row.contact_id: row.status for row in world.inbox() if row.kind == "message"}
    parked = [row for row in world.inbox() if row.status == "parked"]
    assert len(parked) == 1 and parked[0].attempts == 3 and parked[0].contact_id == poisoned
    assert statuses[others[0]] == "done"
    assert world.texts(poisoned) == ["got it"]  # mallory's later message went on after it

    health = world.health()
    assert health["inbox"]["parked"] == 1
    assert any("parked" in problem for problem in health["problems"])
    world.advance(
        timedelta(hours=1), step=timedelta(minutes=10)
    )  # follow-ups still fire for everyone
    for psid in [*others, poisoned]:
        assert world.texts(psid) == ["got it", "still there?"]

    listing = CliRunner().invoke(main, ["inbox", "parked"])
    assert listing.exit_code == 0, listing.output
    assert f"#{parked[0].id} message from {poisoned}" in listing.output
    assert "RuntimeError: a bug the event runs into" in listing.output

    monkeypatch.setattr(worker_module, "handle", core.handle)  # the fix is deployed
    replay = CliRunner().invoke(main, ["inbox", "replay"])
    assert replay.exit_code == 0 and "1 parked event(s) queued again" in replay.output
    world.settle()
    assert world.texts(poisoned) == ["got it", "still there?", "got it"]
    assert world.health()["inbox"]["parked"] == 0


def enforcement(action: str, reason: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"action": action}
    if reason:
        item["reason"] = reason
    return {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": 1764000000000,
                "messaging": [
                    {
                        "recipient": {"id": PAGE},
                        "timestamp": 1764000000000,
                        "policy_enforcement": item,
                    }
                ],
            }
        ],
    }


def test_a_policy_block_pauses_the_page_and_an_unblock_resumes_it(world: World) -> None:
    world.start()
    assert world.post(enforcement("block", "spam reports")) == 200
    psid = world.sim.control.say("hi", as_="alice")["psid"]
    world.settle()
    assert world.texts(psid) == []
    health = world.health()
    assert health["paused_pages"] == [
        {"page": PAGE, "reason": "policy_block", "detail": "spam reports", "code": None}
    ]
    assert [r.status for r in world.outbox()] == ["queued"]
    assert world.post(enforcement("unblock")) == 200
    world.settle()
    assert world.texts(psid) == ["got it"]
    assert world.health()["paused_pages"] == []
