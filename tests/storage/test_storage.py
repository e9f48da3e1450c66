"""Migrations, the inbox's once-only insert and aware datetimes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from pageflows.service.storage.database import make_engine
from pageflows.service.storage.inbox import pending_count, store_batch
from pageflows.service.storage.migrate import alembic_config, upgrade
from pageflows.service.storage.models import Base, FollowUp, UTCDateTime

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def row(key: str) -> dict[str, object]:
    return {
        "page_id": "104123456789012",
        "contact_id": "6543210987654321",
        "kind": "message",
        "dedup_key": key,
        "occurred_at": NOW,
        "payload": {"kind": "message", "text": "hi"},
    }


def test_migrations_create_every_table_and_run_twice(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"inbox", "contacts", "outbox", "follow_ups", "comment_replies"} <= tables


WRITE_INDEXES = {
    "inbox": {"ix_inbox_status", "ix_inbox_page_id"},
    "outbox": {"ix_outbox_contact_id", "ix_outbox_message_id"},
    "follow_ups": {"ix_follow_ups_status", "ix_follow_ups_due_at"},
}


def indexes(engine: Engine, table: str) -> set[str]:
    return {str(index["name"]) for index in inspect(engine).get_indexes(table)}


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_indexes_no_query_reads_are_dropped_and_come_back_on_downgrade(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    for table, dropped in WRITE_INDEXES.items():
        assert not dropped & indexes(engine, table)
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if any(table in str(d) for table in WRITE_INDEXES)] == []
    downgrade(engine, "0010_follow_ups_pending_due")
    for table, dropped in WRITE_INDEXES.items():
        assert dropped <= indexes(engine, table)
    upgrade(engine)
    for table, dropped in WRITE_INDEXES.items():
        assert not dropped & indexes(engine, table)
    engine.dispose()


def test_a_redelivered_event_is_stored_once(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert store_batch(engine, [row("m_1"), row("m_2")], NOW) == 2
    assert store_batch(engine, [row("m_2"), row("m_3")], NOW) == 1
    assert pending_count(engine) == 3


def test_datetimes_come_back_aware_and_in_utc(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    berlin = NOW.astimezone(UTC) + timedelta(hours=1)
    with Session(engine) as session, session.begin():
        session.add(
            FollowUp(
                key="k",
                page_id="p",
                contact_id="c",
                purpose="follow_up",
                due_at=berlin,
                spec={},
                status="pending",
                created_at=NOW,
            )
        )
    with Session(engine) as session:
        due = session.scalar(select(FollowUp.due_at))
    assert due == berlin and due is not None and due.tzinfo is not None


def test_a_stored_time_comes_back_to_the_microsecond_in_the_stdlib_utc(database_url: str) -> None:
    """What the policy, the "because" texts and `_utc` rely on: the same instant, every
    field kept, in `datetime.UTC` itself (SQLite keeps no zone: a naive time is read as UTC)."""
    engine = make_engine(database_url)
    upgrade(engine)
    stored = datetime(2026, 11, 24, 9, 0, 5, 123456, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        session.add(
            FollowUp(
                key="k", page_id="p", contact_id="c", purpose="follow_up", due_at=stored,
                spec={}, status="pending", created_at=NOW,
            )
        )  # fmt: skip
    with Session(engine) as session:
        due = session.scalar(select(FollowUp.due_at))
    assert due == stored and due is not None and due.tzinfo is UTC
    assert (due.microsecond, due.fold, type(due)) == (123456, 0, datetime)


def test_a_naive_time_read_is_the_same_datetime_as_replacing_its_zone() -> None:
    read = UTCDateTime().process_result_value
    for naive in (datetime(2026, 11, 24, 9, 0, 5, 7), datetime(2026, 10, 25, 2, 30, fold=1)):
        got = read(naive, sqlite.dialect())
        expected = naive.replace(tzinfo=UTC)
        assert got == expected and got is not None and got.tzinfo is UTC
        assert (got.fold, got.microsecond, type(got)) == (naive.fold, naive.microsecond, datetime)
