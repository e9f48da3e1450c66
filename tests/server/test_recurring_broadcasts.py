"""A recurring broadcast (issue 12) in the running service: each occurrence is its own
run, sent once per contact whatever the number of worker passes, processes and
restarts; one found more than LATE_OCCURRENCE late is recorded too_late and not sent,
as is each one missed while nothing ran. On SQLite and PostgreSQL, on a fake clock,
against the simulator over HTTP.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from service_world import PAGE, World, running_world
from sqlalchemy import select
from sqlalchemy.orm import Session

from pageflows.cli import main
from pageflows.service import broadcasts
from pageflows.service.storage.models import BroadcastRun

FLOW = """
on keyword "hi" exact:
    send "hello"

broadcast weekly_menu to everyone every friday at "09:00" in "Europe/Paris":
    send "This week's menu: https://bistro.example.com/menu"
"""
MENU = "This week's menu: https://bistro.example.com/menu"
PSIDS = ["100000000000001", "100000000000002"]


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def jump_to(world: World, when: datetime) -> None:
    world.clock.set(when)
    world.sim.control.set_clock(when)
    world.settle()


def say_hi(world: World) -> None:
    for psid in PSIDS:
        world.sim.control.say("hi", psid=psid)
    world.settle()


def menus(world: World) -> Counter[str]:
    return Counter(
        m["recipient_id"]
        for m in world.sim.control.sent_messages()
        if m["ok"] and m["request"].get("message", {}).get("text") == MENU
    )


def runs(world: World) -> dict[str, str]:
    assert world.service is not None
    with Session(world.service.engine) as session:
        return {r.name: r.status for r in session.scalars(select(BroadcastRun))}


def run_cli(world: World, *args: str) -> Result:
    """`pageflows broadcast ...` as an operator types it, on the world's database and clock."""
    config = world.flows.parent / "pageflows.toml"
    config.write_text(
        f'database_url = "{world.database_url}"\napp_secret = "s"\nverify_token = "v"\n'
        f'[[pages]]\nid = "{PAGE}"\ntoken = "t"\n',
        "utf-8",
    )
    return CliRunner().invoke(main, ["broadcast", *args, "--config", str(config)], obj=world.clock)


