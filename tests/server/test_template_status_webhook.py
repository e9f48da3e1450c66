"""`message_template_status_update` end to end: signed webhook -> inbox -> worker -> stored status
-> the page facts the engine decides with. On SQLite and PostgreSQL, over real HTTP.

The engine's use of the facts is the lead's (core.handle); here the worker's
call of `handle` is watched (a wrapper records its `page` argument, the real
function still decides) to show what it is given, and when.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from running import PAGE, START, Running, messaging_body, ms, running
from sqlalchemy.orm import Session
from support import wait_for

from pageflows.engine import core
from pageflows.rules.page_facts import PageFacts, TemplateInfo
from pageflows.service import worker as worker_module
from pageflows.service.config import PageConfig
from pageflows.service.facts import FactsCache
from pageflows.service.storage.templates import apply_status, stored

FLOWS = 'on keyword "price":\n    send "prices"\n\non message:\n    send "default"\n'
SHIPPED = TemplateInfo("order_shipped", "en_US", body="Order {{1}} shipped", parameters=1)


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[Running]:
    with running(database_url, FLOWS, tmp_path) as world:
        runtime = world.service.worker.pages[PAGE]
        runtime.config = PageConfig(id=PAGE, token="t", region="EU", templates=(SHIPPED,))
        yield world


@pytest.fixture
def pages_seen(monkeypatch: pytest.MonkeyPatch) -> list[PageFacts | None]:
    """The `page` each call of the core received, in order."""
    seen: list[PageFacts | None] = []

    def watched(*args: Any, page: PageFacts | None = None, **kwargs: Any) -> Any:
        seen.append(page)
        return core.handle(*args, page=page, **kwargs)

    monkeypatch.setattr(worker_module, "handle", watched)
    return seen


def status_change(value: dict[str, Any], at_ms: int) -> dict[str, Any]:
    change = {"field": "message_template_status_update", "value": value}
    return {"object": "page", "entry": [{"id": PAGE, "time": at_ms, "changes": [change]}]}


def value(event: str, name: str = "order_shipped", tid: int = 88001) -> dict[str, Any]:
    return {
        "event": event,
        "message_template_id": tid,
        "message_template_name": name,
        "message_template_language": "en_US",
        "reason": "NONE",
    }


def post(world: Running, body: dict[str, Any]) -> dict[str, Any]:
    answer = world.post(json.dumps(body).encode())
    assert answer.status_code == 200, answer.text
    assert world.drain() == 0
    result: dict[str, Any] = answer.json()
    return result


def stored_statuses(world: Running) -> dict[str, str]:
    with Session(world.service.engine) as session:
        return {row.name: row.status for row in stored(session, PAGE)}


def say(world: Running, psid: str, text: str, n: int) -> None:
    world.sim.control.add_contact(psid, first_name="Tess")
    world.sim.control.seen(psid)
    item = {
        "sender": {"id": psid},
        "recipient": {"id": PAGE},
        "timestamp": ms(START) + n,
        "message": {"mid": f"m_{psid}_{n}", "text": text},
    }
    post(world, messaging_body(PAGE, item))


def test_a_status_webhook_is_stored_and_the_next_decision_sees_it(
    world: Running, pages_seen: list[PageFacts | None]
) -> None:
    say(world, "7100000000000001", "price", 1)
    assert pages_seen[-1] == PageFacts(id=PAGE, region="EU", templates=(SHIPPED,))

    post(world, status_change(value("PAUSED"), ms(START + timedelta(minutes=1))))
    (row,) = world.inbox()[-1:]
    assert (row.kind, row.status, row.contact_id) == ("template_status", "done", None)
    assert stored_statuses(world) == {"order_shipped": "PAUSED"}
    say(world, "7100000000000001", "price", 2)
    paused = pages_seen[-1]
    assert paused is not None and paused.template("order_shipped", "en_US") == TemplateInfo(
        "order_shipped", "en_US", "PAUSED", body="Order {{1}} shipped", parameters=1
    )

    post(world, status_change(value("REINSTATED"), ms(START + timedelta(minutes=2))))
    say(world, "7100000000000001", "price", 3)
    back = pages_seen[-1]
    assert back is not None and back.template("order_shipped", "en_US") == SHIPPED
    assert wait_for(lambda: world.texts("7100000000000001"), 3) == ["prices"] * 3


def test_an_unknown_template_is_stored_with_its_status_and_an_older_status_is_ignored(
    world: Running,
) -> None:
    later, earlier = ms(START + timedelta(minutes=5)), ms(START + timedelta(minutes=1))
    post(world, status_change(value("APPROVED", name="new_one", tid=5), later))
    assert post(world, status_change(value("REJECTED", name="new_one", tid=5), earlier))["new"] == 1
    assert stored_statuses(world) == {"new_one": "APPROVED"}
    assert [(r.kind, r.status) for r in world.inbox()] == [
        ("template_status", "done"),
        ("template_status", "ignored"),
    ]
    # a redelivery of the same change is stored once
    assert post(world, status_change(value("APPROVED", name="new_one", tid=5), later))["new"] == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"event": "APPROVED", "message_template_id": 1},  # no name or language
        value("APPROVED", name="x" * 600),  # longer than the column
        {**value("APPROVED"), "message_template_id": 10**80},  # an id no column holds
        {**value("APPROVED"), "event": ["APPROVED"]},
        "APPROVED",
    ],
)
def test_a_malformed_status_is_kept_unknown_and_loses_nothing_else(
    world: Running, bad: Any
) -> None:
    psid = "7100000000000009"
    world.sim.control.add_contact(psid, first_name="Uma")
    world.sim.control.seen(psid)
    message = {
        "sender": {"id": psid},
        "recipient": {"id": PAGE},
        "timestamp": ms(START),
        "message": {"mid": "m_beside", "text": "price"},
    }
    body = status_change(bad, ms(START))
    body["entry"][0]["messaging"] = [message]
    assert post(world, body) == {"received": 2, "new": 2}
    assert sorted((r.kind, r.status) for r in world.inbox()) == [
        ("message", "done"),
        ("unknown", "ignored"),
    ]
    assert stored_statuses(world) == {}
    assert wait_for(lambda: world.texts(psid), 1) == ["prices"]


def test_another_processs_status_reaches_a_cached_page_within_the_ttl(database_url: str) -> None:
    from pageflows.service.storage.database import make_engine
    from pageflows.service.storage.migrate import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    ticks = [100.0]
    cache = FactsCache(ttl=3.0, ticker=lambda: ticks[0])
    page = PageConfig(id=PAGE, token="t", templates=(SHIPPED,))
    with Session(engine) as session:
        assert cache.get(session, page).templates == (SHIPPED,)
    with Session(engine) as session, session.begin():  # another process applies a webhook
        apply_status(session, PAGE, "PAUSED", START, name="order_shipped", language="en_US")
    ticks[0] += 2.9
    with Session(engine) as session:
        assert cache.get(session, page).templates == (SHIPPED,)  # still cached
    ticks[0] += 0.1
    with Session(engine) as session:
        (template,) = cache.get(session, page).templates
    assert template.status == "PAUSED"
    engine.dispose()


def test_a_reload_brings_the_declared_facts_to_the_next_decision(
    world: Running, pages_seen: list[PageFacts | None]
) -> None:
    """SIGHUP reads pageflows.toml again; `replace_page_facts` is what it hands the pages to."""
    say(world, "7100000000000002", "price", 1)
    assert pages_seen[-1] is not None and pages_seen[-1].region == "EU"
    same = PageConfig(id=PAGE, token="new", region="EU", templates=(SHIPPED,))
    assert world.service.replace_page_facts([same]) == []
    moved = PageConfig(id=PAGE, token="t", region="JP", ad_window=True)
    assert world.service.replace_page_facts([moved, PageConfig(id="42", token="")]) == [PAGE]
    say(world, "7100000000000002", "price", 2)
    assert pages_seen[-1] == PageFacts(id=PAGE, region="JP", ad_window=True)
