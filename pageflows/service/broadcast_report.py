"""What a broadcast run did, from the database: the compliance side of `broadcast send`.

Counted per contact, by its latest message of the broadcast (a retry replaces
the failed attempt): queued (not yet sent: queued, claimed, sending, held),
sent (Facebook took it; delivered and read ones included), delivered (read
included), read, failed (by Facebook's code and message), skipped (by our
reason); by mode (RESPONSE, UPDATE, MESSAGE_TAG, UTILITY template,
notification token); contacts decided with no message (not in the audience,
or a person has the thread); deliveries still pending or parked.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pageflows.service.broadcast_modes import mode_label
from pageflows.service.broadcasts import (
    BroadcastError,
    delivery_key,
    latest_message_ids,
    run_json,
    runs_of,
)
from pageflows.service.storage.models import BroadcastRun, FollowUp, OutboxMessage

WAITING = ("queued", "claimed", "sending", "held")
REACHED = {"sent": 1, "delivered": 2, "read": 3}


def report(engine: Engine, page_id: str, name: str) -> dict[str, Any]:
    """The run's numbers; refused (404) when the broadcast never ran on this page."""
    with Session(engine) as session:
        run = session.get(BroadcastRun, (page_id, name))
        recurring = runs_of(session, page_id, name) if run is None else []
        if recurring:  # issue 12: a recurring broadcast's name reports its latest occurrence
            run = recurring[0]
            name = run.name
        if run is None:
            raise BroadcastError(
                404,
                f"broadcast {name!r} has not run on page {page_id}",
                ran=sorted(
                    session.scalars(
                        select(BroadcastRun.name).where(BroadcastRun.page_id == page_id)
                    )
                ),
            )
        follow_ups = _follow_ups(session, page_id, name)
        latest = _latest_rows(session, page_id, name)
    status: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    errors: Counter[tuple[int | None, str | None]] = Counter()
    for row in latest.values():
        if row.status == "skipped":
            skipped[row.reason or "unknown"] += 1
            continue
        modes[mode_label(row.messaging_type, row.tag, row.rationale)] += 1
        if row.status == "failed":
            errors[(row.error_code, row.error_message or row.reason)] += 1
        elif row.status in WAITING:
            status["queued"] += 1
        reached = REACHED.get(row.status, 0)
        for word, level in REACHED.items():
            if reached >= level:
                status[word] += 1
    first_done = follow_ups["first_done"]
    return {
        "broadcast": name,
        "page": page_id,
        "run": run_json(run),
        "contacts": run.contacts,
        "decided": first_done,
        "pending": follow_ups["pending"],
        "parked": follow_ups["parked"],
        "retried": follow_ups["retries"],
        "no_message": max(0, first_done - follow_ups["first_with_rows"]),
        "by_mode": dict(sorted(modes.items())),
        "queued": status["queued"],
        "sent": status["sent"],
        "delivered": status["delivered"],
        "read": status["read"],
        "failed": {
            "count": sum(errors.values()),
            "by_error": [
                {"code": code, "message": message, "count": count}
                for (code, message), count in errors.most_common()
            ],
        },
        "skipped": {"count": sum(skipped.values()), "by_reason": dict(sorted(skipped.items()))},
    }


def _latest_rows(session: Session, page_id: str, name: str) -> dict[str, Any]:
    """Each contact's latest message of the broadcast: the columns a report counts by."""
    newest = latest_message_ids(page_id, name)
    rows = session.execute(
        select(
            OutboxMessage.contact_id,
            OutboxMessage.status,
            OutboxMessage.reason,
            OutboxMessage.messaging_type,
            OutboxMessage.tag,
            OutboxMessage.rationale,
            OutboxMessage.error_code,
            OutboxMessage.error_message,
        ).where(OutboxMessage.id.in_(newest))
    )
    return {row.contact_id: row for row in rows}


def _follow_ups(session: Session, page_id: str, name: str) -> dict[str, int]:
    """Deliveries by state; of the first ones, how many were decided and left a message."""
    first = delivery_key(page_id, name, "")
    again = f"broadcast-retry:{page_id}:{name}:"
    counts: Counter[str] = Counter()
    for key, state in session.execute(
        select(FollowUp.key, FollowUp.status).where(
            FollowUp.page_id == page_id,
            FollowUp.purpose == "broadcast",
            FollowUp.key.startswith(first, autoescape=True)
            | FollowUp.key.startswith(again, autoescape=True),
        )
    ):
        counts[state] += 1
        if key.startswith(again):
            counts["retries"] += 1
        elif state in ("done", "cancelled"):  # issue 12: R: decided, with a reason kept
            counts["first_done"] += 1
    with_rows = session.scalar(
        select(func.count(func.distinct(OutboxMessage.contact_id))).where(
            OutboxMessage.page_id == page_id,
            OutboxMessage.broadcast == name,
            OutboxMessage.kind == "message",
        )
    )
    return {
        "first_done": counts["first_done"],
        "first_with_rows": with_rows or 0,
        "pending": counts["pending"],
        "parked": counts["parked"],
        "retries": counts["retries"],
    }
