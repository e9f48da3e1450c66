"""Writing webhook batches into the inbox, once each."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, bindparam, func, select, text, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from pageflows.service.storage.models import InboxEvent
from pageflows.service.wake import INBOX

CHUNK_ROWS = 500
_SQLITE_WRITER = threading.Lock()


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
        return _insert_retrying(engine, rows, received_at)
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


def _insert_retrying(engine: Engine, rows: Sequence[dict[str, Any]], received_at: datetime) -> int:
    """`_insert`, once more on a fresh connection when the pooled one was dead (the database
    restarted, a session was cut): SQLAlchemy then drops every connection older than the
    failure, so one retry suffices. The webhook's engine pings no connection before use
    (web/application.py), this is what stands in for it. An insert whose connection died
    while it committed may have committed: the retry then finds its rows (same dedup
    keys) and stores nothing twice.
    """
    try:
        return _insert(engine, rows, received_at)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return _insert(engine, rows, received_at)


def _insert(engine: Engine, rows: Sequence[dict[str, Any]], received_at: datetime) -> int:
    values = [{**row, "received_at": received_at, "status": "pending"} for row in rows]
    dialect = engine.dialect.name
    # Chunks: one statement has at most 32,766 parameters in SQLite and 65,535
    # in PostgreSQL, and a 1 MB body can hold thousands of small events.
    chunks = [values[start : start + CHUNK_ROWS] for start in range(0, len(values), CHUNK_ROWS)]
    if dialect != "postgresql":
        # SQLite takes one writer at a time: this process's threads queue here, in order,
        # instead of in SQLite's busy handler, which sleeps 1, 2, 5... 100 ms between
        # tries. A transaction, not AUTOCOMMIT: handing back a connection that was in
        # AUTOCOMMIT costs a PRAGMA.
        with _SQLITE_WRITER, engine.begin() as connection:
            return sum(_execute(connection, dialect, chunk) for chunk in chunks)
    with engine.connect() as connection:
        if len(chunks) == 1:
            # One statement is atomic on its own: no BEGIN and COMMIT round trips. It has
            # committed when execute returns, before the webhook answers 200.
            connection.execution_options(isolation_level="AUTOCOMMIT")
            return _execute(connection, dialect, chunks[0])
        with connection.begin():
            return sum(_execute(connection, dialect, chunk) for chunk in chunks)


def _execute(connection: Connection, dialect: str, chunk: list[dict[str, Any]]) -> int:
    """Insert one chunk; how many rows were new. On PostgreSQL the same statement notifies
    the workers when there was any (delivered at commit): one round trip in all."""
    parameters = {
        f"{column}_{i}": row.get(column) for i, row in enumerate(chunk) for column in _COLUMNS
    }
    result = connection.execute(_statement(dialect, len(chunk)), parameters)
    if dialect == "postgresql":
        return int(result.scalar_one())
    # RETURNING, not rowcount: drivers disagree on rowcount for multi-row inserts.
    return len(result.all())


_TABLE = InboxEvent.__table__
_TABLE_NAME = InboxEvent.__tablename__
_COLUMNS = (
    "page_id",
    "contact_id",
    "kind",
    "dedup_key",
    "occurred_at",
    "received_at",
    "payload",
    "status",
)


@lru_cache(maxsize=64)
def _statement(dialect: str, rows: int) -> TextClause:
    """The insert of `rows` rows, written once per dialect and size, so SQLAlchemy compiles
    it once and finds it in its cache after that. Built as `insert().values(list_of_dicts)`,
    a multi-row statement has no cache key and was compiled on every request (a quarter of
    a request's time in the profile); the columns keep their types, so values are bound as
    before (aware UTC datetimes, JSON).

    PostgreSQL: `WITH new AS (INSERT ... RETURNING id) SELECT count(*), pg_notify(...)`,
    the number of new rows and the workers' wake-up (only when there are new ones,
    delivered at commit) in the insert's own round trip.
    """
    names = ", ".join(_COLUMNS)
    values = ", ".join("(" + ", ".join(f":{c}_{i}" for c in _COLUMNS) + ")" for i in range(rows))
    insert = (
        f"INSERT INTO {_TABLE_NAME} ({names}) VALUES {values}"
        " ON CONFLICT (page_id, dedup_key) DO NOTHING RETURNING id"
    )
    if dialect == "postgresql":
        insert = (
            f"WITH new AS ({insert}) SELECT count(*),"
            f" CASE WHEN count(*) > 0 THEN pg_notify('{INBOX}', '') END FROM new"
        )
    return text(insert).bindparams(
        *(bindparam(f"{c}_{i}", type_=_TABLE.c[c].type) for i in range(rows) for c in _COLUMNS)
    )


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
