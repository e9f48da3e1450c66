"""The database engine: SQLite (WAL) by default, PostgreSQL in production.

Why WAL: the webhook thread writes the inbox while the worker reads and
writes; WAL lets readers and one writer proceed together, and
`busy_timeout` makes a second writer wait instead of failing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import weakref
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError

from pageflows.service.defaults import DEFAULT_URL as DEFAULT_URL  # issue 13: A

# issue 13: E. A pooled PostgreSQL connection is pinged (`SELECT 1`) when it leaves the pool
# only if it sat there this long: one used a moment ago is alive as far as a ping can tell.
PING_IDLE = 1.0  # seconds
_RETURNED = "pageflows_returned_at"
# issue 13. PostgreSQL connections a process keeps, and the most it opens: as many as
# SQLAlchemy's default allowed (5, and 10 more while busy), but kept once opened. The
# default closed the 10 again whenever fewer were in use: a worker sending a broadcast
# at 250/s opened 20-25 connections a second (each a new server process for PostgreSQL),
# and its turns missed rose from 13% to 20% (bench_broadcast.py, load 4).
POOL_SIZE = 15


class DatabaseUrlError(ValueError):
    """PAGEFLOWS_DATABASE_URL cannot be used; the message says why, in one line, without the
    password."""


def shown_url(url: str) -> str:
    """The URL to print, its password (whatever sits between `user:` and the last `@`) as ***.

    Our own split, not SQLAlchemy's: it must also work on URLs SQLAlchemy cannot
    parse, and on a password with an unescaped "@", which SQLAlchemy cuts short.
    """
    head, at, host = url.rpartition("@")
    if not at:
        return url
    scheme, slashes, userinfo = head.rpartition("://")
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}{slashes}{user}{colon and ':***'}@{host}"


def redact(text: str, url: str) -> str:
    """`text` (a driver's error message) with the URL's password, however it was read, as ***."""
    passwords = {url.rpartition("@")[0].rpartition("://")[2].partition(":")[2]}
    with contextlib.suppress(ArgumentError, ValueError):
        passwords.add(str(make_url(url).password or ""))
    for password in sorted(passwords - {""}, key=len, reverse=True):
        for form in (password, quote(password, safe=""), unquote(password)):
            text = text.replace(form, "***")
    return text


def normalise_url(url: str) -> str:
    """`postgresql://` (with any driver named) means psycopg 3 here, the driver we install."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        detail = f" ({redact(str(exc), url)})" if isinstance(exc, ValueError) else ""
        raise DatabaseUrlError(
            f"PAGEFLOWS_DATABASE_URL {shown_url(url)!r} is not a database URL{detail};"
            " use sqlite:///pageflows.db or postgresql://user:pass@host/db"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        # Whatever driver a copied URL names (psycopg2, asyncpg...), pageflows talks to
        # PostgreSQL through psycopg 3, the one it installs.
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite" or driver not in ("", "pysqlite"):
        raise DatabaseUrlError(
            f"PAGEFLOWS_DATABASE_URL uses {parsed.drivername!r}; pageflows supports"
            " sqlite:///FILE and postgresql://user:pass@host/db"
        )
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, pre_ping: bool = True) -> Engine:
    """`pre_ping=False` (PostgreSQL): no `SELECT 1` round trip each time a connection leaves
    the pool; for a caller that retries once itself when a pooled connection turns out dead
    (storage/inbox.py: `store_batch`), where that round trip cost 15-40% of a request."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=0)
    if pre_ping:
        _ping_when_idle(engine)
    _track_backends(engine)
    return engine


# The server processes behind each PostgreSQL engine's open connections (their PIDs).
_BACKENDS: weakref.WeakKeyDictionary[Engine, set[int]] = weakref.WeakKeyDictionary()


def own_backends(engine: Engine) -> set[int]:
    """The PostgreSQL backend PIDs of `engine`'s open connections, kept up to date as the
    pool opens and closes them (a live set, for wake.Listener). issue 13 (sixth session):
    a notification this process sent itself (its decisions' `pageflows_outbox`) rang the
    sender a second time after the in-process bell had: an empty claim (2.6 ms of CPU,
    three statements) after every message."""
    return _BACKENDS.setdefault(engine, set())


def _track_backends(engine: Engine) -> None:
    backends = own_backends(engine)

    @event.listens_for(engine, "connect")
    def _opened(dbapi_connection: Any, _record: Any) -> None:
        backends.add(dbapi_connection.info.backend_pid)

    @event.listens_for(engine, "close")
    def _closed(dbapi_connection: Any, _record: Any) -> None:
        with contextlib.suppress(Exception):  # a connection already broken has no info
            backends.discard(dbapi_connection.info.backend_pid)


def single_statements(engine: Engine) -> Engine:
    """The engine for work done in ONE statement (a read, or an UPDATE that stands alone),
    on PostgreSQL in autocommit (issue 13: E): psycopg sends BEGIN, and then COMMIT or
    ROLLBACK, as round trips of their own, two more for each such statement on the way from
    a webhook event to its answer's send. One statement is atomic on its own and reads one
    snapshot, so its result is the same. SQLite: the engine itself (its transactions are
    local calls, and its driver's autocommit mode changes how it locks)."""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's `pool_pre_ping`, for connections idle over PING_IDLE seconds only (issue
    13: E). The ping is a round trip before every transaction: five of them lay between a
    webhook event stored and its answer's send (candidates, profiles, the decision, the
    claim, the attempt). What it catches, a connection the server dropped (a restart, an
    idle timeout), happens to idle ones; one dropped within the second after its last use
    fails on its first statement instead, an OperationalError that every loop already
    treats as the database away for a moment (nothing is counted; the next try connects
    afresh), as one dropped just after a ping always did. A connection never returned yet
    is new: not pinged either."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned, why = record.info.get(_RETURNED), None
        if returned is None or time.monotonic() - returned < PING_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            alive, why = False, exc
        if not alive:
            # The pool discards this connection and checks out another (a fresh one).
            raise DisconnectionError("the database closed this pooled connection") from why


class SingleWorkerError(RuntimeError):
    """A second worker process on one SQLite database; the message says what to do."""


def hold_sqlite_worker_lock(url: str) -> IO[str] | None:
    """On SQLite, make sure this is the only worker process: an exclusive lock on a file
    beside the database, held until the process ends (the kernel drops it even on
    SIGKILL). SQLite takes one writer at a time and its worker assumes it is alone (it
    ends every lease it finds at start); PostgreSQL takes any number, so returns None.
    """
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database).resolve()
    try:
        handle = path.with_name(path.name + ".worker-lock").open("a+")
    except OSError as exc:
        raise DatabaseUrlError(
            f"cannot use the database {shown_url(url)}: {exc.strerror} ({path.parent});"
            " create the folder or point PAGEFLOWS_DATABASE_URL elsewhere"
        ) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise SingleWorkerError(
            f"another pageflows worker ({holder}) is already working on {path.name}: SQLite"
            " takes one worker process. Stop it, or use PostgreSQL"
            " (PAGEFLOWS_DATABASE_URL=postgresql://...) to run several."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle
