"""Writing webhook batches into the inbox, once each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from pageflows.service.storage.models import InboxEvent
from pageflows.service.wake import INBOX, notify

CHUNK_ROWS = 500


@dataclass(frozen=True)
class Unstorable:
    """The database refused a value of the batch (too long, out of range, not encodable).

    A fault of the input, not of the database: answering 5xx would make
    Facebook redeliver the same body until it disables the webhook.
    """

    reason: str


def store_batch(
    engine: Engine, rows: Sequence[dict[str, Any]], received_at: datetime
) -> int | Unstorable:
    """Insert the batch in one transaction; a redelivered event (same page + dedup key) is skipped.

    Returns how many rows were new, or `Unstorable` when a value cannot be held.
    A database that cannot be reached raises (OperationalError): that is worth a
    retry. Facebook redelivers when we answer slowly or not at all; the unique
    key is what makes "duplicates answered once" true.
    """
    if not rows:
        return 0
    try:
        return _insert(engine, rows, received_at)
    except (DataError, IntegrityError) as exc:
        return Unstorable(_first_line(exc.orig))
    except StatementError as exc:
        if isinstance(exc, DBAPIError):
            raise  # the database's own failure (connection, schema): not the input's
        return Unstorable(_first_line(exc.orig))  # a value SQLAlchemy could not bind
    except UnicodeError as exc:  # psycopg encodes text before sending it
        return Unstorable(f"text cannot be encoded ({exc})")


def _first_line(error: BaseException | None) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _insert(engine: Engine, rows: Sequence[dict[str, Any]], received_at: datetime) -> int:
    values = [{**row, "received_at": received_at, "status": "pending"} for row in rows]
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    new = 0
    with engine.begin() as connection:
        # Chunks: one statement has at most 32,766 parameters in SQLite and 65,535
        # in PostgreSQL, and a 1 MB body can hold thousands of small events.
        for start in range(0, len(values), CHUNK_ROWS):
            statement = (
                insert(InboxEvent)
                .values(values[start : start + CHUNK_ROWS])
                .on_conflict_do_nothing(index_elements=["page_id", "dedup_key"])
                .returning(InboxEvent.id)
            )
            # RETURNING, not rowcount: drivers disagree on rowcount for multi-row inserts.
            new += len(connection.execute(statement).all())
        if new:
            notify(connection, INBOX)  # wakes every worker process when this commits
    return new


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
