"""Pooled PostgreSQL connections the server dropped (issue 13: E): one that sat idle in the
pool is pinged and replaced before use, as `pool_pre_ping` did; one used a moment ago is
not pinged, and if the server dropped it meanwhile its first statement fails once (the
loops' "database away" path) and the next checkout gets a fresh connection."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from pageflows.service.storage import database
from pageflows.service.storage.database import make_engine

BACKEND = text("SELECT pg_backend_pid()")


def _drop(postgres_url: str, pid: int) -> None:
    """What a server restart or an idle timeout does to one connection."""
    admin_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        first = connection.execute(BACKEND).scalar()
    _drop(postgres_url, int(first or 0))
    monkeypatch.setattr(database, "PING_IDLE", 0.0)  # it has been idle long enough
    with engine.connect() as connection:
        second = connection.execute(BACKEND).scalar()
    assert second and second != first
    engine.dispose()


def test_a_connection_dropped_right_after_its_use_fails_once_then_a_fresh_one_works(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "PING_IDLE", 3600.0)  # used a moment ago: not pinged
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        first = connection.execute(BACKEND).scalar()
    _drop(postgres_url, int(first or 0))
    with pytest.raises(OperationalError), engine.connect() as connection:
        connection.execute(BACKEND)
    with engine.connect() as connection:
        assert connection.execute(BACKEND).scalar() not in (None, first)
    engine.dispose()


def test_a_connection_used_for_single_statements_goes_back_to_transactions(
    postgres_url: str,
) -> None:
    """`single_statements` (autocommit, issue 13: E) shares the pool: a connection it used
    is transactional again for the next caller, whose rollback still undoes its writes."""
    engine = make_engine(postgres_url)
    single = database.single_statements(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n int)"))
    with single.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(RuntimeError), engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (2)"))
        raise RuntimeError("undo it")
    with single.connect() as connection:
        assert connection.execute(text("SELECT n FROM t")).scalars().all() == [1]
    engine.dispose()
