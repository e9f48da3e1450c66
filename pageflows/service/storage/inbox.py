"""Writing webhook batches into the inbox, once each."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    TextClause,
    bindparam,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from pageflows.service.storage.database import POOL_SIZE, own_backends
from pageflows.service.storage.models import InboxEvent
from pageflows.service.wake import INBOX

log = logging.getLogger("pageflows.storage")
CHUNK_ROWS = 500
# SQLite: the held writing connection's commits between two checkpoints of the WAL, made by
# a thread of their own (`_Checkpointer`); a commit of the webhook writes 5-7 pages, so
# about SQLite's own default of a checkpoint every 1,000 pages.
CHECKPOINT_EVERY = 150
# SQLite: frames in the WAL (about 4 KB each) past which a checkpoint holds the writers for
# the few pages committed while it ran, so that the WAL is written from its start again:
# 24 MB, about 4 checkpoints' worth of commits (`_Checkpointer`).
RESTART_FRAMES = 6000
_SQLITE_WRITER = threading.Lock()
# Each SQLite engine's writing connection (`_held_sqlite`); dropped with the engine.
_HELD: weakref.WeakKeyDictionary[Engine, Any] = weakref.WeakKeyDictionary()
_PG_IDLE = 0  # psycopg's TransactionStatus.IDLE: no transaction open on the connection


@dataclass(frozen=True, slots=True)
class JsonText:
    """A row's payload already written as JSON text (pydantic's `model_dump_json`), bound
    as it is instead of made into Python values and serialised again: that took 7 of the
    webhook's 10 µs an event for its payload (issue 13: ingest). The reference path, which
    binds through the column's JSON type, decodes it first (`_plain`)."""

    text: str


def _plain(value: Any) -> Any:
    """A column's value as SQLAlchemy's types bind it: a `JsonText` as its document."""
    return json.loads(value.text) if type(value) is JsonText else value


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
    direct = _insert_direct(engine, rows, received_at)
    if direct is not None:
        return direct
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
        f"{column}_{i}": _plain(row.get(column))
        for i, row in enumerate(chunk)
        for column in _COLUMNS
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
def _statement(dialect: str, rows: int, returning: bool = True) -> TextClause:
    """The insert of `rows` rows, written once per dialect and size, so SQLAlchemy compiles
    it once and finds it in its cache after that. Built as `insert().values(list_of_dicts)`,
    a multi-row statement has no cache key and was compiled on every request (a quarter of
    a request's time in the profile); the columns keep their types, so values are bound as
    before (aware UTC datetimes, JSON).

    PostgreSQL: `WITH new AS (INSERT ... RETURNING id) SELECT count(*), pg_notify(...)`,
    the number of new rows and the workers' wake-up (only when there are new ones,
    delivered at commit) in the insert's own round trip.

    `returning=False`: without `RETURNING id`, for SQLite's direct insert, which counts
    the new rows by the driver's `rowcount` (`_run_sqlite`).
    """
    names = ", ".join(_COLUMNS)
    values = ", ".join("(" + ", ".join(f":{c}_{i}" for c in _COLUMNS) + ")" for i in range(rows))
    insert = (
        f"INSERT INTO {_TABLE_NAME} ({names}) VALUES {values}"
        " ON CONFLICT (page_id, dedup_key) DO NOTHING"
    )
    if returning:
        insert += " RETURNING id"
    if dialect == "postgresql":
        insert = (
            f"WITH new AS ({insert}) SELECT count(*),"
            f" CASE WHEN count(*) > 0 THEN pg_notify('{INBOX}', '') END FROM new"
        )
    return text(insert).bindparams(
        *(bindparam(f"{c}_{i}", type_=_TABLE.c[c].type) for i in range(rows) for c in _COLUMNS)
    )


