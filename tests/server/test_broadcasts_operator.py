"""Broadcasts an operator runs through /api: the preview's counts are what `send` did
(the outbox), what Facebook (the simulator) received, and what the report shows;
`retry` decides the failed ones again; a run is enumerated a batch at a time and
resumes after a crash without writing anyone twice.

On SQLite and PostgreSQL, the service on real sockets against the simulator,
on a fake clock (the pacing test runs on the real one).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from service_world import PAGE, World, running_world
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pageflows.cli import main
from pageflows.service import broadcasts
from pageflows.service.config import PageConfig
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import BroadcastRun, Contact, FollowUp, OutboxMessage

FLOW = """
on keyword "hi" exact:
    send "hello"

on optin "deals":
    send "thanks"

broadcast news to everyone at "2026-12-24 09:00" in "UTC":
    send "news for you"

broadcast deals to subscribers of "deals" at "2026-11-26 22:00" in "UTC":
    send "deal of the day"
"""
OLD = ["100000000000001", "100000000000002"]
NEW = ["100000000000011", "100000000000012", "100000000000013"]


def say_hi(world: World, psids: list[str]) -> None:
    for psid in psids:
        world.sim.control.say("hi", psid=psid)
    world.settle()


def jump(world: World, delta: timedelta) -> None:
    """Time passes at once (no step per second): nothing is due in between here."""
    world.clock.set(world.clock.now() + delta)
    world.sim.control.set_clock(world.clock.now())
    world.settle()


def received(world: World, text: str) -> tuple[Counter[str], Counter[str]]:
    """Per contact: the Send API calls Facebook took, and the ones it refused."""
    ok: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for m in world.sim.control.sent_messages():
        if m["request"].get("message", {}).get("text") == text:
            (ok if m["ok"] else refused)[m["recipient_id"]] += 1
    return ok, refused


def broadcast_rows(world: World, name: str) -> list[OutboxMessage]:
    return [row for row in world.outbox() if row.broadcast == name]


def ok_json(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_preview_equals_send_equals_simulator_equals_report_and_retry(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        say_hi(world, OLD)
        jump(world, timedelta(days=3))  # OLD's windows closed
        say_hi(world, NEW)

        preview = ok_json(world.api("GET", "/broadcasts/news/preview"))
        assert preview["contacts"] == 5
        assert {k: v["count"] for k, v in preview["send"]["by_mode"].items()} == {"UPDATE": 3}
        skipped = preview["skipped"]["by_reason"]
        assert {k: v["count"] for k, v in skipped.items()} == {"outside_window": 2}
        assert sorted(s["psid"] for s in skipped["outside_window"]["samples"]) == OLD
        assert "closed" in skipped["outside_window"]["detail"]
        assert preview["not_in_audience"]["count"] == 0

        world.sim.control.fail_next(1, code=551, status=400)  # one contact unavailable
        sent = ok_json(world.api("POST", "/broadcasts/news/send"), 202)
        assert sent["run"]["requested"] == "operator"
        world.settle()

        rows = broadcast_rows(world, "news")
        assert Counter(r.messaging_type for r in rows if r.status != "skipped") == {"UPDATE": 3}
        assert Counter(r.reason for r in rows if r.status == "skipped") == {"outside_window": 2}
        ok, refused = received(world, "news for you")
        assert sum(ok.values()) + sum(refused.values()) == 3
        assert sum(refused.values()) == 1 and set(ok) | set(refused) == set(NEW)
        assert set(ok).isdisjoint(OLD)

        report = ok_json(world.api("GET", "/broadcasts/news/report"))
        assert report["run"]["status"] == "done"
        assert report["contacts"] == report["decided"] == 5
        assert report["pending"] == 0
        assert report["by_mode"] == {"UPDATE": 3}
        assert (report["sent"], report["failed"]["count"]) == (2, 1)
        assert [(e["code"], e["count"]) for e in report["failed"]["by_error"]] == [(551, 1)]
        assert report["skipped"] == {"count": 2, "by_reason": {"outside_window": 2}}

        again = world.api("POST", "/broadcasts/news/send")
        assert again.status_code == 409
        assert "already ran" in again.json()["error"]
        assert again.json()["report"] == "/api/broadcasts/news/report"

        retried = ok_json(world.api("POST", "/broadcasts/news/retry"), 202)
        assert retried["retrying"] == 1
        world.settle()
        ok, _ = received(world, "news for you")
        assert ok == dict.fromkeys(NEW, 1)  # the failed one got it once, the others not again
        report = ok_json(world.api("GET", "/broadcasts/news/report"))
        assert (report["sent"], report["failed"]["count"], report["retried"]) == (3, 0, 1)
        assert report["run"]["status"] == "done"

        jump(world, datetime(2026, 12, 24, 9, 1, tzinfo=UTC) - world.clock.now())
        assert received(world, "news for you")[0] == dict.fromkeys(NEW, 1)  # not again


def test_the_schedule_sends_what_the_preview_said_tokens_and_audience(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        world.page = PageConfig(id=PAGE, token=world.token, name="Shop", region="EU")
        world.start()
        subscriber_old, subscriber_new, stranger = OLD[0], NEW[0], NEW[1]
        world.sim.control.optin("deals", psid=subscriber_old, via="link")  # an m.me/rn link
        world.settle()
        jump(world, timedelta(days=2, hours=12))
        world.sim.control.optin("deals", psid=subscriber_new, via="link")
        say_hi(world, [subscriber_new, stranger])
        listed = ok_json(world.api("GET", "/broadcasts"))["broadcasts"]
        assert {b["name"]: b["run"] for b in listed} == {"deals": None, "news": None}

        preview = ok_json(world.api("GET", "/broadcasts/deals/preview"))
        modes = {k: v["count"] for k, v in preview["send"]["by_mode"].items()}
        assert modes == {"UPDATE": 1, "notification token deals": 1}
        assert preview["not_in_audience"]["count"] == 1
        assert preview["not_in_audience"]["samples"][0]["psid"] == stranger

        jump(world, timedelta(hours=1))  # 2026-11-26 22:00: the schedule starts it
        ok, refused = received(world, "deal of the day")
        assert ok == {subscriber_old: 1, subscriber_new: 1} and not refused
        report = ok_json(world.api("GET", "/broadcasts/deals/report"))
        assert report["run"]["requested"] == "schedule"
        assert report["by_mode"] == modes
        assert report["sent"] == 2 and report["no_message"] == 1
        assert report["decided"] == preview["contacts"] == 3


def test_unknown_broadcast_and_retry_while_not_done_are_refused(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        for method, path in [
            ("GET", "/broadcasts/nope/preview"),
            ("POST", "/broadcasts/nope/send"),
            ("GET", "/broadcasts/nope/report"),
            ("POST", "/broadcasts/nope/retry"),
        ]:
            answer = world.api(method, path)
            assert answer.status_code == 404, (path, answer.text)
            assert answer.json()["known"] == ["deals", "news"]
        never = world.api("POST", "/broadcasts/news/retry")
        assert never.status_code == 409 and "has not run" in never.json()["error"]
        unknown_page = world.api("GET", "/broadcasts?page=999")
        assert unknown_page.status_code == 404 and unknown_page.json()["pages"] == [PAGE]


def test_enumeration_resumes_after_a_crash_and_writes_nobody_twice(database_url: str) -> None:
    """A run interrupted after two committed batches (its cursor stored with them) goes on
    from the cursor; a batch written again (a crash after the insert, before the cursor)
    adds nobody twice."""
    engine = make_engine(database_url)
    upgrade(engine)
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    psids = [f"2000000000{n:05d}" for n in range(23)]
    with Session(engine) as session, session.begin():
        for psid in psids:
            session.add(Contact(page_id=PAGE, psid=psid, state={"id": psid}, updated_at=now))
        assert broadcasts.claim(session, PAGE, "news", now, "operator", broadcasts.ENUMERATING)
    # The crash: two batches of 5 committed, then a third inserted whose cursor never moved.
    assert broadcasts.enumerate_run(engine, PAGE, "news", now, batch=5) == 23  # baseline
    with Session(engine) as session, session.begin():
        run = session.get(BroadcastRun, (PAGE, "news"))
        assert run is not None
        assert (run.status, run.contacts, run.after_psid) == ("running", 23, psids[-1])
        run.status, run.after_psid, run.contacts = broadcasts.ENUMERATING, psids[9], 10
    written = broadcasts.enumerate_runs(engine, PAGE, now, batch=5)
    with Session(engine) as session:
        keys = session.scalars(select(FollowUp.key)).all()
        run = session.get(BroadcastRun, (PAGE, "news"))
        assert run is not None
        assert run.status == "running" and run.contacts == 23 and written == 13
        assert Counter(k.rsplit(":", 1)[1] for k in keys) == dict.fromkeys(psids, 1)
        assert session.scalar(select(func.count()).select_from(FollowUp)) == 23
    engine.dispose()


def run_cli(world: World, *args: str) -> Result:
    """`pageflows broadcast ...` as an operator types it, on the world's database and clock."""
    config = world.flows.parent / "pageflows.toml"
    config.write_text(
        f'database_url = "{world.database_url}"\napp_secret = "s"\nverify_token = "v"\n'
        f'[[pages]]\nid = "{PAGE}"\ntoken = "t"\n',
        "utf-8",
    )
    return CliRunner().invoke(main, ["broadcast", *args, "--config", str(config)], obj=world.clock)


