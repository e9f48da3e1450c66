"""A broadcast's dry run: what `send` would do now, through the real core and policy.

Each contact of the page is decided exactly as the worker would decide its
delivery (`core.handle` with a `BroadcastDue`, the page's facts as the worker
reads them, `now` from the caller's clock), a batch at a time (keyset on psid,
one short read per batch), and nothing is written. Contacts are counted in
one bucket each: would get it (by mode), skipped (by reason, with one sample
detail), handed off to a person, or not in the audience.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pageflows.engine.contact import ContactState
from pageflows.engine.core import handle
from pageflows.engine.effects import Cancelled, Send, Skipped
from pageflows.engine.events import BroadcastDue
from pageflows.rules.compile import Program
from pageflows.service.broadcast_modes import mode_label
from pageflows.service.broadcasts import base_name
from pageflows.service.config import PageConfig
from pageflows.service.storage.models import Contact
from pageflows.service.storage.templates import load_page_facts

BATCH = 1000
SAMPLES = 5


@dataclass
class Bucket:
    """Contacts that share one outcome: how many, one sample detail, a few of them."""

    count: int = 0
    detail: str | None = None
    samples: list[dict[str, str | None]] = field(default_factory=list)

    def add(self, psid: str, name: str | None, detail: str | None = None) -> None:
        self.count += 1
        if self.detail is None and detail:
            self.detail = detail
        if len(self.samples) < SAMPLES:
            self.samples.append({"psid": psid, "name": name})

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"count": self.count, "samples": self.samples}
        if self.detail is not None:
            shown["detail"] = self.detail
        return shown


@dataclass
class Outcome:
    contacts: int = 0
    send: dict[str, Bucket] = field(default_factory=dict)
    skipped: dict[str, Bucket] = field(default_factory=dict)
    handed_off: Bucket = field(default_factory=Bucket)
    not_in_audience: Bucket = field(default_factory=Bucket)
    # The first message a contact would get, as sent to Facebook (the console shows it as
    # Messenger would); None when nobody would get it.
    message: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "contacts": self.contacts,
            "message": self.message,
            "send": {
                "count": sum(b.count for b in self.send.values()),
                "by_mode": {k: b.as_json() for k, b in sorted(self.send.items())},
            },
            "skipped": {
                "count": sum(b.count for b in self.skipped.values()),
                "by_reason": {k: b.as_json() for k, b in sorted(self.skipped.items())},
            },
            "handed_off": self.handed_off.as_json(),
            "not_in_audience": self.not_in_audience.as_json(),
        }


def preview(
    engine: Engine,
    page: PageConfig,
    program: Program,
    name: str,
    now: datetime,
    batch: int = BATCH,
) -> dict[str, Any]:
    """Who would get broadcast `name` if it were sent at `now`, and how; nothing written."""
    facts = load_page_facts(engine, page)
    outcome = Outcome()
    after = ""
    while True:
        with Session(engine) as session:
            rows = session.execute(
                select(Contact.psid, Contact.state, Contact.first_name, Contact.last_name)
                .where(Contact.page_id == page.id, Contact.psid > after)
                .order_by(Contact.psid)
                .limit(batch)
            ).all()
        for psid, state, first, last in rows:
            contact = ContactState.model_validate(state)
            # issue 12: `weekly_menu@2026-12-04T08:00Z` previews weekly_menu's actions
            event = BroadcastDue(name=base_name(name), contact_id=psid, timestamp=now)
            decision = handle(program, contact, event, now, page.get_started_payload, page=facts)
            _count(outcome, psid, " ".join(p for p in (first, last) if p) or None, decision.effects)
        outcome.contacts += len(rows)
        if len(rows) < batch:
            break
        after = rows[-1][0]
    return {"broadcast": name, "page": page.id, "at": now.isoformat(), **outcome.as_json()}


def _count(outcome: Outcome, psid: str, name: str | None, effects: Any) -> None:
    """The contact's one bucket: its first message sent, else skipped, else why nothing."""
    sends = [e for e in effects if isinstance(e, Send)]
    if sends:
        first = sends[0]
        if outcome.message is None:
            outcome.message = first.outbound.message
        mode = mode_label(first.delivery.messaging_type, first.delivery.tag, first.delivery.because)
        outcome.send.setdefault(mode, Bucket()).add(psid, name)
        return
    skips = [e for e in effects if isinstance(e, Skipped)]
    if skips:
        outcome.skipped.setdefault(skips[0].reason, Bucket()).add(psid, name, skips[0].detail)
        return
    if any(isinstance(e, Cancelled) for e in effects):
        outcome.handed_off.add(psid, name, "a person has this conversation")
        return
    outcome.not_in_audience.add(psid, name)
