"""Questions and handoffs that let go, in the running service (issue 12).

Over HTTP against the Graph API simulator, on SQLite and PostgreSQL, with the
fake clock: an `ask ... for 30m` that gets no answer goes on where its `if no
answer` line says, through the follow_ups table and the worker's due pass; a
`handoff ... for 2h` takes the thread back from the Page inbox when it runs
out (Conversation Routing `take_thread_control`), and automation answers again.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from service_world import World, running_world
from sqlalchemy import select
from sqlalchemy.orm import Session

from pageflows.service.storage.models import FollowUp

PSID = "psid-asks"
FLOW = """\
on keyword "book":
    ask "How many guests?" into guests as number for 30m:
        quick "2"
        quick "4"
        if no answer -> later
    send "A table for {contact.guests}, noted."

step later:
    send "No rush! Type book when you know."

on keyword "price":
    send "It costs 10 EUR."

on keyword "human":
    send "A person will answer you here."
    handoff "asked for a human" for 2h
"""


def start(world: World) -> None:
    world.start()
    world.sim.control.add_contact(PSID, "Ana", "Lima")


def say(world: World, text: str) -> list[str]:
    """What the contact reads in answer to `text`."""
    before = len(world.texts(PSID))
    world.sim.control.say(text, psid=PSID)
    world.settle()
    return world.texts(PSID)[before:]


def follow_ups(world: World) -> list[tuple[str, str]]:
    assert world.service is not None
    with Session(world.service.engine) as session:
        rows = session.scalars(select(FollowUp).order_by(FollowUp.id))
        return [(row.purpose, row.status) for row in rows]


def test_a_question_with_no_answer_goes_on_when_its_time_runs_out(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        assert say(world, "book") == ["How many guests?"]
        assert ("ask_timeout", "pending") in follow_ups(world)
        world.advance(timedelta(minutes=29), step=timedelta(minutes=1))
        assert world.texts(PSID)[-1] == "How many guests?"
        world.advance(timedelta(minutes=2), step=timedelta(minutes=1))
        assert world.texts(PSID)[-1] == "No rush! Type book when you know."
        assert ("ask_timeout", "done") in follow_ups(world)
        assert say(world, "4") == []  # no question waits any more: "4" is just a message


def test_an_answered_question_sends_nothing_when_its_time_comes(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        say(world, "book")
        assert say(world, "4") == ["A table for 4, noted."]
        world.advance(timedelta(minutes=31), step=timedelta(minutes=1))
        assert world.texts(PSID)[-1] == "A table for 4, noted."


def test_a_keyword_while_a_question_waits_runs_its_trigger(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        say(world, "book")
        assert say(world, "what's the price?") == ["It costs 10 EUR."]
        world.advance(timedelta(minutes=31), step=timedelta(minutes=1))
        assert world.texts(PSID)[-1] == "It costs 10 EUR."  # the question let go already


def test_a_handoff_for_2h_takes_the_thread_back_and_automation_answers_again(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        assert say(world, "human") == ["A person will answer you here."]
        assert [h["action"] for h in world.sim.control.handovers()] == ["pass"]
        assert say(world, "price") == []  # the Page inbox has the thread
        world.advance(timedelta(hours=2), step=timedelta(minutes=20))
        assert [h["action"] for h in world.sim.control.handovers()] == ["pass", "take"]
        assert ("handoff_timeout", "done") in follow_ups(world)
        assert say(world, "price") == ["It costs 10 EUR."]
