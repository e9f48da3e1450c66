"""Webhooks from the real world, through a running service: what is stored and what is answered.

Shapes that other projects' suites carry and Facebook documents: an unsent
message (`is_deleted`), a tap no trigger takes, a Get Started carrying a ref
no flow knows, items for a Page that is not configured, and the items that
have no sender (`app_roles`, `policy_enforcement`, checkbox-plugin opt-ins,
chat-plugin guests). Posted signed over HTTP to `serve`, answered (or not) at
the simulator, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from running import PAGE, START, Running, messaging_body, ms, running
from support import wait_for

OTHER_PAGE = "204123456789013"
FLOWS = """
on ref "spring_sale":
    send "spring"

on ref missing:
    send "how did you find us?"

on postback "TALK_TO_HUMAN":
    send "human"

on keyword "price":
    send "prices"

on message:
    send "default"
"""


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[Running]:
    with running(database_url, FLOWS, tmp_path) as world:
        yield world


def known(world: Running, psid: str) -> str:
    """A contact the simulator knows, inside the 24 h window, as a hand-made body needs."""
    world.sim.control.add_contact(psid, first_name="Hand")
    world.sim.control.seen(psid)
    return psid


def text_item(psid: str, text: str, mid: str, page: str = PAGE) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": page},
        "timestamp": ms(START),
        "message": {"mid": mid, "text": text},
    }


def post(world: Running, body: dict[str, Any]) -> dict[str, Any]:
    answer = world.post(json.dumps(body, separators=(",", ":")).encode())
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def statuses(world: Running) -> list[tuple[str, str, str | None]]:
    return [(row.kind, row.status, row.error) for row in world.inbox()]


def test_an_unsent_message_is_stored_and_never_answered(world: Running) -> None:
    psid = known(world, "7000000000000001")
    post(world, messaging_body(PAGE, text_item(psid, "price", "m_unsent")))
    assert wait_for(lambda: world.texts(psid), 1) == ["prices"]
    # Instagram-style: the same mid, no text, and the time in seconds.
    unsent = {
        "sender": {"id": psid},
        "recipient": {"id": PAGE},
        "timestamp": ms(START + timedelta(minutes=1)) // 1000,
        "message": {"mid": "m_unsent", "is_deleted": True},
    }
    assert post(world, messaging_body(PAGE, unsent)) == {"received": 1, "new": 1}
    assert world.drain() == 0
    rows = world.inbox()
    assert [(r.kind, r.status) for r in rows] == [("message", "done"), ("message", "ignored")]
    assert rows[1].payload["is_deleted"] is True
    assert rows[1].occurred_at == START + timedelta(minutes=1)
    assert world.texts(psid) == ["prices"]


def test_a_tap_no_trigger_takes_gets_the_default_reply(world: Running) -> None:
    psid = world.sim.control.postback(title="Old offer", payload="OLD_OFFER", as_="bob")["psid"]
    assert wait_for(lambda: world.texts(psid), 1) == ["default"]
    psid = world.sim.control.postback(title="Talk", payload="TALK_TO_HUMAN", as_="cleo")["psid"]
    assert wait_for(lambda: world.texts(psid), 1) == ["human"]


def test_get_started_with_a_ref_no_flow_knows_runs_ref_missing(world: Running) -> None:
    psid = world.sim.control.postback(ref="autumn_2019", as_="dora")["psid"]
    assert wait_for(lambda: world.texts(psid), 1) == ["how did you find us?"]
    psid = world.sim.control.postback(ref="spring_sale", as_="emil")["psid"]
    assert wait_for(lambda: world.texts(psid), 1) == ["spring"]


def test_items_for_a_page_that_is_not_configured_are_stored_and_never_answered(
    world: Running,
) -> None:
    psid = known(world, "7000000000000002")
    body = {
        "object": "page",
        "entry": [
            {"id": OTHER_PAGE, "time": ms(START),
             "messaging": [text_item(psid, "price", "m_other_page", OTHER_PAGE)]},
            {"id": PAGE, "time": ms(START), "messaging": [text_item(psid, "price", "m_ours")]},
        ],
    }  # fmt: skip
    assert post(world, body) == {"received": 2, "new": 2}
    assert wait_for(lambda: world.texts(psid), 1) == ["prices"]
    assert world.drain() == 0
    rows = world.inbox()
    assert [(r.page_id, r.status) for r in rows] == [(OTHER_PAGE, "ignored"), (PAGE, "done")]
    assert {r.page_id for r in world.outbox()} == {PAGE}
    assert len(world.sim.control.sent_messages()) == 1


SENDERLESS = [
    {"recipient": {"id": PAGE}, "timestamp": ms(START),
     "app_roles": {"987654321098765": ["primary_receiver"]}},
    {"recipient": {"id": PAGE}, "timestamp": ms(START),
     "optin": {"ref": "cart", "user_ref": "shop-user-8842"}},
    {"sender": {"user_ref": "guest-5512"}, "recipient": {"id": PAGE}, "timestamp": ms(START),
     "message": {"mid": "m_guest", "text": "price?"}},
    {"recipient": {"id": PAGE}, "timestamp": ms(START),
     "policy_enforcement": {"action": "warning", "reason": "spam reports"}},
]  # fmt: skip


def test_items_without_a_sender_are_stored_and_answered_by_no_one(world: Running) -> None:
    body = messaging_body(PAGE, *SENDERLESS, time_ms=ms(START))
    body["entry"].append(
        {"id": PAGE, "changes": [{"field": "feed", "value": {"item": "status", "verb": "add"}}]}
    )
    assert post(world, body) == {"received": 5, "new": 5}
    assert world.drain() == 0
    # The policy warning is read (and logged) by the worker; the rest is only kept.
    assert statuses(world) == [
        ("unknown", "ignored", None),
        ("unknown", "ignored", None),
        ("unknown", "ignored", None),
        ("unknown", "done", None),
        ("unknown", "ignored", None),
    ]
    assert [r.occurred_at for r in world.inbox()][-1] is None  # the entry had no time
    assert world.outbox() == []
    psid = world.sim.control.say("price", as_="fred")["psid"]  # the service still answers
    assert wait_for(lambda: world.texts(psid), 1) == ["prices"]
    assert len(world.sim.control.sent_messages()) == 1


def policy(action: str, at_ms: int) -> dict[str, Any]:
    """Facebook's own example spells the key `policy-enforcement`; it has no sender."""
    item = {"recipient": {"id": PAGE}, "timestamp": at_ms,
            "policy-enforcement": {"action": action, "reason": "policy violation"}}  # fmt: skip
    return messaging_body(PAGE, item, time_ms=at_ms)


def test_a_policy_block_in_facebooks_own_spelling_pauses_sending_until_unblocked(
    world: Running,
) -> None:
    assert post(world, policy("block", ms(START))) == {"received": 1, "new": 1}
    assert world.drain() == 0
    psid = world.sim.control.say("price", as_="gina")["psid"]
    assert wait_for(lambda: [r for r in world.outbox() if r.status == "queued"], 1)
    time.sleep(0.5)
    assert world.texts(psid) == []  # held while Facebook blocks the page
    assert post(world, policy("unblock", ms(START) + 1)) == {"received": 1, "new": 1}
    assert wait_for(lambda: world.texts(psid), 1) == ["prices"]