@dataclass(frozen=True)
class _Direct:
    """The insert of `rows` rows as the driver receives it: the SQL SQLAlchemy compiles from
    `_statement` (placeholders, PostgreSQL's casts), the parameters' order when the driver
    takes them by position, and each column's own bind conversion (aware UTC, JSON)."""

    sql: str
    order: tuple[str, ...] | None
    convert: tuple[Callable[[Any], Any] | None, ...]
    in_order: bool = False  # `order` is the rows' values row by row, column by column


@lru_cache(maxsize=64)
def _names(rows: int) -> tuple[str, ...]:
    """The parameters' names (`page_id_0`...) row by row, column by column, as `_bound`
    converts the values."""
    return tuple(f"{column}_{i}" for i in range(rows) for column in _COLUMNS)


@lru_cache(maxsize=64)
def _direct(dialect: Dialect, rows: int) -> _Direct:
    """Built once per engine's dialect and row count, from the same statement and column
    types the SQLAlchemy path uses, so both bind the same values into the same SQL."""
    # SQLite's counts its new rows by the driver's rowcount (`_run_sqlite`): no RETURNING.
    compiled = _statement(dialect.name, rows, dialect.name != "sqlite").compile(dialect=dialect)
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    convert = tuple(
        _TABLE.c[column].type.dialect_impl(dialect).bind_processor(dialect) for column in _COLUMNS
    )
    return _Direct(str(compiled), order, convert, order == _names(rows))


def _insert_direct(
    engine: Engine, rows: Sequence[dict[str, Any]], received_at: datetime
) -> int | None:
    """The common case (one statement's worth of rows) on the driver's connection itself:
    SQLAlchemy's execution (context, result, events, Connection and transaction objects)
    was about half of a webhook request's time in the profile, twice SQLite's own work.

    None when it did not store: any failure, of the database or of a value, and the
    caller runs the SQLAlchemy path (`_insert_retrying`), the reference, which gives the
    answer (the 503, `Unstorable`, the retry on a fresh connection) exactly as before.
    Nothing is doubled by running both: a failed attempt committed nothing, or (its
    connection died while committing) committed rows the reference then finds by their
    dedup keys.
    """
    dialect = engine.dialect
    if len(rows) > CHUNK_ROWS or dialect.name not in ("sqlite", "postgresql"):
        return None
    plan = _direct(dialect, len(rows))
    try:
        values = _bound(plan, rows, received_at)
    except Exception:  # a value no column takes: the reference path says which, as before
        return None
    if dialect.name == "postgresql":
        return _run_postgres(engine, plan.sql, values)
    return _commit_sqlite(engine, plan.sql, values)


def _bound(
    plan: _Direct, rows: Sequence[dict[str, Any]], received_at: datetime
) -> dict[str, Any] | list[Any]:
    """The rows' values converted as SQLAlchemy binds them, keyed as the SQL names them
    (`page_id_0`...), or in the SQL's order for a driver that takes them by position.

    issue 13: made as one list, row by row, which is the SQL's order on SQLite
    (`in_order`): no name formatted for each value, no dictionary to read them back from.
    """
    values: list[Any] = []
    for row in rows:
        full = {**row, "received_at": received_at, "status": "pending"}
        for column, convert in zip(_COLUMNS, plan.convert, strict=True):
            value = full.get(column)
            if type(value) is JsonText:
                values.append(value.text)  # JSON's bind made this text
            else:
                values.append(value if convert is None else convert(value))
    if plan.in_order:
        return values
    named = dict(zip(_names(len(rows)), values, strict=True))
    if plan.order is None:
        return named
    return [named[name] for name in plan.order]


