"""A person answers as the Page, and hands the conversation back to automation.

The API (`POST /api/contacts/{psid}/messages`, `.../reply-mode`, `.../handback`)
and the CLI (`pageflows reply`, `pageflows contact resume`) call these functions,
so both decide the same way. A reply is decided by the policy
(`policy.decide_human_reply`: RESPONSE inside 24 h, HUMAN_AGENT up to 7 days
where the page has the permission, else refused with the reason) and then goes
through the outbox like any other message: under the contact's lock, in one
transaction with the contact's new state (automation paused until
`handback_after`), with its deadline so a reply that waits past its window is
skipped rather than sent, and it gets statuses from the sender and the webhook.

The Page inbox may hold the thread (a flow's `handoff`, or a person typing in
Facebook's own inbox): a reply through us, or a handback, first queues a
`take_thread` row (Conversation Routing `take_thread_control`), and held
messages are released once Facebook has given the thread back (sender.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pageflows.engine.contact import ContactState
from pageflows.engine.policy import (
    RULES,
    Delivery,
    PolicyTable,
    Skip,
    decide_human_reply,
    send_deadline,
    window_closes_at,
)
from pageflows.service.agent_draft import Draft
from pageflows.service.config import PageConfig
from pageflows.service.locks import lock_contact
from pageflows.service.storage.contact_search import copy_searchable
from pageflows.service.storage.models import Contact, OutboxMessage
from pageflows.service.wake import OUTBOX, notify

PAGE_INBOX_RATIONALE = "typed by a person in Facebook's Page inbox"


class UnknownContact(LookupError):
    """No contact with this PSID has written to this page."""

    def __init__(self, page_id: str, psid: str) -> None:
        super().__init__(f"no contact {psid} on page {page_id}: they have to write to it first")
        self.page_id = page_id
        self.psid = psid


@dataclass(frozen=True)
class Window:
    """The contact's windows at a moment, as a person deciding to answer needs them."""

    last_contact_message_at: datetime | None
    open_until: datetime | None  # the 24 h window; None when closed (or never opened)
    human_agent_until: datetime | None  # 7 days after the contact's last message
    paused_until: datetime | None  # automation waits for a person until then
    handed_off: bool  # the Page inbox (or another app) holds the thread

    def as_json(self) -> dict[str, Any]:
        return {
            "last_contact_message_at": _iso(self.last_contact_message_at),
            "open_until": _iso(self.open_until),
            "human_agent_until": _iso(self.human_agent_until),
        }

    def automation_json(self) -> dict[str, Any]:
        state = "handed_off" if self.handed_off else "paused" if self.paused_until else "running"
        return {
            "state": state,
            "paused_until": _iso(self.paused_until),
            "handed_off": self.handed_off,
        }


@dataclass(frozen=True)
class ReplyMode:
    """How a reply typed now would go, or why it would be refused; readable before typing."""

    decision: Delivery | Skip
    window: Window

    @property
    def mode(self) -> str | None:
        if isinstance(self.decision, Skip):
            return None
        return self.decision.tag or self.decision.messaging_type


@dataclass(frozen=True)
class Queued:
    ids: tuple[int, ...]
    delivery: Delivery
    window: Window
    took_thread: bool


@dataclass(frozen=True)
class HandedBack:
    was: str  # running | paused | handed_off
    took_thread: bool  # held messages go once Facebook gave the thread back (sender.py)


def window_of(contact: ContactState, now: datetime, rules: PolicyTable = RULES) -> Window:
    last = contact.last_user_message_at
    return Window(
        last_contact_message_at=last,
        open_until=window_closes_at(now, last, rules),
        human_agent_until=(
            last + rules.human_agent_window
            if last is not None and now < last + rules.human_agent_window
            else None
        ),
        paused_until=contact.agent_until if contact.person_answering(now) else None,
        handed_off=contact.handed_off,
    )


def reply_mode(engine: Engine, page: PageConfig, psid: str, now: datetime) -> ReplyMode:
    with Session(engine) as session:
        contact = _state(session, page.id, psid)
    return ReplyMode(_decide(page, contact, now), window_of(contact, now))


def send_reply(
    engine: Engine, page: PageConfig, psid: str, draft: Draft, now: datetime
) -> Queued | ReplyMode:
    """Queue the reply (a `Queued`), or the refusal (a `ReplyMode` whose decision is a Skip).

    Decided under the contact's lock, so no event of the contact is being decided
    meanwhile: the window read is the one the reply goes in.
    """
    with Session(engine) as session, session.begin():
        lock_contact(session, page.id, psid)
        row = session.get(Contact, (page.id, psid), with_for_update=True)
        if row is None:
            raise UnknownContact(page.id, psid)
        contact = ContactState.model_validate(row.state)
        decision = _decide(page, contact, now)
        if isinstance(decision, Skip):
            return ReplyMode(decision, window_of(contact, now))
        took = contact.handed_off or contact.inbox_has_thread
        if took:  # the Page inbox holds the thread: take it before the reply goes
            _take_thread(session, page.id, psid, now, "a person answers through pageflows")
        deadline = send_deadline(decision, contact.last_user_message_at)
        ids: list[int] = []
        for message, preview in draft.messages():
            body: dict[str, Any] = {
                "recipient": {"id": psid},
                "messaging_type": decision.messaging_type,
                "message": message,
            }
            if decision.tag:
                body["tag"] = decision.tag
            outbox = OutboxMessage(
                page_id=page.id,
                contact_id=psid,
                kind="message",
                body=body,
                preview=preview[:2000],
                status="queued",
                messaging_type=decision.messaging_type,
                tag=decision.tag,
                rationale=decision.because,
                expires_at=deadline,
                created_at=now,
                attempts=0,
                source="agent",
                author=draft.author,
            )
            session.add(outbox)
            session.flush()
            ids.append(outbox.id)
        paused = pause(contact, now, page.handback_after).model_copy(
            update={"handed_off": False, "inbox_has_thread": False}  # the thread is ours again
        )
        save_state(session, row, contact, paused, now)
        notify(session, OUTBOX)
        return Queued(tuple(ids), decision, window_of(paused, now), took)


