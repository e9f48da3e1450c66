"""Fault injection through the simulator: Facebook misbehaves, nothing is lost or hidden.

The real path end to end: signed webhooks into the service, the worker, the
sender, the Graph client over HTTP, the simulator answering with Facebook's
own error bodies (500s, 613/4/32/80006 bursts, 190, 2018300, hangs, an
outage), on SQLite and PostgreSQL. The clock is shared and fake, so an outage
of 60 s or a 40 s burst passes at once; the worker is stepped by the test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from service_world import PAGE, World, running_world
from support import wait_for

from pageflows.cli import main
from pageflows.engine.inbound_messaging import PAGE_INBOX_APP_ID
from pageflows.simulator.state import DEFAULT_APP_ID

FLOWS = """
on keyword "hello":
    send "hello to you"

on message:
    send "got it"
"""


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path, FLOWS) as world:
        yield world


def say_all(world: World, count: int, text: str = "hi there") -> list[str]:
    return [world.sim.control.say(text, as_=f"person{n}")["psid"] for n in range(count)]


def assert_each_answered_once(world: World, psids: list[str], text: str = "got it") -> None:
    sent = Counter(m["recipient_id"] for m in world.sim.control.sent_messages() if m["ok"])
    assert {psid: sent[psid] for psid in psids} == dict.fromkeys(psids, 1)
    rows = world.outbox()
    assert [r.status for r in rows] == ["sent"] * len(psids)
    assert not any(r.possible_duplicate for r in rows)
    assert {r.preview for r in rows} == {text}


def test_the_graph_api_down_for_60_seconds_loses_no_reply(world: World) -> None:
    world.start()
    world.sim.control.fail_for(60, code=2)
    psids = say_all(world, 30)
    world.settle()
    assert world.texts() == []  # nothing got through the outage
    assert {r.status for r in world.outbox()} == {"queued"}
    assert world.health()["slowed_pages"][0]["page"] == PAGE
    world.advance(timedelta(seconds=120))
    assert_each_answered_once(world, psids)
    refused = [m for m in world.sim.control.sent_messages() if not m["ok"]]
    assert len(refused) <= 10  # one probe per backoff step, not 30 messages x N tries


@pytest.mark.parametrize("code", [613, 4, 32, 80006])
def test_a_40_second_rate_limit_burst_slows_the_page_and_every_reply_goes(
    world: World, code: int
) -> None:
    world.start()
    world.sim.control.fail_for(40, code=code)
    psids = say_all(world, 20)
    world.advance(timedelta(seconds=100))
    assert_each_answered_once(world, psids)
    refused = [m for m in world.sim.control.sent_messages() if not m["ok"]]
    assert 1 <= len(refused) <= 10


def test_500s_are_retried(world: World) -> None:
    world.start()
    world.sim.control.fail_next(3, code=1, status=500)
    psids = say_all(world, 3)
    world.advance(timedelta(seconds=30))
    assert_each_answered_once(world, psids)


def test_an_answer_after_the_timeout_is_resent_once_and_flagged(
    database_url: str, tmp_path: Path
) -> None:
    """Before: delivered twice while the outbox showed one send. Now the duplicate is visible."""
    with running_world(database_url, tmp_path, FLOWS, graph_timeout=0.5) as world:
        world.start()
        world.sim.control.slow(2.0, calls=1)  # the first send hangs past our timeout, then lands
        [psid] = say_all(world, 1)
        world.settle()
        world.advance(timedelta(seconds=10))
        assert wait_for(lambda: world.texts(psid), 2) == ["got it", "got it"]
        [row] = world.outbox()
        assert row.status == "sent" and row.possible_duplicate is True
        assert world.health()["outbox"]["possible_duplicates"] == 1


def test_an_expired_token_pauses_the_page_until_the_token_is_replaced(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGEFLOWS_DATABASE_URL", world.database_url)
    world.start()
    world.register(world.url, "the-new-token")  # old one dies
    psids = say_all(world, 5)
    world.settle()
    health = world.health()
    assert health["paused_pages"][0]["page"] == PAGE
    assert health["paused_pages"][0]["reason"] == "token_invalid"
    assert any("paused" in p for p in health["problems"])
    assert {r.status for r in world.outbox()} == {"queued"}  # waiting, not failed
    listing = CliRunner().invoke(main, ["pages"])
    assert f"page {PAGE}: PAUSED (token_invalid): Invalid OAuth access token" in listing.output
    assert "outbox: 5 queued" in listing.output
    world.advance(timedelta(minutes=10), step=timedelta(minutes=1))
    assert world.texts() == []

    world.restart()  # restarted with the same, dead token: still paused
    world.settle()
    assert world.texts() == [] and world.health()["paused_pages"]
    world.restart(token="the-new-token")
    world.settle()
    assert_each_answered_once(world, psids)
    sent_order = [m["recipient_id"] for m in world.sim.control.sent_messages() if m["ok"]]
    assert sent_order == psids  # in the order they were decided
    assert world.health()["paused_pages"] == []


def test_a_thread_owned_by_another_app_holds_replies_until_it_is_passed_back(
    world: World,
) -> None:
    world.start()
    [psid, other] = say_all(world, 2, text="hello")
    world.settle()
    world.sim.control.set_thread_owner(psid, PAGE_INBOX_APP_ID, notify=False)
    world.sim.control.say("one more thing", as_="person0")
    world.settle()
    held = [r for r in world.outbox() if r.status == "held"]
    assert [(r.contact_id, r.reason) for r in held] == [(psid, "thread_elsewhere")]
    world.sim.control.say("and another", as_="person0")  # automation waits: nothing decided
    world.sim.control.say("hello", as_="person1")  # others are not held up
    world.settle()
    assert world.texts(other) == ["hello to you", "hello to you"]
    assert len([r for r in world.outbox() if r.contact_id == psid]) == 2

    world.sim.control.set_thread_owner(psid, DEFAULT_APP_ID, notify=True)  # passed back to us
    world.settle()
    assert world.texts(psid) == ["hello to you", "got it"]
    world.sim.control.say("thanks", as_="person0")  # automation answers again
    world.settle()
    assert world.texts(psid) == ["hello to you", "got it", "got it"]


def test_a_token_replaced_by_a_reload_resumes_the_page_without_a_restart(world: World) -> None:
    """`kill -HUP` on serve re-reads the settings and calls `replace_tokens`."""
    service = world.start()
    world.register(world.url, "the-new-token")
    psids = say_all(world, 3)
    world.settle()
    assert world.health()["paused_pages"][0]["reason"] == "token_invalid"
    assert service.replace_tokens({PAGE: "the-new-token"}) == [PAGE]
    world.settle()
    assert_each_answered_once(world, psids)


def test_a_30_second_hang_does_not_hold_the_reply_and_the_retry_is_flagged(
    database_url: str, tmp_path: Path
) -> None:
    """Facebook hangs for 30 s on one call: we give up at our timeout, send again once,
    flagged, and do not wait for the hung call (which may still land: a counted duplicate)."""
    with running_world(database_url, tmp_path, FLOWS, graph_timeout=1.0) as world:
        world.start()
        world.sim.control.slow(30.0, calls=1)
        [psid, other] = say_all(world, 2)
        world.settle()
        world.advance(timedelta(seconds=5))
        assert world.texts(psid) == ["got it"] and world.texts(other) == ["got it"]
        first = world.outbox()[0]
        assert first.status == "sent" and first.possible_duplicate is True