def _run_postgres(engine: Engine, sql: str, values: dict[str, Any] | list[Any]) -> int | None:
    """Execute on this thread's held driver connection (`_held_postgres`); how many rows
    were new, or None.

    PostgreSQL runs the one statement in autocommit (atomic on its own, committed when it
    returns: one round trip, as the SQLAlchemy path). A connection that turned out dead
    is closed and the reference path retries on the pool's (None). A database that
    cannot be reached or is busy raises, as SQLAlchemy would (the 503), without a second
    wait for the same refusal. Any other failure (a value refused: the statement alone
    failed, nothing began) is left to the reference path to report (None).
    """
    dbapi = engine.dialect.loaded_dbapi
    held = _held_postgres(engine)
    if held is None:
        return None  # half the pool is held by other threads: the reference path
    driver, cursor = held.driver, held.cursor
    try:
        cursor.execute(sql, values)
        return int(cursor.fetchone()[0])
    except Exception as exc:
        disconnected = isinstance(exc, dbapi.Error) and engine.dialect.is_disconnect(
            exc, driver, cursor
        )
        if disconnected or driver.closed or driver.info.transaction_status != _PG_IDLE:
            _drop_postgres(engine, held)
        if not disconnected and isinstance(exc, dbapi.OperationalError):
            raise _wrapped(engine, exc, sql, values) from exc
        # Else a value the database refused, or a connection the reference path finds
        # dead too and replaces: it says which, or stores the batch.
        return None


@dataclass(frozen=True)
class _PgConnection:
    """A thread's held connection, its cursor, and its server process (tracked in
    `own_backends` while it is open; a broken connection no longer tells it)."""

    driver: Any
    cursor: Any
    backend: int
    pooled: Any  # the pool's handle on it: checked out for as long as it is held


class _PostgresHeld:
    """An engine's driver connections for the direct insert: one per thread of the web
    process, held between requests, in autocommit for good, each with its cursor.

    Held checked out of the engine's pool, so they count in its size (`POOL_SIZE`): a
    web process opens no more connections than before (a CI run of the whole suite
    found PostgreSQL's 100 taken when they were held beside the pool). At most half the
    pool is held (`HELD_MAX`); a thread beyond that inserts through the reference path.

    Why: taken from the pool and handed back for every request (the pool's checkout and
    return, its reset, a new cursor, autocommit on and off again) the insert cost 2-2.5
    times the client CPU it costs on a held connection: in process, 2,000 bench bodies
    in turns of 400 (load 6), 248 us against 115 us a request (median of 8 turns); a
    bare `SELECT 1` 50-80 us against 15-21 us. A thread has one request at a time, so
    its connection is never shared; a web process holds `--threads` of them."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.open: list[_PgConnection] = []  # every thread's, closed at `dispose()`


_PG_HELD: weakref.WeakKeyDictionary[Engine, _PostgresHeld] = weakref.WeakKeyDictionary()
HELD_MAX = POOL_SIZE // 2  # the rest of the pool: health checks, the reference path
_PG_HELD_LOCK = threading.Lock()


def _held_postgres(engine: Engine) -> _PgConnection | None:
    """This thread's connection of `engine`, taken from the pool at first use (its
    connect events run: the backend is tracked) and kept checked out; None when half
    the pool is held already."""
    holder = _PG_HELD.get(engine)
    if holder is None:
        with _PG_HELD_LOCK:
            holder = _PG_HELD.get(engine)
            if holder is None:
                holder = _PG_HELD[engine] = _PostgresHeld()
                _on_dispose(engine)
    held: _PgConnection | None = getattr(holder.local, "held", None)
    if held is not None:
        return held
    with holder.lock:
        if len(holder.open) >= HELD_MAX:
            return None
    try:
        pooled = engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(engine, exc, None, None) from exc
    driver: Any = pooled.dbapi_connection
    try:
        driver.autocommit = True
        held = _PgConnection(driver, driver.cursor(), driver.info.backend_pid, pooled)
    except Exception:
        with contextlib.suppress(Exception):
            own_backends(engine).discard(driver.info.backend_pid)
            pooled.invalidate()
        raise
    holder.local.held = held
    with holder.lock:
        holder.open.append(held)
    return held


def _drop_postgres(engine: Engine, held: _PgConnection) -> None:
    """This thread's connection is closed; its next insert opens a fresh one."""
    holder = _PG_HELD.get(engine)
    if holder is not None:
        if getattr(holder.local, "held", None) is held:
            holder.local.held = None
        with holder.lock, contextlib.suppress(ValueError):
            holder.open.remove(held)
    _close_postgres(engine, held)


