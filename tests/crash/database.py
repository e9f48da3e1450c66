"""The database under test, read with plain SQL: the tables are the contract, not our models.

The harness never imports pageflows' storage code, so it keeps judging while
the worker and the sender are rewritten. Columns that a newer schema adds
(`possible_duplicate`, `lease_until`) are read when they exist.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "PAGEFLOWS_TEST_POSTGRES_URL"
BUSY_OUTBOX = ("queued", "claimed", "sending")
HARNESS = "pageflows-crash-harness"  # the application_name of the harness's own sessions


@dataclass
class Database:
    """A database of one run: a SQLite file in the work folder, or a fresh PostgreSQL database."""

    kind: str
    url: str
    admin_url: str | None = None
    name: str | None = None

    def drop(self) -> None:
        if self.admin_url is None or self.name is None:
            return
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def create_database(kind: str, workdir: Path) -> Database:
    """A new, empty database; PostgreSQL comes from the server `.ci/postgres.sh` starts."""
    if kind == "sqlite":
        return Database(kind, f"sqlite:///{workdir / 'pageflows.db'}")
    if kind != "postgresql":
        raise ValueError(f"unknown database {kind!r}: sqlite or postgresql")
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        raise RuntimeError(f'{POSTGRES_ENV} is not set: run `eval "$(bash .ci/postgres.sh)"` first')
    name = f"pageflows_crash_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return Database(kind, f"{base}/{name}", admin_url, name)


def kind_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


@dataclass(frozen=True)
class Backlog:
    """Work the service still owes: the run is drained when all of it is zero."""

    inbox_pending: int
    outbox_busy: int  # queued (maybe waiting for a retry), claimed or sending
    follow_ups_pending: int

    @property
    def empty(self) -> bool:
        return self.total == 0

    @property
    def total(self) -> int:
        return self.inbox_pending + self.outbox_busy + self.follow_ups_pending


@dataclass(frozen=True)
class OutboxRow:
    id: int
    contact_id: str
    kind: str
    text: str
    status: str
    reason: str | None
    error: str | None
    attempts: int
    possible_duplicate: bool


class Tables:
    """Read-only views of inbox, outbox and follow_ups, on SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        sqlite = parsed.drivername.startswith("sqlite")
        args = {"timeout": 30} if sqlite else {"application_name": HARNESS}
        self.engine: Engine = create_engine(parsed, connect_args=args)

    def close(self) -> None:
        self.engine.dispose()

    def columns(self, table: str) -> set[str]:
        return {c["name"] for c in inspect(self.engine).get_columns(table)}

    def has_table(self, table: str) -> bool:
        return inspect(self.engine).has_table(table)

    def backlog(self) -> Backlog:
        with self.engine.connect() as c:
            inbox = c.execute(text("SELECT count(*) FROM inbox WHERE status = 'pending'"))
            pending_inbox = int(inbox.scalar_one())
            outbox = c.execute(
                text("SELECT count(*) FROM outbox WHERE status IN ('queued', 'claimed', 'sending')")
            )
            busy = int(outbox.scalar_one())
            follow = c.execute(text("SELECT count(*) FROM follow_ups WHERE status = 'pending'"))
            return Backlog(pending_inbox, busy, int(follow.scalar_one()))

    def finished(self) -> int:
        """Work done so far: events decided, messages settled (sent, skipped, failed),
        follow-ups fired or cancelled. It only grows while the service works; the backlog
        may grow too (one event decided is two messages owed)."""
        with self.engine.connect() as c:
            done = c.execute(
                text(
                    "SELECT (SELECT count(*) FROM inbox WHERE status <> 'pending')"
                    " + (SELECT count(*) FROM outbox"
                    "    WHERE status NOT IN ('queued', 'claimed', 'sending'))"
                    " + (SELECT count(*) FROM follow_ups WHERE status <> 'pending')"
                )
            )
            return int(done.scalar_one())

    def inbox_statuses(self) -> dict[str, int]:
        with self.engine.connect() as c:
            rows = c.execute(text("SELECT status, count(*) FROM inbox GROUP BY status"))
            return {str(status): int(n) for status, n in rows}

    def inbox_problems(self, limit: int = 20) -> list[dict[str, Any]]:
        """Inbox rows that ended neither done nor ignored, with their error, for the report."""
        with self.engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT id, contact_id, status, error FROM inbox"
                    " WHERE status NOT IN ('done', 'ignored') ORDER BY id LIMIT :n"
                ),
                {"n": limit},
            )
            return [dict(r._mapping) for r in rows]

    def cut_connections(self) -> int:
        """PostgreSQL only: end every session of the database but the harness's own, as a
        failover, a restarted pooler or a network cut does; how many were ended."""
        with self.engine.connect() as c:
            ended = c.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND application_name <> :harness"
                ),
                {"harness": HARNESS},
            )
            return int(ended.scalar_one())

    def broadcast_runs(self) -> dict[str, int]:
        """Each started broadcast and how many contacts it was decided for."""
        if not self.has_table("broadcast_runs"):
            return {}
        with self.engine.connect() as c:
            rows = c.execute(text("SELECT name, contacts FROM broadcast_runs"))
            return {str(name): int(n) for name, n in rows}

    def outbox(self) -> list[OutboxRow]:
        flagged = "possible_duplicate" in self.columns("outbox")
        duplicate = "possible_duplicate" if flagged else "NULL"
        query = (
            "SELECT id, contact_id, kind, body, preview, status, reason, detail, error_message,"
            f" attempts, {duplicate} AS possible_duplicate FROM outbox ORDER BY id"
        )
        with self.engine.connect() as c:
            return [_outbox_row(r._mapping) for r in c.execute(text(query))]


def _outbox_row(row: Any) -> OutboxRow:
    body = row["body"]
    if isinstance(body, str):
        body = json.loads(body)
    message = body.get("message") if isinstance(body, dict) else None
    message_text = message.get("text") if isinstance(message, dict) else None
    error = row["error_message"] or row["detail"]
    return OutboxRow(
        id=int(row["id"]),
        contact_id=str(row["contact_id"]),
        kind=str(row["kind"]),
        text=str(message_text if message_text is not None else row["preview"]),
        status=str(row["status"]),
        reason=row["reason"],
        error=error,
        attempts=int(row["attempts"] or 0),
        possible_duplicate=bool(row["possible_duplicate"]),
    )
