"""Writing webhook batches into the inbox, once each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pageflows.service.storage.models import InboxEvent


def store_batch(engine: Engine, rows: Sequence[dict[str, Any]], received_at: datetime) -> int:
    """Insert the batch in one transaction; a redelivered event (same page + dedup key) is skipped.

    Returns how many rows were new. Facebook redelivers when we answer slowly or
    not at all; the unique key is what makes "duplicates answered once" true.
    """
    if not rows:
        return 0
    values = [{**row, "received_at": received_at, "status": "pending"} for row in rows]
    dialect = engine.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(InboxEvent)
        .values(values)
        .on_conflict_do_nothing(index_elements=["page_id", "dedup_key"])
        .returning(InboxEvent.id)
    )
    with engine.begin() as connection:
        # RETURNING, not rowcount: drivers disagree on rowcount for multi-row inserts.
        return len(connection.execute(statement).all())


def pending_count(engine: Engine) -> int:
    with engine.connect() as connection:
        count = connection.execute(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "pending")
        ).scalar_one()
    return int(count)


@dataclass(frozen=True)
class ParkedEvent:
    id: int
    page_id: str
    contact_id: str | None
    kind: str
    received_at: datetime
    attempts: int
    error: str | None


def parked(engine: Engine, limit: int = 100) -> list[ParkedEvent]:
    with Session(engine) as session:
        rows = session.scalars(
            select(InboxEvent)
            .where(InboxEvent.status == "parked")
            .order_by(InboxEvent.id)
            .limit(limit)
        ).all()
        return [
            ParkedEvent(r.id, r.page_id, r.contact_id, r.kind, r.received_at, r.attempts, r.error)
            for r in rows
        ]


def replay(engine: Engine, ids: Sequence[int] = ()) -> int:
    """Parked events (these, or all) become pending again with fresh tries, in their order."""
    statement = (
        update(InboxEvent)
        .where(InboxEvent.status == "parked")
        .values(status="pending", attempts=0, next_attempt_at=None, processed_at=None)
    )
    if ids:
        statement = statement.where(InboxEvent.id.in_(list(ids)))
    with engine.begin() as connection:
        return int(connection.execute(statement).rowcount or 0)