def test_the_cli_previews_sends_reports_and_refuses_in_one_line(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("PAGEFLOWS_") and not name.startswith("PAGEFLOWS_TEST_"):
            monkeypatch.delenv(name)
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        say_hi(world, OLD)
        jump(world, timedelta(days=3))
        say_hi(world, NEW)
        flows = str(world.flows)

        shown = run_cli(world, "preview", "news", flows)
        assert shown.exit_code == 0, shown.output
        assert "if sent now: 5 contact(s)" in shown.output
        assert "would get it: 3" in shown.output and "UPDATE: 3" in shown.output
        assert "outside_window: 2" in shown.output

        sent = run_cli(world, "send", "news", flows)
        assert sent.exit_code == 0, sent.output
        assert "news: 5 contact(s) to decide for" in sent.output
        assert "no worker is alive" in sent.output  # the test steps the worker itself
        world.settle()

        report = run_cli(world, "report", "news")
        assert report.exit_code == 0, report.output
        assert "done (operator" in report.output
        assert "sent 3" in report.output and "outside_window: 2" in report.output
        as_json = json.loads(run_cli(world, "report", "news", "--json").output)
        assert as_json["sent"] == 3 and as_json["by_mode"] == {"UPDATE": 3}

        listed = run_cli(world, "list", flows)
        assert "news  [main]  to everyone  at 2026-12-24 09:00 UTC" in listed.output
        assert "deals  [main]  to subscribers 'deals'" in listed.output
        assert "done (schedule, started 2026-11-27 09:00 UTC, 2 contact(s))" in listed.output

        again = run_cli(world, "send", "news", flows)
        assert again.exit_code == 1
        assert "already ran" in again.output and "pageflows broadcast report news" in again.output
        unknown = run_cli(world, "preview", "nope", flows)
        assert unknown.exit_code == 1
        assert unknown.output.strip() == (
            "Error: no broadcast named 'nope' in the flows (known: deals, news)"
        )
        assert "Traceback" not in unknown.output


LATE_FLOW = """
on keyword "hi" exact:
    send "hello"

broadcast old to everyone at "2026-11-20 09:00" in "UTC":
    send "old news"
"""


def test_a_broadcast_the_schedule_found_too_late_is_not_sent_until_a_person_sends_it(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, LATE_FLOW) as world:
        world.start()
        say_hi(world, NEW)
        jump(world, timedelta(seconds=1))
        (listed,) = ok_json(world.api("GET", "/broadcasts"))["broadcasts"]
        assert listed["run"]["status"] == "too_late" and listed["run"]["requested"] == "schedule"
        assert received(world, "old news") == (Counter(), Counter())

        sent = ok_json(world.api("POST", "/broadcasts/old/send"), 202)
        assert sent["run"]["requested"] == "operator"
        world.settle()
        ok, _ = received(world, "old news")
        assert ok == dict.fromkeys(NEW, 1)
        report = ok_json(world.api("GET", "/broadcasts/old/report"))
        assert report["run"]["status"] == "done" and report["sent"] == 3