def _close_postgres(engine: Engine, held: _PgConnection) -> None:
    own_backends(engine).discard(held.backend)
    with contextlib.suppress(Exception):  # already broken: closed is what we want
        held.pooled.invalidate()  # closed, and its place in the pool free again
    with contextlib.suppress(Exception):
        held.driver.close()


@dataclass
class _Job:
    """One request's insert, waiting for a group commit (`_commit_sqlite`)."""

    sql: str
    values: Any
    new: int | None = None
    error: Exception | None = None
    done: bool = False


@dataclass
class _Group:
    """An engine's inserts waiting for the writer, and whether a thread is writing now."""

    waiting: list[_Job]
    writing: bool = False


_GROUPS_LOCK = threading.Condition(threading.Lock())
_GROUPS: weakref.WeakKeyDictionary[Engine, _Group] = weakref.WeakKeyDictionary()


def _commit_sqlite(engine: Engine, sql: str, values: Any) -> int | None:
    """SQLite: this request's insert, committed together with those of the requests that
    came while another's commit ran (group commit): one thread (the first to find no
    one writing) inserts every waiting request's rows, each its own statement, and
    commits them in one transaction; each request returns (and answers 200) only after
    that commit. Why: a commit writes every page the insert touched (the table's and its
    five indexes' leaves) into the WAL again, and a checkpoint copies them back, so one
    commit for 2-4 requests costs about what one did: 35-40% of SQLite's time per insert
    in a loop of 20,000 (group of 4 against 1). A request that fails alone still gets
    its own answer (`_run_group`)."""
    job = _Job(sql, values)
    with _GROUPS_LOCK:
        group = _GROUPS.get(engine)
        if group is None:
            group = _GROUPS[engine] = _Group([])
        group.waiting.append(job)
        while group.writing and not job.done:
            _GROUPS_LOCK.wait()
        if not job.done:
            group.writing = True
            batch, group.waiting = group.waiting, []
    if not job.done:
        try:
            with _SQLITE_WRITER:
                _run_group(engine, batch)
        except Exception as exc:  # not one job's: every job of the group is answered by it
            for each in batch:
                if each.new is None and each.error is None:
                    each.error = exc
        finally:
            with _GROUPS_LOCK:
                group.writing = False
                for each in batch:
                    each.done = True
                _GROUPS_LOCK.notify_all()
    if job.error is not None:
        raise job.error
    return job.new


def _run_group(engine: Engine, jobs: list[_Job]) -> None:
    """The jobs' inserts and one commit on the held connection (under `_SQLITE_WRITER`).

    When it fails: a busy or broken database (OperationalError: locked after the busy
    timeout, disk full, I/O) fails every job of the group alike, as it would have each
    of them (a 503: Facebook redelivers), without waiting once more per job; any other
    failure (a value the database refused) is one job's: each then runs alone, in its
    own transaction, so that the others are stored and only that one gets the
    reference path's answer."""
    if len(jobs) > 1:
        try:
            driver = _held_sqlite(engine)
            driver.execute("BEGIN")  # the held connection is in autocommit (`_held_sqlite`)
            news = [driver.execute(job.sql, job.values).rowcount for job in jobs]
            driver.commit()
            _committed(engine)
        except BaseException as exc:  # closing rolls back the whole group
            _drop_held(engine)  # even when interrupted: never left inside its BEGIN
            if not isinstance(exc, Exception):
                raise
            if isinstance(exc, engine.dialect.loaded_dbapi.OperationalError):
                for job in jobs:
                    job.error = _wrapped(engine, exc, job.sql, job.values)
                return
        else:
            for job, new in zip(jobs, news, strict=True):
                job.new = new
            return
    for job in jobs:
        try:
            job.new = _run_sqlite(engine, job.sql, job.values)
        except Exception as exc:  # the job's own answer, raised in its thread
            job.error = exc


