"""Contacts and conversations through the real path, on SQLite and PostgreSQL.

Signed webhooks in, the worker decides, the simulator answers (one send fails
with Facebook's code, one follow-up is skipped by the policy), a person types
in Facebook's Page inbox; then the API and the CLI show what an operator would
read: each message with its status and why it was allowed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from service_world import PAGE, START, World, running_world

from pageflows.cli import main
from pageflows.engine.inbound import PAGE_INBOX_APP_ID
from pageflows.engine.inbound_messaging import to_ms

PSID = "5550001112223334"
FLOW = """\
on keyword "hi":
    send "Hello!"
    after 25h:
        send "Still there?"

on keyword "order":
    send "Your order is on its way"
"""


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        world.sim.control.add_contact(PSID, first_name="Ana", last_name="Lima")
        world.sim.control.say("hi", psid=PSID)
        world.settle()
        world.sim.control.deliver(PSID)
        world.sim.control.read(PSID)
        world.settle()
        world.advance(timedelta(minutes=5), step=timedelta(minutes=5))
        # Facebook refuses the next send: the person cannot be reached.
        world.sim.control.fail_next(1, code=551, status=400, subcode=1545041)
        world.sim.control.say("order", psid=PSID)
        world.settle()
        world.advance(timedelta(minutes=5), step=timedelta(minutes=5))
        page_inbox_echo(world, "A person here: it ships Monday")
        world.settle()
        # The follow-up falls due after the 24 h window: skipped, with the policy's reason.
        world.advance(timedelta(hours=25, minutes=1), step=timedelta(hours=1))
        yield world


def page_inbox_echo(world: World, text: str) -> None:
    """What Facebook sends when a person types in the Page inbox (its app id)."""
    at = to_ms(world.clock.now())
    world.post(
        {
            "object": "page",
            "entry": [{"id": PAGE, "time": at, "messaging": [{
                "sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": at,
                "message": {"is_echo": True, "app_id": int(PAGE_INBOX_APP_ID),
                            "mid": "m_page_inbox_1", "text": text},
            }]}],
        }
    )  # fmt: skip


def test_the_conversation_shows_each_message_its_status_and_why(world: World) -> None:
    answer = world.api("GET", f"/contacts/{PSID}/conversation")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    lines = [(i["direction"], i["text"], i.get("status")) for i in body["items"]]
    assert lines == [
        ("in", "hi", None),
        ("out", "Hello!", "read"),
        ("in", "order", None),
        ("out", "Your order is on its way", "failed"),
        ("out", "A person here: it ships Monday", "sent"),
        # The person's pause ran out: the Page inbox took the thread, so it is taken back.
        (
            "out",
            "(the thread was taken back from the Page inbox: a person's pause ended at"
            " 2026-11-24 21:10 UTC; automation resumes)",
            "sent",
        ),
        ("out", "Still there?", "skipped"),
    ]
    hello, failed, person, skipped = (body["items"][n] for n in (1, 3, 4, 6))
    assert hello["rationale"].startswith("RESPONSE: ")
    assert "24 h window" in hello["rationale"]
    assert hello["messaging_type"] == "RESPONSE" and hello["source"] == "flow"
    assert hello["sent_at"] and hello["delivered_at"] and hello["read_at"]
    assert failed["failed"]["error_code"] == 551
    assert failed["failed"]["error_subcode"] == 1545041
    assert failed["failed"]["error_message"]
    assert person["source"] == "page_inbox"
    assert skipped["skipped"]["reason"] == "outside_window"
    assert "closed" in skipped["skipped"]["detail"]
    assert body["next"] is None
    # The contact as the list shows it: 25 h after its last message, a person may still answer.
    assert body["contact"]["window"]["state"] == "human_agent"
    assert body["contact"]["name"] == "Ana Lima"


def test_a_conversation_paged_backwards_is_the_whole_conversation(world: World) -> None:
    whole = world.api("GET", f"/contacts/{PSID}/conversation").json()["items"]
    pages: list[list[dict[str, Any]]] = []
    before = ""
    while True:
        answer = world.api("GET", f"/contacts/{PSID}/conversation?limit=2&before={before}")
        body = answer.json()
        pages.append(body["items"])
        if body["next"] is None:
            break
        before = body["next"]
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert [i for page in reversed(pages) for i in page] == whole


def test_the_contact_list_and_one_contact(world: World) -> None:
    body = world.api("GET", "/contacts").json()
    (ana,) = body["contacts"]
    assert ana["psid"] == PSID and ana["page"] == PAGE and ana["name"] == "Ana Lima"
    assert ana["last_message"] == "order"
    assert ana["last_message_at"].startswith(str((START + timedelta(minutes=5)).date()))
    assert ana["window"]["state"] == "human_agent" and ana["window"]["open_until"] is None
    assert body["next"] is None
    assert world.api("GET", "/contacts?q=ana").json()["contacts"][0]["psid"] == PSID
    assert world.api("GET", "/contacts?window=open").json()["contacts"] == []
    assert world.api("GET", "/contacts?q=lim&window=human_agent").json()["contacts"]
    one = world.api("GET", f"/contacts/{PSID}").json()
    assert one["psid"] == PSID and one["message_count"] >= 2


def test_unknown_page_contact_and_bad_parameters_are_clear_4xx(world: World) -> None:
    answer = world.api("GET", "/contacts?page=999")
    assert answer.status_code == 404 and answer.json()["pages"] == [PAGE]
    assert world.api("GET", "/contacts/nobody").status_code == 404
    answer = world.api("GET", "/contacts/nobody/conversation")
    assert answer.status_code == 404 and "nobody" in answer.json()["error"]
    for query, words in (
        ("limit=0", "1 to 200"),
        ("limit=many", "whole number"),
        ("window=later", "open, human_agent, closed"),
        ("after=garbage", "cursor"),
        ("field=city", "name=value"),
    ):
        answer = world.api("GET", f"/contacts?{query}")
        assert answer.status_code == 400, query
        assert words in answer.json()["error"], (query, answer.json())
    answer = world.api("GET", f"/contacts/{PSID}/conversation?before=xyz")
    assert answer.status_code == 400 and "cursor" in answer.json()["error"]


def cli(world: World, tmp_path: Path, *args: str) -> Any:
    config = tmp_path / "operator.toml"
    config.write_text(
        f'database_url = "{world.database_url}"\n[[pages]]\nid = "{PAGE}"\ntoken = "t"\n', "utf-8"
    )
    result = CliRunner().invoke(main, [*args, "--config", str(config)])
    return result


def test_the_cli_lists_contacts_and_prints_the_transcript(world: World, tmp_path: Path) -> None:
    listed = cli(world, tmp_path, "contacts")
    assert listed.exit_code == 0, listed.output
    assert "Ana Lima" in listed.output and PSID in listed.output and "order" in listed.output
    assert "human agent until" in listed.output
    as_json = json.loads(cli(world, tmp_path, "contacts", "--json", "--tag", "none").output)
    assert as_json["contacts"] == []
    shown = cli(world, tmp_path, "conversation", PSID)
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert "> hi" in out and "< Hello!  [read, RESPONSE]" in out
    assert "why: RESPONSE: " in out
    assert "Facebook said (551/1545041)" in out
    assert "< A person here: it ships Monday  [sent, from the Page inbox]" in out
    assert "skipped: outside_window: " in out
    as_json = json.loads(cli(world, tmp_path, "conversation", PSID, "--json").output)
    assert [i["status"] for i in as_json["items"] if i["direction"] == "out"] == [
        "read", "failed", "sent", "sent", "skipped",  # the 2nd "sent": the thread taken back
    ]  # fmt: skip
    other_page = cli(world, tmp_path, "contacts", "--page", "999")
    assert other_page.exit_code == 1 and f"configured: {PAGE}" in other_page.output
    missing = cli(world, tmp_path, "conversation", "nobody")
    assert missing.exit_code == 1 and "no contact nobody" in missing.output
    bad = cli(world, tmp_path, "contacts", "--after", "garbage")
    assert bad.exit_code == 2 and "cursor" in bad.output and "Traceback" not in bad.output


def test_the_cli_walks_pages_with_the_next_command_it_prints(world: World, tmp_path: Path) -> None:
    for n in range(3):
        world.sim.control.add_contact(f"700{n}", first_name=f"Zoe{n}", last_name="Ng")
        world.sim.control.say("hi", psid=f"700{n}")
        world.settle()
        world.advance(timedelta(seconds=5))
    seen: list[str] = []
    args = ["contacts", "--limit", "2"]
    for _ in range(5):
        result = cli(world, tmp_path, *args)
        assert result.exit_code == 0, result.output
        seen += [line.split()[2] for line in result.output.splitlines()[1:]
                 if not line.startswith("next page:")]  # fmt: skip
        nexts = [ln for ln in result.output.splitlines() if ln.startswith("next page: ")]
        if not nexts:
            break
        args = nexts[0].removeprefix("next page: pageflows ").split()
    assert seen == ["7002", "7001", "7000", PSID]


def test_standby_messages_and_referrals_show_as_the_contact_s(world: World, tmp_path: Path) -> None:
    """While the Page inbox owns the thread, the contact's messages arrive as standby."""
    at = to_ms(world.clock.now())
    item = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": at}
    world.post(
        {"object": "page", "entry": [{"id": PAGE, "time": at, "standby": [
            {**item, "message": {"mid": "m_standby_1", "text": "anyone there?"}}]}]}
    )  # fmt: skip
    world.post(
        {"object": "page", "entry": [{"id": PAGE, "time": at + 1, "messaging": [
            {**item, "timestamp": at + 1,
             "referral": {"ref": "summer", "source": "SHORTLINK", "type": "OPEN_THREAD"}}]}]}
    )  # fmt: skip
    world.settle()
    items = world.api("GET", f"/contacts/{PSID}/conversation").json()["items"]
    standby, referral = items[-2:]
    assert (standby["kind"], standby["text"], standby["standby"]) == (
        "message", "anyone there?", True,
    )  # fmt: skip
    assert referral["referral"] == {"ref": "summer", "source": "SHORTLINK"}
    shown = cli(world, tmp_path, "conversation", PSID).output
    assert "> anyone there? (while the Page inbox had the thread)" in shown
    assert "> came by ref summer from SHORTLINK" in shown