def hand_back(engine: Engine, page: PageConfig, psid: str, now: datetime) -> HandedBack:
    """Automation resumes for the contact now: the pause and the handoff end.

    The Page inbox may hold the thread (after a handoff, or after a person typed
    there), so the thread is taken back first; held messages go once Facebook
    has given it back. With neither a pause nor a handoff nothing changes.
    """
    with Session(engine) as session, session.begin():
        lock_contact(session, page.id, psid)
        row = session.get(Contact, (page.id, psid), with_for_update=True)
        if row is None:
            raise UnknownContact(page.id, psid)
        contact = ContactState.model_validate(row.state)
        was = (
            "handed_off"
            if contact.handed_off
            else "paused"
            if contact.person_answering(now)
            else "running"
        )
        elsewhere = contact.handed_off or contact.inbox_has_thread
        if was == "running" and not elsewhere and contact.agent_until is None:
            return HandedBack(was, took_thread=False)
        resumed = contact.model_copy(
            update={
                "agent_until": None,
                "handed_off": False,
                "inbox_has_thread": False,
                "handoff_until": None,  # issue 12: a `handoff ... for` ends early
            }
        )
        save_state(session, row, contact, resumed, now)
        if elsewhere:  # only a thread another app holds is taken back
            _take_thread(session, page.id, psid, now, "an operator handed the conversation back")
            notify(session, OUTBOX)
        return HandedBack(was, took_thread=elsewhere)


def take_over(engine: Engine, page: PageConfig, psid: str, now: datetime) -> Window:
    """issue 11: a person takes the conversation before typing: automation waits for
    them (`handback_after`, as after a reply), nothing is sent. Under the contact's
    lock, as a reply is, so no event of the contact is being decided meanwhile."""
    with Session(engine) as session, session.begin():
        lock_contact(session, page.id, psid)
        row = session.get(Contact, (page.id, psid), with_for_update=True)
        if row is None:
            raise UnknownContact(page.id, psid)
        contact = ContactState.model_validate(row.state)
        paused = pause(contact, now, page.handback_after)
        save_state(session, row, contact, paused, now)
        return window_of(paused, now)


def pause(contact: ContactState, at: datetime, handback_after: timedelta) -> ContactState:
    """The contact with automation paused until `at + handback_after` (never shortened)."""
    until = at + handback_after
    if contact.agent_until is not None and contact.agent_until > until:
        until = contact.agent_until
    return contact.model_copy(update={"agent_until": until})


def record_page_inbox_reply(
    session: Session,
    page_id: str,
    psid: str,
    *,
    mid: str | None,
    text: str | None,
    attachments: list[str],
    at: datetime,
    now: datetime,
) -> None:
    """A reply a person typed in Facebook's Page inbox, kept in the conversation: Facebook
    already delivered it, so it is stored as sent, with who sent it."""
    preview = text or " ".join(f"[{kind}]" for kind in attachments) or "(no text)"
    message: dict[str, Any] = {"text": text} if text else {}
    session.add(
        OutboxMessage(
            page_id=page_id,
            contact_id=psid,
            kind="message",
            body={"recipient": {"id": psid}, "message": message},
            preview=preview[:2000],
            status="sent",
            message_id=mid,
            rationale=PAGE_INBOX_RATIONALE,
            created_at=now,
            sent_at=at,
            attempts=0,
            source="page_inbox",
        )
    )


def save_state(
    session: Session, row: Contact, before: ContactState, after: ContactState, now: datetime
) -> None:
    row.state = after.model_dump(mode="json")
    row.last_user_message_at = after.last_user_message_at
    row.updated_at = now
    copy_searchable(session, row, before, after)


def _take_thread(session: Session, page_id: str, psid: str, now: datetime, reason: str) -> None:
    session.add(
        OutboxMessage(
            page_id=page_id,
            contact_id=psid,
            kind="take_thread",
            body={"psid": psid, "reason": reason},
            preview="take_thread",
            status="queued",
            created_at=now,
            attempts=0,
            source="agent",
        )
    )


def _state(session: Session, page_id: str, psid: str) -> ContactState:
    row = session.get(Contact, (page_id, psid))
    if row is None:
        raise UnknownContact(page_id, psid)
    return ContactState.model_validate(row.state)


def _decide(page: PageConfig, contact: ContactState, now: datetime) -> Delivery | Skip:
    return decide_human_reply(
        now=now, last_user_message_at=contact.last_user_message_at, human_agent=page.human_agent
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()
