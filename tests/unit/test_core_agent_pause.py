"""A person's reply pauses automation for one contact: the core runs no flow until it ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from support import program

from pageflows.engine.contact import ContactState
from pageflows.engine.core import handle
from pageflows.engine.effects import Cancelled, Note, Schedule, Send, TakeBack
from pageflows.engine.events import FollowUpDue, MessageIn

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CID = "psid-agent"
FLOWS = """
on keyword "price":
    send "It costs 10 EUR."
    after 2h:
        send "Still interested?"
"""


def contact(**update: object) -> ContactState:
    base = ContactState(id=CID, first_seen_at=T0, last_user_message_at=T0, message_count=1)
    return base.model_copy(update=update)


def message(text: str, at: datetime) -> MessageIn:
    return MessageIn(contact_id=CID, timestamp=at, text=text)


def texts(effects: tuple[object, ...]) -> list[str]:
    return [e.outbound.preview for e in effects if isinstance(e, Send)]


def test_while_a_person_answers_a_keyword_gets_no_automated_answer() -> None:
    paused = contact(agent_until=T0 + timedelta(hours=12))
    at = T0 + timedelta(hours=1)
    decision = handle(program(FLOWS), paused, message("price", at), at)
    assert texts(decision.effects) == []
    (note,) = [e for e in decision.effects if isinstance(e, Note)]
    assert "a person is answering" in note.text and "2026-11-24 21:00 UTC" in note.text
    # The contact's message still counts for the window a person's reply uses.
    assert decision.contact.last_user_message_at == at
    assert decision.contact.agent_until == T0 + timedelta(hours=12)


def test_when_the_pause_runs_out_the_thread_is_taken_back_before_the_answer() -> None:
    """Only when the Page inbox took it (a person typed there): a reply through pageflows
    never let the thread go, and taking a thread one holds is a call for nothing."""
    at = T0 + timedelta(hours=12)
    paused = contact(agent_until=at, inbox_has_thread=True)
    decision = handle(program(FLOWS), paused, message("price", at), at)
    assert isinstance(decision.effects[0], TakeBack)
    assert texts(decision.effects) == ["It costs 10 EUR."]
    assert (decision.contact.agent_until, decision.contact.inbox_has_thread) == (None, False)
    ours = handle(program(FLOWS), contact(agent_until=at), message("price", at), at)
    assert not any(isinstance(e, TakeBack) for e in ours.effects)
    assert texts(ours.effects) == ["It costs 10 EUR."]


def test_a_follow_up_due_while_a_person_answers_is_cancelled_with_the_reason() -> None:
    prog = program(FLOWS)
    first = handle(prog, contact(), message("price", T0), T0)
    (item,) = [e for e in first.effects if isinstance(e, Schedule) and e.purpose == "follow_up"]
    paused = first.contact.model_copy(update={"agent_until": T0 + timedelta(hours=12)})
    event = FollowUpDue(
        contact_id=CID,
        timestamp=item.due_at,
        root=item.root,
        path=item.path,
        created_at=item.created_at,
        unless_replied=item.unless_replied,
        tag=item.tag,
        topic=item.topic,
    )
    fired = handle(prog, paused, event, item.due_at)
    assert texts(fired.effects) == []
    (cancel,) = [e for e in fired.effects if isinstance(e, Cancelled)]
    assert cancel.reason == "person_answering"
    assert "2026-11-24 21:00 UTC" in cancel.detail


def test_no_pause_no_take_back() -> None:
    decision = handle(program(FLOWS), contact(), message("price", T0), T0)
    assert not [e for e in decision.effects if isinstance(e, TakeBack)]
    assert texts(decision.effects) == ["It costs 10 EUR."]
