"""Statements sent to PostgreSQL in one pipeline: one round trip for several.

Why: psycopg sends a transaction's BEGIN as a round trip of its own before the first
statement, each statement waits for its answer before the next one goes, and COMMIT is
one more; on a busy machine a round trip is 1-2 ms, and a message's way from the webhook
to Facebook was a dozen of them (issue 13). In a pipeline the statements go together and
their answers come back together. Through the driver, because SQLAlchemy's results
cannot wait for a pipeline's sync; the statements are SQLAlchemy's, compiled once, their
values converted as SQLAlchemy converts them (bind processors: aware UTC times), the
rows read back as SQLAlchemy reads them (result processors).

A driver error is raised as SQLAlchemy raises it (an OperationalError is the database
away, for the callers), and a lost connection is invalidated as SQLAlchemy invalidates
it. Another driver's connection (SQLite's: its statements are calls in the process, not
round trips) runs the same statements one by one, so callers need not tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import psycopg
from sqlalchemy import Connection, Dialect, Float
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable, Select
from sqlalchemy.types import TypeEngine

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]]  # one statement, or executemany
Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    construct: Callable[..., Any]  # the statement's `construct_params`
    binds: tuple[tuple[str, Convert], ...]  # the values SQLAlchemy converts, and how
    reads: tuple[Convert | None, ...]  # each selected column as SQLAlchemy reads it

    def values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = dict(self.construct(dict(params)))
        for name, convert in self.binds:
            values[name] = convert(values[name])
        return values

    def rows(self, found: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if not any(self.reads):
            return found
        reads = self.reads
        return [
            tuple(v if read is None else read(v) for read, v in zip(reads, row, strict=True))
            for row in found
        ]


@lru_cache(maxsize=64)
def _compiled(statement: Executable, dialect: Dialect) -> _Compiled:
    """Compiled once per statement (module constants, bound per call) and dialect."""
    compiled = cast(SQLCompiler, cast(ClauseElement, statement).compile(dialect=dialect))
    binds = tuple(
        (name, convert)
        for bind, name in compiled.bind_names.items()
        if (convert := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    )
    reads: tuple[Convert | None, ...] = ()
    if isinstance(statement, Select):
        reads = tuple(_reader(column.type, dialect) for column in statement.selected_columns)
    return _Compiled(str(compiled), compiled.construct_params, binds, reads)


def _reader(kind: TypeEngine[Any], dialect: Dialect) -> Convert | None:
    """What SQLAlchemy does to a column's value as psycopg gives it (aware UTC times). A
    float column's value is psycopg's float already (its processor needs the column's
    type code from a cursor, which a pipeline's plan is made without)."""
    if isinstance(kind, Float):
        return None
    return kind.dialect_impl(dialect).result_processor(dialect, None)


def pipelined_driver(connection: Connection) -> psycopg.Connection[Any] | None:
    """The connection's psycopg connection, or None (another driver: run them one by one)."""
    driver = connection.connection.driver_connection
    return driver if isinstance(driver, psycopg.Connection) else None


def run_pipelined(
    connection: Connection,
    statements: Sequence[tuple[Executable, Params]],
    *,
    commit: bool = False,
) -> list[list[tuple[Any, ...]]]:
    """Each statement's rows (empty for one that returns none), the statements sent in one
    pipeline, after the transaction's BEGIN if none is open yet; with `commit`, the COMMIT
    too: the transaction is then over (SQLAlchemy's own commit after it finds nothing to
    commit). Another driver (SQLite) runs them one by one through SQLAlchemy and leaves the
    commit to the caller's transaction, which ends where the caller asked for `commit`."""
    driver = pipelined_driver(connection)
    if driver is None:
        found: list[list[tuple[Any, ...]]] = []
        for statement, params in statements:
            result = connection.execute(statement, params)
            found.append([tuple(row) for row in result] if result.returns_rows else [])
        return found
    plans = [(_compiled(statement, connection.dialect), params) for statement, params in statements]
    try:
        with driver.pipeline():
            cursors = []
            for plan, params in plans:
                cursor = driver.cursor()
                if isinstance(params, Mapping):
                    cursor.execute(plan.sql, plan.values(params))
                else:
                    cursor.executemany(plan.sql, [plan.values(each) for each in params])
                cursors.append(cursor)
            if commit:
                driver.commit()
        return [
            plan.rows(cursor.fetchall()) if cursor.description is not None else []
            for (plan, _), cursor in zip(plans, cursors, strict=True)
        ]
    except psycopg.Error as exc:
        raise _raised(connection, driver, "; ".join(plan.sql for plan, _ in plans), exc) from exc


def execute_and_commit(connection: Connection, sql: str, params: Mapping[str, Any]) -> None:
    """issue 13 (twelfth session): a driver-level statement (`exec_driver_sql`'s SQL, named
    `%(name)s` parameters) and the transaction's COMMIT in ONE pipeline: one round trip
    for both where the COMMIT was a round trip of its own. The transaction is then over
    (SQLAlchemy's own commit after it finds nothing to commit). Another driver (SQLite)
    runs the statement and leaves the commit to the caller's transaction."""
    driver = pipelined_driver(connection)
    if driver is None:
        connection.exec_driver_sql(sql, dict(params))
        return
    try:
        with driver.pipeline():
            driver.cursor().execute(sql, params)
            driver.commit()
    except psycopg.Error as exc:
        raise _raised(connection, driver, sql, exc) from exc


def _raised(
    connection: Connection, driver: psycopg.Connection[Any], sql: str, exc: psycopg.Error
) -> Exception:
    """The driver's error as SQLAlchemy raises it; a lost connection invalidated."""
    gone = connection.dialect.is_disconnect(cast(Any, exc), cast(Any, driver), None)
    if gone:
        connection.invalidate(exc)
    return DBAPIError.instance(sql, None, exc, psycopg.Error, connection_invalidated=gone)
