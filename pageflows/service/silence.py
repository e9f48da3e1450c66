"""What pageflows did about a contact's latest actions, for the simulator's customer.

`pageflows simulator say/tap/...` shows what Facebook delivered; what pageflows chose
*not* to send lives only in its database: events not processed yet, messages skipped
with their reason, held, still queued or failed, follow-ups not scheduled, what the
engine noted on each event ("no trigger matched"), and a paused or handed-off contact.
The CLI takes a `Mark` before it plays an action and reads `since` afterwards, by row
ids, so neither the simulator's clock nor pageflows' matters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pageflows.engine.contact import ContactState
from pageflows.service.storage.models import Contact, FollowUp, InboxEvent, OutboxMessage

UNSENT = ("skipped", "held", "failed", "queued", "claimed", "sending")


@dataclass(frozen=True)
class Mark:
    """The newest inbox and outbox row ids of a page before an action."""

    inbox: int
    outbox: int
    follow_up: int = 0  # issue 12: R: follow-ups recorded not scheduled after it


@dataclass(frozen=True)
class Unsent:
    status: str
    preview: str
    reason: str | None
    detail: str | None
    how: str  # RESPONSE, UPDATE, MESSAGE_TAG TAG, ... as decided


@dataclass
class Outcome:
    """The contact's events and outbound rows after a mark, and its automation state."""

    events: int = 0  # inbox rows for the contact after the mark
    pending: int = 0  # of those, not processed yet
    parked: list[str] = field(default_factory=list)  # their errors
    sent: int = 0  # outbound rows that went to Facebook
    unsent: list[Unsent] = field(default_factory=list)
    known: bool = False  # the contact has a row
    handed_off: bool = False
    paused_until: datetime | None = None
    waiting_for: str | None = None  # the field an `ask` waits for
    # issue 12: R. What the engine said of the events (stored on their rows), in order,
    # and the follow-ups it decided not to schedule (reason, sentence).
    notes: list[str] = field(default_factory=list)
    decided: bool = False  # the engine decided on at least one of them (notes were kept)
    not_scheduled: list[tuple[str, str]] = field(default_factory=list)


def mark(engine: Engine, page_id: str) -> Mark:
    with Session(engine) as session:
        inbox = session.scalar(select(func.max(InboxEvent.id)).where(InboxEvent.page_id == page_id))
        outbox = session.scalar(
            select(func.max(OutboxMessage.id)).where(OutboxMessage.page_id == page_id)
        )
        follow_up = session.scalar(select(func.max(FollowUp.id)).where(FollowUp.page_id == page_id))
    return Mark(inbox or 0, outbox or 0, follow_up or 0)


def since(engine: Engine, page_id: str, psid: str, after: Mark, now: datetime) -> Outcome:
    outcome = Outcome()
    with Session(engine) as session:
        events = session.scalars(
            select(InboxEvent).where(
                InboxEvent.page_id == page_id,
                InboxEvent.contact_id == psid,
                InboxEvent.id > after.inbox,
            )
        ).all()
        outcome.events = len(events)
        outcome.pending = sum(1 for e in events if e.status == "pending")
        outcome.parked = [e.error or "(no error kept)" for e in events if e.status == "parked"]
        outcome.notes = [note for e in sorted(events, key=lambda e: e.id) for note in e.notes or ()]
        outcome.decided = any(e.notes is not None for e in events)
        outcome.not_scheduled = [
            (row.reason or "cancelled", row.detail or "")
            for row in session.scalars(
                select(FollowUp)
                .where(
                    FollowUp.page_id == page_id,
                    FollowUp.contact_id == psid,
                    FollowUp.id > after.follow_up,
                    FollowUp.status == "cancelled",
                )
                .order_by(FollowUp.id)
            )
        ]
        rows = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.page_id == page_id,
                OutboxMessage.contact_id == psid,
                OutboxMessage.id > after.outbox,
            )
            .order_by(OutboxMessage.id)
        ).all()
        for row in rows:
            if row.status not in UNSENT:
                outcome.sent += 1
                continue
            how = row.messaging_type or ""
            if row.tag:
                how = f"{how} {row.tag}".strip()
            reason = row.reason
            if row.status == "failed" and row.error_code is not None:
                code = f"{row.error_code}/{row.error_subcode}" if row.error_subcode else ""
                reason = f"Facebook {code or row.error_code}"
            detail = row.error_message if row.status == "failed" else row.detail
            outcome.unsent.append(Unsent(row.status, row.preview, reason, detail, how))
        contact = session.get(Contact, (page_id, psid))
        if contact is not None:
            state = ContactState.model_validate(contact.state)
            outcome.known = True
            outcome.handed_off = state.handed_off
            if state.agent_until is not None and state.agent_until > now:
                outcome.paused_until = state.agent_until
            outcome.waiting_for = state.waiting.field if state.waiting else None
    return outcome
