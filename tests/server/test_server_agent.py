"""A person answers through the API, and hands the conversation back: the whole service.

Over HTTP against the Graph API simulator, on SQLite and PostgreSQL: a reply
at 23 h goes as RESPONSE, at 25 h as HUMAN_AGENT (with the permission), at 8
days or without the permission it is refused with the reason and nothing
reaches Facebook; reply-mode says the same before anyone types. A person's
reply (through us or in Facebook's Page inbox) pauses automation until a
handback (API, CLI, the thread passed back) or the page's timeout.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from service_world import PAGE, TOKEN, World, running_world

from pageflows.cli import main
from pageflows.clock import SystemClock

PSID = "psid-agent"
FLOW = """\
on keyword "price":
    send "It costs 10 EUR."

on keyword "human":
    send "A person will answer you here."
    handoff "asked for a human"
"""
ANSWER = "It costs 10 EUR."


def sent(world: World) -> list[dict[str, Any]]:
    return [m for m in world.sim.control.sent_messages(PSID) if m.get("ok")]


def start(world: World, **page: Any) -> None:
    world.page = replace(world.page, **page)
    world.start()
    world.sim.control.add_contact(PSID, "Ana", "Lima")
    world.sim.control.say("hello", psid=PSID)
    world.settle()


def ask_price(world: World) -> bool:
    """The contact asks; True when automation answered (the simulator got the answer)."""
    before = world.texts(PSID).count(ANSWER)
    world.sim.control.say("price", psid=PSID)
    world.settle()
    return world.texts(PSID).count(ANSWER) > before


@pytest.mark.parametrize(
    ("age", "human_agent", "mode", "reason"),
    [
        (timedelta(hours=23), True, "RESPONSE", None),
        (timedelta(hours=25), True, "HUMAN_AGENT", None),
        (timedelta(days=8), True, None, "outside_window"),
        (timedelta(hours=25), False, None, "human_agent_permission_missing"),
        (timedelta(hours=23), False, "RESPONSE", None),
    ],
    ids=["23h", "25h", "8d", "25h-no-permission", "23h-no-permission"],
)
def test_a_persons_reply_goes_as_the_window_allows_or_is_refused_with_the_reason(
    database_url: str,
    tmp_path: Path,
    age: timedelta,
    human_agent: bool,
    mode: str | None,
    reason: str | None,
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world, human_agent=human_agent)
        world.advance(age, step=timedelta(hours=6))
        before = len(sent(world))

        readable = world.api("GET", f"/contacts/{PSID}/reply-mode")
        assert readable.status_code == 200
        shown = readable.json()
        assert shown["mode"] == mode and shown["allowed"] is (mode is not None)
        assert shown["window"]["last_contact_message_at"].startswith("2026-11-24T09:00")
        assert shown["automation"]["state"] == "running"

        answer = world.api(
            "POST", f"/contacts/{PSID}/messages", {"text": "Sorry for the wait!", "author": "Ana"}
        )
        world.settle()
        if reason is not None:
            assert answer.status_code == 422
            body = answer.json()
            assert body["reason"] == reason == shown["reason"]
            assert body["detail"] == shown["detail"]
            assert body["window"] == shown["window"]
            assert len(sent(world)) == before  # nothing reached Facebook
            return
        assert answer.status_code == 202
        body = answer.json()
        assert body["mode"] == mode and body["status"] == "queued"
        assert body["because"].startswith(
            f"{mode}: a person's reply {age.days * 24 + age.seconds // 3600} h"
        )
        (reached,) = sent(world)[before:]
        request = reached["request"]
        assert request["message"] == {"text": "Sorry for the wait!"}
        if mode == "HUMAN_AGENT":
            assert (request["messaging_type"], request["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
        else:
            assert request["messaging_type"] == "RESPONSE" and "tag" not in request
        (row,) = [r for r in world.outbox() if r.id == body["id"]]
        assert (row.status, row.source, row.author) == ("sent", "agent", "Ana")
        assert row.rationale == body["because"]
        # Statuses come as for any message: delivered, read.
        world.sim.control.deliver(PSID)
        world.settle()
        (row,) = [r for r in world.outbox() if r.id == body["id"]]
        assert row.status == "delivered"


def test_a_persons_reply_through_the_api_pauses_automation_until_the_handback(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world, human_agent=True)
        assert ask_price(world)
        answer = world.api(
            "POST",
            f"/contacts/{PSID}/messages",
            {
                "text": "Which size?",
                "quick_replies": [{"title": "S", "payload": "S"}, {"title": "M", "payload": "M"}],
            },
        )
        assert answer.status_code == 202
        assert answer.json()["automation"]["state"] == "paused"
        world.settle()
        assert not ask_price(world)  # a person has the conversation
        mode = world.api("GET", f"/contacts/{PSID}/reply-mode").json()
        assert mode["automation"]["state"] == "paused"
        handed = world.api("POST", f"/contacts/{PSID}/handback")
        assert handed.status_code == 200 and handed.json()["was"] == "paused"
        # The reply went through pageflows: the thread never left us, nothing to take.
        assert handed.json()["took_thread"] is False
        assert handed.json()["detail"] == "automation resumes"
        world.settle()
        assert ask_price(world)
        assert world.sim.control.handovers() == []
        assert "take_thread" not in {row.kind for row in world.outbox()}
        again = world.api("POST", f"/contacts/{PSID}/handback").json()
        assert again["took_thread"] is False  # nothing left to hand back


def test_an_echo_from_the_page_inbox_pauses_automation_and_a_handback_resumes_it(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        assert ask_price(world)
        played = world.sim.control.inbox_reply("Hi, this is Marie from support.", psid=PSID)
        world.settle()
        (kept,) = [r for r in world.outbox() if r.source == "page_inbox"]
        assert (kept.status, kept.message_id, kept.preview) == (
            "sent",
            played["mid"],
            "Hi, this is Marie from support.",
        )
        assert not ask_price(world)
        handed = world.api("POST", f"/contacts/{PSID}/handback")
        assert handed.json()["was"] == "paused" and handed.json()["took_thread"] is True
        world.settle()
        # The Page inbox took the thread when Marie answered: we take it back, then answer.
        assert [h["action"] for h in world.sim.control.handovers()] == ["inbox_reply", "take"]
        assert ask_price(world)


def test_echoes_of_our_own_sends_pause_nothing(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        assert ask_price(world)
        ours = world.post(
            {
                "object": "page",
                "entry": [
                    {
                        "id": PAGE,
                        "time": 1795510800000,
                        "messaging": [
                            {
                                "sender": {"id": PAGE},
                                "recipient": {"id": PSID},
                                "timestamp": 1795510800000,
                                "message": {
                                    "mid": "m_ours",
                                    "is_echo": True,
                                    "app_id": 987654321098765,
                                    "text": ANSWER,
                                },
                            }
                        ],
                    }
                ],
            }
        )
        assert ours == 200
        world.settle()
        assert ask_price(world)
        assert not [r for r in world.outbox() if r.source == "page_inbox"]


def test_the_cli_hands_the_conversation_back(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        world.sim.control.inbox_reply("Marie here.", psid=PSID)
        world.settle()
        assert not ask_price(world)
        env = {
            "PAGEFLOWS_DATABASE_URL": database_url,
            "PAGEFLOWS_PAGE_ID": PAGE,
            "PAGEFLOWS_PAGE_TOKEN": TOKEN,
        }
        config = str(tmp_path / "none.toml")
        result = CliRunner().invoke(main, ["contact", "resume", PSID, "--config", config], env=env)
        assert result.exit_code == 0, result.output
        # "was paused" or "was running": the CLI reads the wall clock, the world a fake one.
        assert f"{PSID}: automation resumes" in result.output
        world.settle()
        assert ask_price(world)
        unknown = CliRunner().invoke(
            main, ["contact", "resume", "nobody", "--config", config], env=env
        )
        assert unknown.exit_code == 1 and "no contact nobody" in unknown.output


def test_the_pause_ends_by_itself_after_handback_after(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world, handback_after=timedelta(hours=2))
        world.sim.control.inbox_reply("Marie here.", psid=PSID)
        world.settle()
        world.advance(timedelta(hours=1, minutes=59), step=timedelta(minutes=30))
        assert not ask_price(world)
        world.advance(timedelta(minutes=2), step=timedelta(minutes=1))
        assert ask_price(world)
        assert [h["action"] for h in world.sim.control.handovers()] == ["inbox_reply", "take"]


def test_a_flow_handoff_then_the_thread_passed_back_resumes_automation(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        world.sim.control.say("human", psid=PSID)
        world.settle()
        (handoff,) = world.sim.control.handovers()
        assert (handoff["action"], handoff["new_owner_app_id"]) == ("pass", "263902037430900")
        assert not ask_price(world)
        mode = world.api("GET", f"/contacts/{PSID}/reply-mode").json()
        assert mode["automation"]["state"] == "handed_off"
        world.sim.control.set_thread_owner(PSID, "987654321098765", notify=True)
        world.settle()
        assert ask_price(world)


def test_an_operator_answering_a_handed_off_thread_takes_it_first(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        world.sim.control.say("human", psid=PSID)
        world.settle()
        answer = world.api("POST", f"/contacts/{PSID}/messages", {"text": "Marie here."})
        assert answer.status_code == 202 and answer.json()["took_thread"] is True
        world.settle()
        assert world.texts(PSID)[-1] == "Marie here."
        assert [h["action"] for h in world.sim.control.handovers()] == ["pass", "take"]


def test_a_page_set_human_agent_without_facebooks_permission_fails_only_that_reply(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world, human_agent=True)
        world.sim.control.configure_page(human_agent=False)  # App Review not passed after all
        world.advance(timedelta(hours=25), step=timedelta(hours=5))
        answer = world.api("POST", f"/contacts/{PSID}/messages", {"text": "Sorry for the wait!"})
        assert answer.status_code == 202
        world.settle()
        (row,) = [r for r in world.outbox() if r.id == answer.json()["id"]]
        assert (row.status, row.reason, row.error_code) == ("failed", "human_agent_refused", 10)
        assert "human_agent = false" in (row.detail or "")
        assert world.health()["paused_pages"] == []  # the page keeps sending
        world.api("POST", f"/contacts/{PSID}/handback")
        world.settle()
        assert ask_price(world)


def test_the_cli_replies_as_the_api_does(database_url: str, tmp_path: Path) -> None:
    """`pageflows reply` reads the wall clock: the world's clock is set near it."""
    wall = SystemClock().now().replace(microsecond=0)
    with running_world(database_url, tmp_path, FLOW) as world:
        world.clock.set(wall - timedelta(hours=25))
        world.sim.control.set_clock(world.clock.now())
        world.start()
        world.sim.control.add_contact("psid-late")
        world.sim.control.say("hello", psid="psid-late")
        world.settle()
        world.clock.set(wall - timedelta(hours=1))
        world.sim.control.set_clock(world.clock.now())
        world.sim.control.add_contact(PSID)
        world.sim.control.say("hello", psid=PSID)
        world.settle()
        env = {
            "PAGEFLOWS_DATABASE_URL": database_url,
            "PAGEFLOWS_PAGE_ID": PAGE,
            "PAGEFLOWS_PAGE_TOKEN": TOKEN,
        }
        config = ["--config", str(tmp_path / "none.toml")]
        runner = CliRunner()
        done = runner.invoke(
            main, ["reply", PSID, "It left this morning.", "--author", "Marie", *config], env=env
        )
        assert done.exit_code == 0, done.output
        assert "queued as RESPONSE" in done.output
        assert "why: RESPONSE: a person's reply 6" in done.output  # 60 or 61 min
        assert "inside the 24 h window" in done.output
        assert "automation waits for this contact until" in done.output
        world.settle()
        assert world.texts(PSID)[-1] == "It left this morning."
        refused = runner.invoke(main, ["reply", "psid-late", "Sorry!", *config], env=env)
        assert refused.exit_code == 1
        assert "refused (human_agent_permission_missing)" in refused.output
        assert world.texts("psid-late") == []
