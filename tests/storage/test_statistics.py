"""The outbox's planner statistics follow a broadcast's rows (storage/statistics.py).

Until they do, PostgreSQL plans the sender's claim as if the table were as small as it
was before the broadcast: seconds a claim (4.2 s at 4,000 queued rows, 10 ms after).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, text

from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import OutboxMessage
from pageflows.service.storage.statistics import analyze_if_stale

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))
from test_server_sender import PAGE, START, Outbox, ScriptedFacebook

QUEUED = 3000  # a broadcast's first few seconds of decisions


# PostgreSQL only: the conftest's `engine`, on the suite's PostgreSQL server.
on_postgres = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def queue_broadcast(engine: Engine, count: int) -> None:
    """`count` deliveries queued in one transaction, as the broadcast's decider does, and
    this session's counts of changed rows handed to PostgreSQL's statistics at once (else a
    backend hands them over within seconds of going idle)."""
    rows = [
        {
            "page_id": PAGE,
            "contact_id": str(5550000000 + n),
            "kind": "message",
            "body": {"recipient": {"id": str(5550000000 + n)}, "message": {"text": "Sale!"}},
            "preview": "Sale!",
            "messaging_type": "MESSAGE_TAG",
            "status": "queued",
            "created_at": START,
            "expires_at": START + timedelta(days=1),
            "broadcast": "spring-sale",
        }
        for n in range(count)
    ]
    with engine.begin() as connection:
        # Autovacuum would analyze the table too, at a moment of its own: not in these tests.
        connection.execute(text("ALTER TABLE outbox SET (autovacuum_enabled = off)"))
        connection.execute(insert(OutboxMessage), rows)
        connection.execute(text("SELECT pg_stat_force_next_flush()"))


def planner_rows(engine: Engine) -> float:
    """How many rows PostgreSQL's planner believes the outbox holds."""
    with engine.connect() as connection:
        return float(
            connection.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = 'outbox'")
            ).scalar_one()
        )


@on_postgres
def test_a_table_far_ahead_of_its_statistics_is_analyzed_once(engine: Engine) -> None:
    assert planner_rows(engine) <= 0  # never analyzed: the planner's guess is its own
    queue_broadcast(engine, QUEUED)
    assert analyze_if_stale(engine, "outbox") is True
    assert planner_rows(engine) == QUEUED
    assert analyze_if_stale(engine, "outbox") is False  # nothing changed since


@on_postgres
def test_a_few_changes_leave_the_statistics_to_autovacuum(engine: Engine) -> None:
    queue_broadcast(engine, 50)
    assert analyze_if_stale(engine, "outbox") is False
    assert planner_rows(engine) <= 0


@on_postgres
def test_a_sender_claiming_after_a_broadcast_was_queued_refreshes_them(engine: Engine) -> None:
    queue_broadcast(engine, QUEUED)
    box = Outbox(engine, ScriptedFacebook())
    claimed = box.sender.claim(200)  # the page's pace allows two seconds' worth of them
    assert 0 < len(claimed) <= 200
    assert len({row.contact_id for row in claimed}) == len(claimed)
    assert [row.id for row in claimed] == sorted(row.id for row in claimed)
    assert planner_rows(engine) == QUEUED


def test_sqlite_is_never_analyzed(tmp_path: Path) -> None:
    """SQLite plans without such statistics: ANALYZE would only add its sqlite_stat1."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pageflows.db'}")
    upgrade(engine)
    assert analyze_if_stale(engine, "outbox") is False
    with engine.connect() as connection:
        tables = connection.execute(text("SELECT name FROM sqlite_master")).scalars().all()
    assert "sqlite_stat1" not in tables
    engine.dispose()