def _run_sqlite(engine: Engine, sql: str, values: Any) -> int | None:
    """SQLite (under `_SQLITE_WRITER`): the insert, committed, on this process's one
    writing connection, held between requests instead of taken from the pool and handed
    back each time (the pool's checkout and its return's rollback were an eighth of a
    request in the profile; the lock lets one thread write at a time anyway). Any failure
    closes it: the next insert opens a fresh one, and the reference path runs, or the
    busy database raises."""
    driver = _held_sqlite(engine)
    try:
        # One statement in autocommit (`_held_sqlite`): it has committed when `execute`
        # returns (SQLite commits when the statement ends), before the webhook answers.
        # issue 13: its new rows counted by SQLite's own count of the rows it inserted
        # (`sqlite3_changes`: a row ON CONFLICT DO NOTHING skipped is not one), not read
        # back by RETURNING: one step of the statement (one release of the interpreter
        # lock) instead of two, and no rows made for the count.
        new: int = driver.execute(sql, values).rowcount
        _committed(engine)
        return new
    except Exception as exc:  # closing rolls back what the statement began
        _drop_held(engine)
        if isinstance(exc, engine.dialect.loaded_dbapi.OperationalError):
            raise _wrapped(engine, exc, sql, values) from exc
        return None


def _held_sqlite(engine: Engine) -> Any:
    """The engine's writing connection: taken from its pool once (with the pool's connect
    pragmas: WAL, busy timeout) and detached from it, closed when the engine is disposed."""
    driver = _HELD.get(engine)
    if driver is not None and driver.in_transaction:
        # A group's BEGIN that was never ended: an insert in autocommit would join it and
        # answer before any commit. Closing rolls it back; none of its inserts was answered.
        _drop_held(engine)
        driver = None
    if driver is None:
        try:
            pooled = engine.raw_connection()
        except engine.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(engine, exc, None, None) from exc
        pooled.detach()
        opened: Any = pooled.dbapi_connection
        # issue 13: autocommit: an insert alone needs no BEGIN and COMMIT of its own (each
        # prepared from its text again by the driver, and each a release of the interpreter
        # lock, a hand-over to another thread under load); a group opens its transaction.
        opened.isolation_level = None
        driver = _HELD[engine] = opened
        _on_dispose(engine)
        if _Checkpointer.wanted(engine):
            # Its commits never checkpoint; `_Checkpointer` does it off the request path.
            driver.execute("PRAGMA wal_autocheckpoint=0")
            _CHECKPOINTERS.setdefault(engine, _Checkpointer(engine))
    return driver


