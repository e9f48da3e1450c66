"""The inbox insert as the webhook runs it, on SQLite and PostgreSQL: each event once, in the
order given, every value as it was; one statement compiled once; workers woken only when
something is new; dead connections replaced, not answered 503."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Engine, event, select
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.orm import Session

from pageflows.service.storage.database import make_engine, own_backends
from pageflows.service.storage.inbox import CHUNK_ROWS, _insert_retrying, store_batch
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import InboxEvent
from pageflows.service.wake import INBOX

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
PAGE = "104123456789012"


def row(key: str, contact: str = "6543210987654321", **extra: Any) -> dict[str, Any]:
    return {
        "page_id": PAGE,
        "contact_id": contact,
        "kind": "message",
        "dedup_key": key,
        "occurred_at": NOW - timedelta(seconds=1),
        "payload": {"kind": "message", "text": f"text of {key}", "n": [1, 2.5, None]},
        **extra,
    }


def stored(engine: Engine) -> list[InboxEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


def test_a_batch_with_a_redelivered_and_a_new_event_stores_the_new_one_once(
    engine: Engine,
) -> None:
    assert store_batch(engine, [row("m_1")], NOW) == 1
    assert store_batch(engine, [row("m_1"), row("m_2")], NOW) == 1
    assert store_batch(engine, [row("m_3"), row("m_3")], NOW) == 1  # twice in one body
    assert [r.dedup_key for r in stored(engine)] == ["m_1", "m_2", "m_3"]


def test_rows_keep_their_order_and_every_value(engine: Engine) -> None:
    batch = [row("m_b", contact="22"), row("m_a", contact="11", kind="postback")]
    batch.append(row("m_c", contact=None, kind="unknown", occurred_at=None))
    assert store_batch(engine, batch, NOW) == 3
    rows = stored(engine)
    assert [(r.dedup_key, r.contact_id, r.kind) for r in rows] == [
        ("m_b", "22", "message"),
        ("m_a", "11", "postback"),
        ("m_c", None, "unknown"),
    ]
    first = rows[0]
    assert first.occurred_at == NOW - timedelta(seconds=1) and first.received_at == NOW
    assert first.payload == {"kind": "message", "text": "text of m_b", "n": [1, 2.5, None]}
    assert first.status == "pending" and first.attempts == 0 and rows[2].occurred_at is None


def test_a_body_larger_than_one_statement_is_stored_whole(engine: Engine) -> None:
    keys = [f"m_{i}" for i in range(CHUNK_ROWS * 2 + 7)]
    assert store_batch(engine, [row(k) for k in keys[: CHUNK_ROWS + 3]], NOW) == CHUNK_ROWS + 3
    assert store_batch(engine, [row(k) for k in keys], NOW) == len(keys) - CHUNK_ROWS - 3
    assert [r.dedup_key for r in stored(engine)] == keys


def test_the_reference_insert_is_compiled_once_and_then_found_in_the_cache(
    engine: Engine,
) -> None:
    """The SQLAlchemy path (`_insert_retrying`: bodies of over 500 events, and every failure
    of the direct one) compiles each size once."""
    hits: list[Any] = []

    @event.listens_for(engine, "after_cursor_execute")
    def seen(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any) -> None:
        if "INSERT INTO inbox" in statement:
            hits.append(context.cache_hit is CacheStats.CACHE_HIT)

    for i in range(3):
        _insert_retrying(engine, [row(f"one_{i}")], NOW)
    for i in range(2):
        _insert_retrying(engine, [row(f"two_{i}a"), row(f"two_{i}b")], NOW)
    assert hits == [False, True, True, False, True]


def notifications(url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as listener:
        listener.execute(f"LISTEN {INBOX}")
        yield listener


def drain(listener: psycopg.Connection[Any]) -> int:
    return len(list(itertools.islice(listener.notifies(timeout=0.5), 10)))


def test_workers_are_woken_when_something_is_new_and_only_then(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pre_ping=False)
    upgrade(engine)
    listening = notifications(postgres_url)
    listener = next(listening)
    assert store_batch(engine, [row("m_1"), row("m_2")], NOW) == 2
    assert drain(listener) == 1
    assert store_batch(engine, [row("m_1")], NOW) == 0
    assert drain(listener) == 0
    assert store_batch(engine, [row(f"k{i}") for i in range(CHUNK_ROWS + 1)], NOW) == 501
    assert drain(listener) == 1  # one transaction, one notification (PostgreSQL folds them)
    listening.close()
    engine.dispose()


def test_connections_the_server_dropped_are_replaced_not_answered_503(postgres_url: str) -> None:
    """The database restarted (here: every session of the engine was cut, the direct
    insert's held connection and the pool's): the webhook's engine, which pings nothing,
    finds out on the insert, and stores the batch on a fresh connection, once."""
    engine = make_engine(postgres_url, pre_ping=False)
    upgrade(engine)
    assert store_batch(engine, [row("m_1")], NOW) == 1
    with engine.connect() as connection:  # one in the pool too
        connection.exec_driver_sql("SELECT 1")
    backends = sorted(own_backends(engine))
    assert len(backends) == 2
    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as admin:
        for backend in backends:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    assert store_batch(engine, [row("m_1"), row("m_2")], NOW) == 1
    assert store_batch(engine, [row("m_3")], NOW) == 1
    assert [r.dedup_key for r in stored(engine)] == ["m_1", "m_2", "m_3"]
    assert len(own_backends(engine) - set(backends)) == 2  # the new held one, the pool's
    engine.dispose()
