"""What `/healthz` and `pageflows inbox` report: the backlog and whatever needs a person.

A worker that is alive but stuck, a parked event or a paused page is exactly what
an operator must see without SQL; so the health answer counts them and names
the pages and the reasons.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pageflows.service import heartbeat, pages
from pageflows.service.storage.models import FollowUp, InboxEvent, OutboxMessage


def _counts(session: Session, column: Any, *statuses: str) -> dict[str, int]:
    rows = session.execute(
        select(column, func.count()).where(column.in_(statuses)).group_by(column)
    ).all()
    found = {str(status): int(count) for status, count in rows}
    return {status: found.get(status, 0) for status in statuses}


def report(engine: Engine, now: datetime) -> dict[str, Any]:
    """Counts and problems; `problems` is empty when nothing waits for a person."""
    with Session(engine) as session:
        inbox = _counts(session, InboxEvent.status, "pending", "parked")
        outbox = _counts(session, OutboxMessage.status, "queued", "claimed", "sending", "held")
        follow_ups = _counts(session, FollowUp.status, "pending", "parked")
        duplicates = session.scalar(
            select(func.count()).where(OutboxMessage.possible_duplicate.is_(True))
        )
        in_doubt = session.scalar(select(func.count()).where(OutboxMessage.reason == "in_doubt"))
        states = pages.statuses(session)
        workers = heartbeat.alive(session, now)
    paused = [
        {
            "page": s.page_id,
            "reason": s.paused_reason,
            "detail": s.paused_detail,
            "code": s.paused_code,
        }
        for s in states
        if s.paused_reason is not None
    ]
    problems = [f"page {p['page']} paused: {p['reason']} ({p['detail']})" for p in paused]
    if not workers:
        problems.append(
            "no worker process has reported in the last"
            f" {int(heartbeat.STALE_AFTER.total_seconds())} s: events are stored but nobody"
            " answers them; start `pageflows worker FLOWS` (or `pageflows serve`)"
        )
    if inbox["parked"]:
        problems.append(
            f"{inbox['parked']} inbox event(s) parked after failing; `pageflows inbox parked`"
            " lists them, `pageflows inbox replay` retries them"
        )
    if in_doubt:
        problems.append(
            f"{in_doubt} message(s) failed in doubt: sent twice without Facebook's answer, so"
            " the contact may or may not have them (outbox reason in_doubt)"
        )
    if follow_ups["parked"]:
        problems.append(f"{follow_ups['parked']} follow-up(s) parked after failing")
    return {
        "workers": workers,
        "inbox": inbox,
        "outbox": {
            **outbox,
            "possible_duplicates": int(duplicates or 0),
            "failed_in_doubt": int(in_doubt or 0),
        },
        "follow_ups": follow_ups,
        "pages": [s.page_id for s in states],
        "paused_pages": paused,
        "slowed_pages": [
            {"page": s.page_id, "until": s.slow_until.isoformat()}
            for s in states
            if s.slow_until is not None and s.slow_until > now
        ],
        "problems": problems,
    }