def ok_json(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_every_friday_once_per_occurrence_over_two_weeks(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()  # Tuesday 2026-11-24 09:00 UTC
        listed = ok_json(world.api("GET", "/broadcasts"))["broadcasts"]
        assert [(b["name"], b["next"], b["run"]) for b in listed] == [
            ("weekly_menu", "2026-11-27T08:00:00+00:00", None)  # 09:00 in Paris (CET)
        ]
        jump_to(world, at(2026, 11, 26, 12))  # Thursday: they write, the window opens
        say_hi(world)
        jump_to(world, at(2026, 11, 27, 7, 59))
        assert menus(world) == {}  # not before its time
        jump_to(world, at(2026, 11, 27, 8, 0, 30))
        assert menus(world) == dict.fromkeys(PSIDS, 1)
        # More passes, a restart, and a second claim at the same time: not again.
        world.stop()
        world.start()  # a new process on the same database
        world.settle()
        assert world.service is not None
        engine = world.service.engine
        _, cast = world.service.worker.pages[world.page.id].program.broadcasts["weekly_menu"]
        assert broadcasts.start_occurrences(engine, world.page.id, cast, world.clock.now()) == 0
        jump_to(world, at(2026, 11, 27, 12))
        assert menus(world) == dict.fromkeys(PSIDS, 1)

        jump_to(world, at(2026, 12, 3, 18))  # the next Thursday
        say_hi(world)
        jump_to(world, at(2026, 12, 4, 8, 0, 30))
        assert menus(world) == dict.fromkeys(PSIDS, 2)
        assert runs(world) == {
            "weekly_menu@2026-11-27T08:00Z": "done",
            "weekly_menu@2026-12-04T08:00Z": "done",
        }
        report = ok_json(world.api("GET", "/broadcasts/weekly_menu/report"))
        assert report["broadcast"] == "weekly_menu@2026-12-04T08:00Z"
        assert report["sent"] == 2 and report["contacts"] == 2
        first = ok_json(world.api("GET", "/broadcasts/weekly_menu@2026-11-27T08:00Z/report"))
        assert first["sent"] == 2

        (listed,) = ok_json(world.api("GET", "/broadcasts"))["broadcasts"]
        assert listed["next"] == "2026-12-11T08:00:00+00:00"
        assert listed["run_name"] == "weekly_menu@2026-12-04T08:00Z"
        assert listed["when"] == (
            "every friday at 09:00 Europe/Paris (next 2026-12-11 09:00 Europe/Paris)"
        )
        shown = run_cli(world, "list", str(world.flows)).output
        assert shown.splitlines() == [
            "weekly_menu  [main]  to everyone  every friday at 09:00 Europe/Paris"
            " (next 2026-12-11 09:00 Europe/Paris)",
            "    latest run weekly_menu@2026-12-04T08:00Z: done (schedule,"
            " started 2026-12-04 08:00 UTC, 2 contact(s))",
        ]
        report = run_cli(world, "report", "weekly_menu")
        assert report.exit_code == 0, report.output
        assert "weekly_menu@2026-12-04T08:00Z" in report.output


def test_occurrences_missed_while_down_are_recorded_not_sent(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        jump_to(world, at(2026, 11, 26, 12))
        say_hi(world)
        jump_to(world, at(2026, 11, 27, 8, 1))
        assert menus(world) == dict.fromkeys(PSIDS, 1)
        world.stop()
        # Down from Friday 27 to Friday 11 at 16:00: the 4th is missed, the 11th is 8 h late.
        world.clock.set(at(2026, 12, 10, 20))
        world.sim.control.set_clock(world.clock.now())
        world.start()
        say_hi(world)  # in the window, but the occurrence is too late anyway
        jump_to(world, at(2026, 12, 11, 16))
        assert menus(world) == dict.fromkeys(PSIDS, 1)
        assert runs(world) == {
            "weekly_menu@2026-11-27T08:00Z": "done",
            "weekly_menu@2026-12-04T08:00Z": "too_late",
            "weekly_menu@2026-12-11T08:00Z": "too_late",
        }
        # Late by less than six hours: sent.
        jump_to(world, at(2026, 12, 17, 20))
        say_hi(world)
        jump_to(world, at(2026, 12, 18, 13))
        assert menus(world) == dict.fromkeys(PSIDS, 2)
        assert runs(world)["weekly_menu@2026-12-18T08:00Z"] == "done"
        # An operator's `send` is an extra occurrence, now; the schedule's next is untouched.
        sent = run_cli(world, "send", "weekly_menu", str(world.flows))
        assert sent.exit_code == 0, sent.output
        world.settle()
        assert menus(world) == dict.fromkeys(PSIDS, 3)
        assert runs(world)["weekly_menu@2026-12-18T13:00Z"] == "done"
        jump_to(world, at(2026, 12, 25, 8, 1))  # outside the window now: skipped, recorded
        assert menus(world) == dict.fromkeys(PSIDS, 3)
        report = ok_json(world.api("GET", "/broadcasts/weekly_menu/report"))
        assert report["broadcast"] == "weekly_menu@2026-12-25T08:00Z"
        assert report["skipped"] == {"count": 2, "by_reason": {"outside_window": 2}}
        # Retry and preview know a recurring broadcast by its name or an occurrence's.
        retried = world.api("POST", "/broadcasts/weekly_menu/retry")
        assert retried.status_code == 202, retried.text
        assert retried.json()["retrying"] == 0  # skipped is not failed: nothing to retry
        preview = ok_json(world.api("GET", "/broadcasts/weekly_menu@2026-12-25T08:00Z/preview"))
        assert preview["contacts"] == 2
        assert {k: v["count"] for k, v in preview["skipped"]["by_reason"].items()} == {
            "outside_window": 2
        }


TIME_OF_DAY_FLOW = """
on keyword "book" exact:
    set booking_date = "2026-11-28"
    send "Booked for Saturday!"
    after 1d at "10:00":
        send "Good morning! Your table for Saturday is confirmed."
    before {contact.booking_date} by 1d at "18:00":
        send "See you tomorrow!"
    before {contact.booking_date} by 5d:
        send "never: already past"
"""


def test_a_follow_up_at_a_time_of_day_in_the_pages_zone(database_url: str, tmp_path: Path) -> None:
    """The Page's `timezone` reaches the engine through the service: 10:00 and 18:00 in
    Paris are 09:00 and 17:00 UTC in November; a date already past is not scheduled."""
    with running_world(database_url, tmp_path, TIME_OF_DAY_FLOW) as world:
        world.page = replace(world.page, timezone="Europe/Paris")
        world.start()
        jump_to(world, at(2026, 11, 24, 16))
        world.sim.control.say("book", psid=PSIDS[0])
        world.settle()
        assert world.texts(PSIDS[0]) == ["Booked for Saturday!"]
        jump_to(world, at(2026, 11, 25, 8, 59))
        assert len(world.texts(PSIDS[0])) == 1
        jump_to(world, at(2026, 11, 25, 9, 0, 1))
        assert world.texts(PSIDS[0])[-1] == "Good morning! Your table for Saturday is confirmed."
        # Friday 17:00 UTC: the reminder comes, but the 24 h window has closed: skipped.
        jump_to(world, at(2026, 11, 27, 17, 0, 1))
        assert len(world.texts(PSIDS[0])) == 2
        skipped = [r for r in world.outbox() if r.status == "skipped"]
        assert [(r.preview, r.reason) for r in skipped] == [("See you tomorrow!", "outside_window")]
