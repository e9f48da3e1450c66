"""What pageflows decided but did not send is recorded with its reason, and shown.

A reminder counted from a date already past is never scheduled; a follow-up
`unless replied` is cancelled when the contact wrote again; a message no
trigger takes is answered by nothing. Each is kept in the database with the
engine's reason (issue 12: R) and read back where an operator looks: the
conversation API and `pageflows conversation`. The service runs for real
against the Graph API simulator, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from service_world import PAGE, World, running_world
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pageflows.cli import main
from pageflows.service.storage.models import FollowUp, InboxEvent

PSID = "5550001112223334"
FLOW = """\
on keyword "book":
    set booking_date = "2026-11-20"
    send "Booked."
    before {contact.booking_date} by 1d at "18:00":
        send "See you tomorrow!"

on keyword "hi":
    send "Hello!"
    after 2h unless replied:
        send "Still there?"

on keyword "menu":
    send "Our menu: https://example.com/menu"
    after 1h:
        send "Hungry yet?"

on keyword "human":
    send "A person will answer you here."
    handoff "asked for a human"
"""
PASSED = (
    "follow-up not scheduled (date_passed): 1d before {contact.booking_date} (2026-11-20)"
    " was 2026-11-19 18:00 UTC, already past"
)


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        world.sim.control.add_contact(PSID, first_name="Ana", last_name="Lima")
        yield world


def follow_ups(world: World) -> list[FollowUp]:
    assert world.service is not None
    with Session(world.service.engine) as session:
        rows = list(session.scalars(select(FollowUp).order_by(FollowUp.id)))
        session.expunge_all()
        return rows


def conversation(world: World) -> list[dict[str, Any]]:
    answer = world.api("GET", f"/contacts/{PSID}/conversation")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def transcript(world: World, tmp_path: Path) -> str:
    config = tmp_path / "operator.toml"
    config.write_text(
        f'database_url = "{world.database_url}"\n[[pages]]\nid = "{PAGE}"\ntoken = "t"\n', "utf-8"
    )
    result = CliRunner().invoke(main, ["conversation", PSID, "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_reminder_whose_date_has_passed_is_recorded_and_shown(
    world: World, tmp_path: Path
) -> None:
    world.sim.control.say("book", psid=PSID)
    world.settle()
    assert world.texts(PSID) == ["Booked."]
    (row,) = follow_ups(world)
    assert (row.status, row.reason) == ("cancelled", "date_passed")
    assert row.due_at.isoformat() == "2026-11-19T18:00:00+00:00"  # the time it would have had

    items = conversation(world)
    assert [(i["direction"], i["text"]) for i in items] == [
        ("in", "book"),
        ("out", "Booked."),
        ("out", PASSED),
    ]
    assert items[-1]["status"] == "not_scheduled" and items[-1]["kind"] == "follow_up"
    assert f"  · {PASSED}\n" in transcript(world, tmp_path)

    # The same event decided again at the same moment records the reminder once.
    assert world.service is not None
    with Session(world.service.engine) as session, session.begin():
        session.execute(update(InboxEvent).values(status="pending"))
    world.settle()
    assert [r.reason for r in follow_ups(world)] == ["date_passed"]


def test_a_follow_up_cancelled_because_the_contact_replied_says_so(
    world: World, tmp_path: Path
) -> None:
    world.sim.control.say("hi", psid=PSID)
    world.settle()
    world.advance(timedelta(minutes=30), step=timedelta(minutes=30))
    world.sim.control.say("thanks, got it", psid=PSID)
    world.settle()
    world.advance(timedelta(hours=2), step=timedelta(minutes=30))
    assert world.texts(PSID) == ["Hello!"]
    (row,) = follow_ups(world)
    assert (row.status, row.reason) == ("cancelled", "contact_replied")
    assert row.detail == "the contact wrote again at 2026-11-24 09:30 UTC"

    items = conversation(world)
    assert [(i["direction"], i["text"], i.get("notes")) for i in items] == [
        ("in", "hi", []),
        ("out", "Hello!", None),
        ("in", "thanks, got it", ["no trigger matched"]),
        (
            "out",
            "follow-up cancelled (contact_replied): the contact wrote again at"
            " 2026-11-24 09:30 UTC",
            None,
        ),
    ]
    shown = transcript(world, tmp_path)
    assert (
        "2026-11-24 09:30  > thanks, got it\n"
        "                    · no trigger matched\n"
        "2026-11-24 11:00  · follow-up cancelled (contact_replied): the contact wrote again at"
        " 2026-11-24 09:30 UTC\n"
    ) in shown


def test_a_follow_up_due_while_a_human_has_the_thread_is_cancelled_with_why(
    world: World,
) -> None:
    world.sim.control.say("menu", psid=PSID)
    world.settle()
    world.advance(timedelta(minutes=10), step=timedelta(minutes=10))
    world.sim.control.say("human", psid=PSID)
    world.settle()
    world.advance(timedelta(hours=1), step=timedelta(minutes=30))
    assert world.texts(PSID) == [
        "Our menu: https://example.com/menu",
        "A person will answer you here.",
    ]
    (row,) = follow_ups(world)
    assert (row.status, row.reason) == ("cancelled", "handed_off")
    assert conversation(world)[-1]["text"] == (
        "follow-up cancelled (handed_off): a human has this conversation"
    )