class _Checkpointer:
    """SQLite: checkpoints of the WAL for the held writing connection, on a thread of their
    own, not inside a request's commit.

    Why: a commit that crosses SQLite's `wal_autocheckpoint` (1,000 pages) copies the
    WAL's pages into the database file and syncs both files before it returns; in a loop
    of 6,000 single-event commits, the 1% that did took 60% of all the commits' time
    (median 27 us, p99 5-7 ms, the longest 90-225 ms on this machine's disk), and the
    request whose commit it was holds the writer lock meanwhile: every thread of the web
    process waits behind it. A PASSIVE checkpoint here lets the writers go on (WAL mode),
    and its waits for the disk let go of the interpreter lock.

    Durability is unchanged: a 200 follows the commit, which is in the WAL (synchronous
    NORMAL: safe from a crash of the process, as before); a checkpoint only moves
    committed pages into the database file. If this thread lags or stops, the WAL grows
    until it runs again; the worker's connections still checkpoint at SQLite's default.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = weakref.ref(engine)  # the thread ends when the engine is gone
        self.commits = 0  # counted under _SQLITE_WRITER
        self.wake = threading.Event()
        self.stopped = False
        threading.Thread(target=self._run, name="pf-sqlite-checkpoint", daemon=True).start()

    @staticmethod
    def wanted(engine: Engine) -> bool:
        database = engine.url.database
        return bool(database) and database != ":memory:" and "mode=memory" not in str(engine.url)

    def committed(self) -> None:
        """After a commit of the held connection (under `_SQLITE_WRITER`)."""
        self.commits += 1
        if self.commits >= CHECKPOINT_EVERY:
            self.commits = 0
            self.wake.set()

    def stop(self) -> None:
        self.stopped = True
        self.wake.set()

    def _run(self) -> None:
        connection: Any = None
        try:
            while not self.stopped:
                if not self.wake.wait(timeout=30):
                    if self.engine() is None:
                        return
                    continue
                self.wake.clear()
                engine = self.engine()
                if self.stopped or engine is None:
                    return
                try:
                    if connection is None:
                        pooled = engine.raw_connection()
                        pooled.detach()
                        connection = pooled.dbapi_connection
                    # The pages copied and synced while the writers go on. Once the WAL is
                    # past RESTART_FRAMES, the few committed meanwhile too, with the writers
                    # held, so that the WAL was copied whole and the next commit writes it
                    # from its start again (else it would only grow: a writer always comes
                    # in between). Not every time: that pass syncs the WAL and the database
                    # file while every request waits for the writer, 9 ms on average and up
                    # to 28 ms under the ingest benchmark's load (4 a second at half its
                    # peak rate), the most of its p99 on SQLite.
                    _busy, frames, _copied = connection.execute(
                        "PRAGMA wal_checkpoint(PASSIVE)"
                    ).fetchone()
                    if frames >= RESTART_FRAMES:
                        with _SQLITE_WRITER:
                            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except Exception as exc:  # the next one tries again, on a fresh connection
                    log.warning("SQLite checkpoint failed: %s", exc)
                    with contextlib.suppress(Exception):
                        connection.close()
                    connection = None
                del engine
        finally:
            with contextlib.suppress(Exception):
                if connection is not None:
                    connection.close()


_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, _Checkpointer] = weakref.WeakKeyDictionary()


def _committed(engine: Engine) -> None:
    checkpointer = _CHECKPOINTERS.get(engine)
    if checkpointer is not None:
        checkpointer.committed()


def _on_dispose(engine: Engine) -> None:
    if not event.contains(engine, "engine_disposed", _disposed):
        event.listen(engine, "engine_disposed", _disposed)


def _disposed(engine: Engine) -> None:
    """`engine.dispose()` closes the pool's connections; the held ones go with them (SQLite's
    writing connection and its checkpointing thread, PostgreSQL's of every thread)."""
    with _SQLITE_WRITER:
        _drop_held(engine)
        checkpointer = _CHECKPOINTERS.pop(engine, None)
    if checkpointer is not None:
        checkpointer.stop()
    holder = _PG_HELD.get(engine)
    if holder is not None:
        with holder.lock:
            held, holder.open = holder.open, []
        holder.local = threading.local()  # every thread opens a fresh one at its next insert
        for each in held:
            _close_postgres(engine, each)


def _drop_held(engine: Engine) -> None:
    driver = _HELD.pop(engine, None)
    if driver is not None:
        with contextlib.suppress(Exception):  # already broken: closed is what we want
            driver.close()


def _wrapped(engine: Engine, error: Exception, sql: str | None, values: Any) -> StatementError:
    """The driver's error as SQLAlchemy's execution raises it (`OperationalError`: the 503),
    so that a database that is down or busy is reported once, not waited for twice."""
    return DBAPIError.instance(
        sql,
        values,
        error,
        engine.dialect.loaded_dbapi.Error,
        hide_parameters=engine.hide_parameters,
        dialect=engine.dialect,
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
