"""`/state` in `pageflows chat` lists what is still to come, not timers that will do nothing.

A question's `for` timer stays scheduled after the question is answered (it fires as a
no-op, as in the service); listing it as pending would tell the marketer the bot still
waits for an answer it already has.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pageflows.chat.conversation import Conversation
from pageflows.engine.policy import check_tag
from pageflows.rules.compile import Program
from pageflows.rules.load import load_texts

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

FLOW = b"""\
on keyword "book":
    ask "Which day?" into day as date for 2h
    ask "How many?" into guests as number for 2h
    send "Booked for {contact.guests} on {contact.day}."

on keyword "person":
    handoff "asked for a person" for 3h
"""


def program() -> Program:
    result = load_texts({"f/book.flow": FLOW}, date(2026, 11, 24), check_tag)
    assert result.program is not None, result.diagnostics
    return result.program


def pending(chat: Conversation) -> list[tuple[str, str]]:
    return [(item.purpose, f"{item.due_at:%H:%M}") for item in chat.pending_follow_ups()]


def test_an_answered_question_no_longer_shows_its_timer() -> None:
    chat = Conversation.start(program(), START)
    chat.run("book")
    assert pending(chat) == [("ask_timeout", "11:00")]
    chat.run("/wait 30m")
    chat.run("tomorrow")
    # The second question waits from 09:30: only its timer is still to come.
    assert pending(chat) == [("ask_timeout", "11:30")]
    chat.run("4")
    assert pending(chat) == []


def test_a_handback_drops_the_handoff_timer() -> None:
    chat = Conversation.start(program(), START)
    chat.run("person")
    assert pending(chat) == [("handoff_timeout", "12:00")]
    chat.run("/handback")
    assert pending(chat) == []
