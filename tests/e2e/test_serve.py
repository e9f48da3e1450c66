"""End to end: signed webhooks over HTTP into a running `serve`, answers read at the simulator.

The service runs for real (Flask on a socket, the worker thread, the
scheduler, the database) against the Graph API simulator, also on a socket,
on SQLite and on PostgreSQL. Only the clock is fake, and both sides share it,
so a follow-up due in 20 h can be reached in a test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from embedded_web import serve_in_thread
from sqlalchemy import select
from sqlalchemy.orm import Session
from support import wait_for

from pageflows.clock import FakeClock
from pageflows.serve import Service, build_service
from pageflows.service.config import Settings, read_settings
from pageflows.service.storage.models import OutboxMessage
from pageflows.simulator import RunningSimulator, running_simulator

EXAMPLES = str(Path(__file__).resolve().parents[2] / "examples" / "flows")
# The Page the examples run on (region EU, the order_update template), as declared there.
EXAMPLE_PAGE = read_settings({}, Path(EXAMPLES) / "pageflows.toml").pages[0]
PAGE = "104123456789012"
SECRET = "e2e-app-secret"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SPRING_POST = "1234567890_1111"


@dataclass
class World:
    service: Service
    sim: RunningSimulator
    clock: FakeClock
    url: str

    def answers(self, psid: str, wait: float = 8.0, count: int = 1) -> list[dict[str, Any]]:
        """The messages the simulator accepted for `psid`, once at least `count` arrived."""
        return wait_for(lambda: self.sim.control.sent_messages(psid), count, wait)

    def texts(self, psid: str, count: int = 1) -> list[str]:
        return [text_of(m["request"]) for m in self.answers(psid, count=count) if m["ok"]]

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.sim.control.set_clock(self.clock.now())
        self.service.wake()

    def outbox(self) -> list[OutboxMessage]:
        with Session(self.service.engine) as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def text_of(body: dict[str, Any]) -> str:
    message = body.get("message", {})
    if "text" in message:
        return str(message["text"])
    payload = message.get("attachment", {}).get("payload", {})
    return str(payload.get("text") or payload.get("template_type") or message)


def settle(world: World, seconds: float = 0.6) -> None:
    """Let the worker finish a pass: for asserting that nothing was sent."""
    time.sleep(seconds)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    clock = FakeClock(START)
    with running_simulator() as sim:
        sim.control.set_clock(START)
        settings = Settings(
            database_url=database_url,
            app_secret=SECRET,
            verify_token="e2e-verify",
            graph_url=sim.url,
            pages=(replace(EXAMPLE_PAGE, id=PAGE, token="e2e-page-token", name="Shop"),),
        )
        service = build_service(settings, EXAMPLES, clock)
        served = serve_in_thread(service)
        sim.control.register_page(
            page_id=PAGE, token="e2e-page-token", app_secret=SECRET,
            webhook_url=f"{served.url}/webhook", name="Shop",
        )  # fmt: skip
        service.start()
        try:
            yield World(service, sim, clock, served.url)
        finally:
            served.stop()


def signed_post(world: World, body: bytes, secret: str = SECRET) -> requests.Response:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return requests.post(
        f"{world.url}/webhook",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        timeout=10,
    )


def message_body(psid: str, text: str, mid: str, at: datetime) -> bytes:
    ms = int(at.timestamp() * 1000)
    event = {
        "sender": {"id": psid},
        "recipient": {"id": PAGE},
        "timestamp": ms,
        "message": {"mid": mid, "text": text},
    }
    payload = {"object": "page", "entry": [{"id": PAGE, "time": ms, "messaging": [event]}]}
    return json.dumps(payload, separators=(",", ":")).encode()


def test_a_keyword_gets_its_answer_as_a_response(world: World) -> None:
    psid = world.sim.control.say("How much is it?", as_="alice")["psid"]
    answers = world.answers(psid)
    assert [text_of(a["request"]) for a in answers] == [
        "Our prices start at $19. See the whole range at https://shop.example.com/prices"
    ]
    assert answers[0]["request"]["messaging_type"] == "RESPONSE"


def test_a_ref_link_greets_by_name_and_its_follow_up_goes_as_update(world: World) -> None:
    psid = world.sim.control.referral("spring_sale", as_="bob")["psid"]
    first = world.answers(psid)
    assert text_of(first[0]["request"]) == "Hi Bob! Our spring sale is on: up to 50% off."
    assert [q["title"] for q in first[0]["request"]["message"]["quick_replies"]] == [
        "Show me deals",
        "Not now",
    ]
    world.advance(timedelta(hours=20, minutes=1))
    later = world.answers(psid, count=2)
    assert text_of(later[1]["request"]).startswith("The first spring deals end tonight")
    assert later[1]["request"]["messaging_type"] == "UPDATE" and later[1]["ok"]


def test_get_started_with_a_referral_fires_the_ref_trigger(world: World) -> None:
    psid = world.sim.control.postback(ref="spring_sale", as_="cleo")["psid"]
    assert world.texts(psid)[0] == "Hi Cleo! Our spring sale is on: up to 50% off."


def test_without_a_ref_the_eu_fallback_answers(world: World) -> None:
    psid = world.sim.control.referral(None, as_="dora")["psid"]
    assert world.texts(psid) == ["Welcome! How did you find us?"]


def test_a_comment_gets_one_private_reply_and_the_pages_own_or_old_ones_none(
    world: World,
) -> None:
    control = world.sim.control
    played = control.comment("price please", post_id=SPRING_POST, as_="erin")
    wait_for(lambda: [m for m in control.sent_messages() if m["ok"]], 1, 8.0)
    replies = [m for m in control.sent_messages() if "comment_id" in m["request"]["recipient"]]
    assert [r["request"]["recipient"]["comment_id"] for r in replies] == [played["comment_id"]]
    assert text_of(replies[0]["request"]).startswith("Thanks for asking, Erin!")
    control.comment("price?", post_id=SPRING_POST, from_page=True)
    old = START - timedelta(days=8)
    control.comment("price?", post_id=SPRING_POST, as_="fred", created_time=old.isoformat())
    settle(world)
    replies = [m for m in control.sent_messages() if "comment_id" in m["request"]["recipient"]]
    assert len(replies) == 1
    skipped = [r for r in world.outbox() if r.status == "skipped"]
    assert [r.reason for r in skipped] == ["private_reply_expired"]


def test_statuses_move_to_delivered_then_read(world: World) -> None:
    psid = world.sim.control.say("price", as_="gina")["psid"]
    world.answers(psid)
    wait_for(lambda: [1 for r in world.outbox() if r.status == "sent"], 1, 8.0)  # type: ignore[misc]
    world.sim.control.deliver(psid)
    wait_for(lambda: [1 for r in world.outbox() if r.status == "delivered"], 1, 8.0)  # type: ignore[misc]
    world.sim.control.read(psid)
    rows = wait_for(lambda: [r for r in world.outbox() if r.status == "read"], 1, 8.0)  # type: ignore[misc]
    assert len(rows) == 1 and rows[0].message_id and rows[0].read_at is not None


def test_a_redelivered_message_is_answered_once(world: World) -> None:
    world.sim.control.add_contact("9000000000000001", first_name="Hugo")
    world.sim.control.seen("9000000000000001")
    body = message_body("9000000000000001", "price", "m_redelivered", START)
    assert signed_post(world, body).status_code == 200
    assert signed_post(world, body).json()["new"] == 0
    world.answers("9000000000000001")
    settle(world)
    assert len(world.sim.control.sent_messages("9000000000000001")) == 1


def test_forged_signatures_are_refused_and_garbage_is_a_400(world: World) -> None:
    body = message_body("9000000000000002", "price", "m_forged", START)
    assert signed_post(world, body, secret="not-the-secret").status_code == 403
    unsigned = requests.post(f"{world.url}/webhook", data=body, timeout=10)
    assert unsigned.status_code == 403
    garbage = signed_post(world, b"{not json")
    assert garbage.status_code == 400 and garbage.json()["error"]
    wrong_shape = signed_post(world, b'{"object":"page","entry":"x"}')
    assert wrong_shape.status_code == 400
    settle(world)
    assert world.sim.control.sent_messages("9000000000000002") == []


def test_the_handshake_and_health(world: World) -> None:
    url = f"{world.url}/webhook"
    ok = requests.get(
        url,
        params={"hub.mode": "subscribe", "hub.verify_token": "e2e-verify", "hub.challenge": "42"},
        timeout=10,
    )
    assert ok.status_code == 200 and ok.text == "42"
    wrong = requests.get(
        url,
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42"},
        timeout=10,
    )
    assert wrong.status_code == 403
    health = requests.get(f"{world.url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["database"] is True


def test_talk_to_human_passes_the_thread_to_the_page_inbox_and_automation_waits(
    world: World,
) -> None:
    control = world.sim.control
    psid = control.say("help", as_="ivan")["psid"]
    world.answers(psid)
    control.postback(title="Talk to a person", payload="TALK_TO_HUMAN", as_="ivan")
    handovers = wait_for(control.handovers, 1, 8.0)
    assert [(h["psid"], h["new_owner_app_id"]) for h in handovers] == [(psid, "263902037430900")]
    settle(world)
    before = len(control.sent_messages(psid))
    control.say("price", as_="ivan")
    settle(world)
    assert len(control.sent_messages(psid)) == before  # a human has it now


def test_an_oversized_body_is_refused_before_it_is_read(world: World) -> None:
    huge = b'{"object":"page","entry":[' + b" " * 1_100_000 + b"]}"
    assert signed_post(world, huge).status_code == 413
