"""issue 13: F2. A batch's rows written through the database driver, one statement a table.

Why not SQLAlchemy's executemany: for every row it builds a parameter dictionary and
runs every value through its column type's processor, about a fifth of a due
follow-up's cost; and on PostgreSQL psycopg runs an executemany as one statement
per row (pipelined), so a batch of 100 follow-ups was 300 statements for the server
to parse, plan and answer one by one.

Here the values are converted once per value by the column type's own bind
processor (taken from SQLAlchemy once per column, so a value is stored exactly as
the ORM stores it: the same UTC text for a time on SQLite, the same JSON), and:

- on SQLite, the driver's `executemany` over plain tuples (a local call per row);
- on PostgreSQL, ONE statement per table and batch, the rows as one JSON document
  (`json_to_recordset`), its text fixed for a table and column list, so psycopg
  prepares it once. Not arrays (`unnest`): psycopg dumps a list element by element in
  Python, escaping each string, which cost more than all the rest together.

The statements run on the session's connection, in its transaction: what the batch
writes still commits or rolls back as one with the rest of the batch. Between
`defer_writes` and `run_deferred`, PostgreSQL's statements are kept and sent at the end
as ONE statement (each a data-modifying `WITH` of it): a round trip for all of a
batch's writes instead of one each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from itertools import compress
from operator import ne
from typing import Any, Literal

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, String, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from pageflows.service.storage.pipelined import execute_and_commit

Convert = Callable[[Any], Any]
Lock = Literal["update", "skip_locked"] | None
# The session's deferred writes (PostgreSQL): each (SQL with named parameters, parameters).
DEFERRED = "pageflows.bulk.deferred"
_PARAMETER = re.compile(r"%\((\w+)\)s")


class JsonText(str):
    """A JSON column's value already serialised (pydantic's `model_dump_json`): stored as
    is, where another value is serialised by the column's processor."""

    __slots__ = ()


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT `rows` (values in `columns`' order) into `table`, in the order given (on
    PostgreSQL too: the ids a sequence gives follow it, as the outbox's order needs)."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    # issue 13 (eleventh session): a column NULL in every row is left out (its default is
    # NULL: one with a server default is always written): fewer values to bind, and on
    # PostgreSQL a smaller document to encode and read (an outbox row's tag, reason,
    # detail and broadcast are NULL for most messages).
    arrays = _as_arrays(dialect, table, columns, rows)
    count = len(rows)
    kept = [
        (name, values)
        for name, values in zip(columns, arrays, strict=True)
        if values.count(None) < count or table.c[name].server_default is not None
    ]
    if not kept:  # every column NULL: the first one says so
        kept = [(columns[0], arrays[0])]
    columns = tuple(name for name, _ in kept)
    tuples = list(zip(*(values for _, values in kept), strict=True))
    names = ", ".join(columns)
    if dialect.name == "postgresql":
        values = ", ".join(_pg_value(table.c[name]) for name in columns)
        types = _pg_columns(table, columns)
        sql = (
            f"INSERT INTO {table.name} ({names}) SELECT {values}"
            f" FROM ROWS FROM (json_to_recordset(%(rows)s::json) AS ({types}))"
            f" WITH ORDINALITY AS v({names}, n_) ORDER BY v.n_"
        )
        _pg_write(session, sql, {"rows": _pg_document(table, columns, tuples)})
        return
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
    connection.exec_driver_sql(sql, tuples)


@dataclass(frozen=True)
class Query:
    """What `select_rows` reads (its arguments), for `select_together`."""

    table: Table
    columns: Sequence[str]
    key: str
    wanted: Mapping[Any, Sequence[Any]]
    by: str | None = None
    lock: Lock = None
    text: Sequence[str] = ()
    convert: Sequence[str] = ()
    equal: Mapping[str, Any] | None = None
    order: str | None = None
    limit: int | None = None


def select_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    key: str,
    wanted: Mapping[Any, Sequence[Any]],
    *,
    by: str | None = None,
    lock: Lock = None,
    text: Sequence[str] = (),
    convert: Sequence[str] = (),
    equal: Mapping[str, Any] | None = None,
    order: str | None = None,
    limit: int | None = None,
) -> Sequence[Sequence[Any]]:
    """The rows of `table` whose `key` is one of `wanted`'s values, each as a tuple of
    `columns`: with `by`, `wanted` maps each value of the column `by` to the keys wanted
    with it (`(by = ? AND key IN (...)) OR ...`: an index range each); without, `wanted`
    is `{None: keys}`. `lock`: `FOR UPDATE` (`"update"`) or `FOR UPDATE SKIP LOCKED`
    (`"skip_locked"`) on PostgreSQL (SQLite locks the database as a whole). A JSON column
    in `text` comes as its stored text (PostgreSQL's `::text`), not decoded; a column in
    `convert` as SQLAlchemy reads it (its type's result processor: an aware UTC time, a
    decoded JSON value); the others as the driver gives them (what `update_changed`
    compares a row's new values with). `equal`: columns the rows must also equal (ANDed
    with the keys); `order` and `limit`: `ORDER BY` that column, at most `limit` rows.

    Why not a SQLAlchemy `select`: its row objects and a processor call per column
    cost more than the decision a due follow-up then takes (issue 13: F2)."""
    query = Query(table, columns, key, wanted, by, lock, text, convert, equal, order, limit)
    return select_together(session, [query])[0]


def select_together(session: Session, queries: Sequence[Query]) -> list[Sequence[Sequence[Any]]]:
    """Each query's rows, as `select_rows` reads them; on PostgreSQL all in ONE statement
    (each query a `WITH` part, its own lock kept; one round trip instead of one each), the
    parts read in one snapshot, as one statement does."""
    connection = session.connection()
    dialect = connection.dialect
    built = [_select(dialect, query) if query.wanted else None for query in queries]
    found: list[Sequence[Sequence[Any]]] = [[] for _ in queries]
    asked = [(n, sql) for n, sql in enumerate(built) if sql is not None]
    if dialect.name == "postgresql" and len(asked) > 1:
        # UNION ALL of the parts, each row tagged with its part and padded with NULLs to
        # the other parts' columns (a NULL takes the type of the column it stands in).
        widths = [len(queries[n].columns) for n, _ in asked]
        parts: list[str] = []
        branches: list[str] = []
        params: list[Any] = []
        for i, (n, (sql, values)) in enumerate(asked):
            parts.append(f"q{i}_ AS ({sql})")
            params.extend(values)
            before, after = sum(widths[:i]), sum(widths[i + 1 :])
            names = ", ".join(
                ["NULL"] * before + [f"q{i}_.c{j}_" for j in range(widths[i])] + ["NULL"] * after
            )
            branches.append(f"SELECT {n}, {names} FROM q{i}_")
        statement = f"WITH {', '.join(parts)} {' UNION ALL '.join(branches)}"
        rows = connection.exec_driver_sql(statement, tuple(params)).fetchall()
        split: dict[int, list[Sequence[Any]]] = {n: [] for n, _ in asked}
        offsets = {n: 1 + sum(widths[:i]) for i, (n, _) in enumerate(asked)}
        for row in rows:
            n = row[0]
            split[n].append(tuple(row[offsets[n] : offsets[n] + len(queries[n].columns)]))
        for n, _ in asked:
            found[n] = split[n]
    else:
        for n, (sql, values) in asked:
            found[n] = connection.exec_driver_sql(sql, tuple(values)).fetchall()
    return [
        _converted(dialect, query, rows) if query.convert else rows
        for query, rows in zip(queries, found, strict=True)
    ]


def _select(dialect: Dialect, query: Query) -> tuple[str, list[Any]]:
    """`select_rows`' statement and its parameters; on PostgreSQL its columns named
    `c0_`, `c1_`... (`select_together` reads them back by those names)."""
    postgresql = dialect.name == "postgresql"
    table, key, by = query.table, query.key, query.by
    where: list[str] = []
    params: list[Any] = []
    for value, keys in query.wanted.items():
        if by is not None:
            where.append(f"({by} = {'%s' if postgresql else '?'} AND ")
            params.append(value)
        if postgresql:
            where.append(f"{key} = ANY(%s::{_pg_type(table.c[key])}[])")
            params.append(list(keys))
        else:
            where.append(f"{key} IN ({', '.join('?' for _ in keys)})")
            params.extend(keys)
        where.append(")" if by is not None else "")
        where.append(" OR ")
    where.pop()  # the last OR
    if query.equal:
        mark = "%s" if postgresql else "?"
        where.insert(0, "(")
        where.append(")")
        for name, value in query.equal.items():
            where.append(f" AND {name} = {mark}")
            params.append(value)
    if postgresql:
        names = ", ".join(
            f"{name}::text AS c{j}_" if name in query.text else f"{name} AS c{j}_"
            for j, name in enumerate(query.columns)
        )
    else:
        names = ", ".join(query.columns)
    sql = f"SELECT {names} FROM {table.name} WHERE {''.join(where)}"
    if query.order is not None:
        sql += f" ORDER BY {query.order}"
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    if postgresql and query.lock is not None:
        sql += " FOR UPDATE SKIP LOCKED" if query.lock == "skip_locked" else " FOR UPDATE"
    return sql, params


def _converted(
    dialect: Dialect, query: Query, rows: Sequence[Sequence[Any]]
) -> Sequence[Sequence[Any]]:
    """The rows with the columns in `query.convert` as SQLAlchemy reads them."""
    readers = [
        (i, reader)
        for i, name in enumerate(query.columns)
        if name in query.convert and (reader := _reader(dialect, query.table.c[name])) is not None
    ]
    if not readers:
        return rows
    converted: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for i, reader in readers:
            values[i] = reader(values[i])
        converted.append(tuple(values))
    return converted


@cache
def _reader(dialect: Dialect, column: Column[Any]) -> Convert | None:
    """What SQLAlchemy does to the column's value as the driver gives it (None: nothing)."""
    return column.type.dialect_impl(dialect).result_processor(dialect, None)


def update_rows(
    session: Session,
    table: Table,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """UPDATE `table` SET `columns` WHERE `keys` match, one row of values per row to change
    (each row: the keys' values, then the columns')."""
    if rows:
        dialect = session.connection().dialect
        every = (*keys, *columns)
        _update(session, table, keys, columns, _as_tuples(dialect, table, every, rows))


def update_changed(
    session: Session,
    table: Table,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    stored: Sequence[Sequence[Any]],
) -> None:
    """As `update_rows`, each row setting only the columns whose value differs from what the
    database holds (`stored`: the columns as read through the driver, row for row), as the
    ORM's unit of work writes only the attributes that changed: a contact whose follow-up
    changed nothing but its `updated_at` rewrites that column, not its state and the four
    indexed copies of it. Rows that change the same columns share one statement."""
    if not rows:
        return
    dialect = session.connection().dialect
    count = len(keys)
    groups: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
    positions = range(len(columns))
    for row, old in zip(_as_tuples(dialect, table, (*keys, *columns), rows), stored, strict=True):
        new = row[count:]
        # issue 13 (twelfth session): compared in C (`map(ne)`), not a generator step a column
        changed = tuple(compress(positions, map(ne, new, old)))
        if changed:
            groups.setdefault(changed, []).append((*row[:count], *(new[i] for i in changed)))
    for changed, values in groups.items():
        _update(session, table, keys, [columns[i] for i in changed], values)


def _update(
    session: Session,
    table: Table,
    keys: Sequence[str],
    columns: Sequence[str],
    values: list[tuple[Any, ...]],
) -> None:
    """`update_rows` with its values converted for the driver already. Rows that set the
    same values (and share their leading keys) go as one set-based statement, their last
    keys in a list (`_update_shared`); the others as one statement for all of them."""
    shared, values = _shared(len(keys), values)
    for (lead, set_values), lasts in shared.items():
        _update_shared(session, table, keys, columns, lead, set_values, lasts)
    if not values:
        return
    connection = session.connection()
    every = (*keys, *columns)
    if connection.dialect.name == "postgresql":
        sets = ", ".join(f"{name} = {_pg_value(table.c[name])}" for name in columns)
        match = " AND ".join(f"t.{name} = v.{name}" for name in keys)
        # The keys again, as the table's index is searched by: joined to the document
        # alone, the planner (which guesses 100 rows for any document) scanned the whole
        # table for every batch. The first of several keys (a contact's page) as one value
        # per statement, the last as an array: with both as arrays the planner costed the
        # primary key's two-array search above another index's range over the page and
        # read every row of the page for every batch (issue 13: F3).
        *leading, last = keys
        found = " AND ".join(
            [f"t.{name} = %(key_{name})s" for name in leading]
            + [
                f"t.{last} = ANY(ARRAY(SELECT (e->>'{last}')::{_pg_type(table.c[last])}"
                " FROM json_array_elements(%(rows)s::json) AS e))"
            ]
        )
        sql = (
            f"UPDATE {table.name} AS t SET {sets}"
            f" FROM json_to_recordset(%(rows)s::json) AS v({_pg_columns(table, every)})"
            f" WHERE {match} AND {found}"
        )
        count = len(leading)
        groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
        for row in values:
            groups.setdefault(row[:count], []).append(row)
        for lead, rows in groups.items():
            params = {f"key_{name}": value for name, value in zip(leading, lead, strict=True)}
            params["rows"] = _pg_document(table, every, rows)
            _pg_write(session, sql, params)
        return
    sets = ", ".join(f"{name} = ?" for name in columns)
    match = " AND ".join(f"{name} = ?" for name in keys)
    sql = f"UPDATE {table.name} SET {sets} WHERE {match}"
    order = [*range(len(keys), len(every)), *range(len(keys))]  # SET's values, then WHERE's
    connection.exec_driver_sql(sql, [tuple(row[i] for i in order) for row in values])


# issue 13 (eleventh session): rows that set the same values, as one statement with their
# keys in a list. A batch of due follow-ups marks each `done` at the same time and touches
# each contact's `updated_at` with the same `now`: on SQLite one statement instead of a
# step per row, on PostgreSQL no document to build, send and join for the rows. At least
# this many rows share the values, or they go with the others (a statement per set of
# values would be more, not fewer).
SHARED_MIN = 4
# The keys of one set-based statement at most (SQLite's bound parameters are limited).
SHARED_KEYS = 500


def _shared(
    count: int, values: list[tuple[Any, ...]]
) -> tuple[dict[tuple[tuple[Any, ...], tuple[Any, ...]], list[Any]], list[tuple[Any, ...]]]:
    """`values` (each row: `count` keys, then the values set) split into the groups of at
    least `SHARED_MIN` rows that set the same values under the same leading keys
    ({(leading keys, values set): last keys}) and the rest, in their order."""
    groups: dict[tuple[tuple[Any, ...], tuple[Any, ...]], list[tuple[Any, ...]]] = {}
    try:
        for row in values:
            groups.setdefault((row[: count - 1], row[count:]), []).append(row)
    except TypeError:  # a value that cannot be a key (not converted to text): row by row
        return {}, values
    shared = {group: [row[count - 1] for row in rows] for group, rows in groups.items()
              if len(rows) >= SHARED_MIN}  # fmt: skip
    if not shared:
        return {}, values
    rest = [row for group, rows in groups.items() if group not in shared for row in rows]
    return shared, rest


def _update_shared(
    session: Session,
    table: Table,
    keys: Sequence[str],
    columns: Sequence[str],
    lead: tuple[Any, ...],
    set_values: tuple[Any, ...],
    lasts: list[Any],
) -> None:
    """`UPDATE table SET columns = set_values WHERE leading keys = lead AND last key IN
    lasts`: the values converted for the driver, as in the document (`_pg_document`), and
    read as the document's are (`_pg_type`, then `_pg_value`), so the same is stored."""
    connection = session.connection()
    *leading, last = keys
    if connection.dialect.name == "postgresql":
        sets = ", ".join(
            f"{name} = " + _pg_value(table.c[name]).replace(
                f"v.{name}", f"%(set_{name})s::{_pg_type(table.c[name])}"
            )
            for name in columns
        )  # fmt: skip
        found = " AND ".join(
            [f"{name} = %(key_{name})s" for name in leading]
            + [f"{last} = ANY(%(keys)s::{_pg_type(table.c[last])}[])"]
        )
        sql = f"UPDATE {table.name} SET {sets} WHERE {found}"
        params = {
            f"set_{name}": _pg_param(value) for name, value in zip(columns, set_values, strict=True)
        }
        params.update((f"key_{name}", value) for name, value in zip(leading, lead, strict=True))
        for start in range(0, len(lasts), SHARED_KEYS):
            _pg_write(session, sql, {**params, "keys": lasts[start : start + SHARED_KEYS]})
        return
    sets = ", ".join(f"{name} = ?" for name in columns)
    match = "".join(f"{name} = ? AND " for name in leading)
    for start in range(0, len(lasts), SHARED_KEYS):
        chunk = lasts[start : start + SHARED_KEYS]
        marks = ", ".join("?" * len(chunk))
        sql = f"UPDATE {table.name} SET {sets} WHERE {match}{last} IN ({marks})"
        connection.exec_driver_sql(sql, (*set_values, *lead, *chunk))


def _pg_param(value: Any) -> Any:
    """A converted value as the document gives it to `_pg_type`: a time as its ISO text."""
    return value.isoformat() if isinstance(value, datetime) else value


def defer_writes(session: Session) -> None:
    """From now on, keep this session's writes (`insert_rows`, `update_rows`,
    `update_changed`) on PostgreSQL for `run_deferred` to send as one statement; SQLite
    runs them as they come (its statements are local calls, not round trips). Only for
    writes nothing reads before `run_deferred`, to rows no two of them touch: the parts of
    one statement see the same snapshot, none sees another's rows."""
    if session.connection().dialect.name == "postgresql":
        session.info[DEFERRED] = []


def run_deferred(
    session: Session,
    then: str | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    commit: bool = False,
) -> None:
    """The writes kept since `defer_writes` as ONE statement, each a data-modifying `WITH`
    (PostgreSQL runs every one to completion, read or not), and `then` as its main query
    (with named `params`: e.g. a `pg_notify`, which is delivered at commit anyway); `then`
    alone when no write was kept. Nothing when the session was not deferring (SQLite: its
    writes ran as they came).

    With `commit` (the caller's last statement of the transaction), the transaction's
    COMMIT goes in the same pipeline as the statement (`execute_and_commit`): one round
    trip for both. Only when the session has nothing of its own left to flush (no ORM
    object added, changed or deleted: those are written at the commit, after this
    statement, and must stay after it); else the caller's commit commits, as before."""
    kept: list[tuple[str, dict[str, Any]]] | None = session.info.pop(DEFERRED, None)
    if kept is None or not (kept or then):
        return
    parts: list[str] = []
    every: dict[str, Any] = dict(params or {})
    for n, (sql, values) in enumerate(kept):
        renamed = _PARAMETER.sub(f"%(w{n}_\\1)s", sql)
        parts.append(f"w{n}_ AS ({renamed})")
        every.update((f"w{n}_{name}", value) for name, value in values.items())
    main = then or "SELECT 1"
    statement = f"WITH {', '.join(parts)} {main}" if parts else main
    if commit and not (session.new or session.dirty or session.deleted):
        execute_and_commit(session.connection(), statement, every)
    else:
        session.connection().exec_driver_sql(statement, every)


def _pg_write(session: Session, sql: str, params: dict[str, Any]) -> None:
    """Run a write now, or keep it for `run_deferred`."""
    kept: list[tuple[str, dict[str, Any]]] | None = session.info.get(DEFERRED)
    if kept is not None:
        kept.append((sql, params))
    else:
        session.connection().exec_driver_sql(sql, params)


def _as_tuples(
    dialect: Dialect, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    """Each row's values converted as SQLAlchemy converts them for the column."""
    return list(zip(*_as_arrays(dialect, table, columns, rows), strict=True))


def _as_arrays(
    dialect: Dialect, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[list[Any]]:
    """The converted rows as one list per column. A time is converted once per batch and
    value: a batch's rows mostly carry the same few (its `now`), and the conversion (to
    UTC, to text on SQLite) is a pure function of the value."""
    arrays: list[list[Any]] = []
    for index, (convert, is_time) in enumerate(_conversions(dialect, table, tuple(columns))):
        values = [row[index] for row in rows]
        if convert is None:
            arrays.append(values)
        elif is_time:
            # issue 13 (thirteenth session): one look-up a value met before, not two (`in`,
            # then `[]`): each compares the value with the memo's key, and two aware times
            # with different zone objects (pydantic's parsed `TzInfo`, `datetime.UTC`) are
            # compared through both zones' `utcoffset`.
            memo: dict[Any, Any] = {None: convert(None)}
            get = memo.get
            arrays.append(
                [
                    known if (known := get(v, _UNSEEN)) is not _UNSEEN
                    else memo.setdefault(v, convert(v))
                    for v in values
                ]
            )  # fmt: skip
        else:
            arrays.append([convert(value) for value in values])
    return arrays


_UNSEEN = object()  # `_as_arrays`: a time not converted yet in this batch

# The sets of columns remembered (a batch updates the columns that changed: a few sets).
COLUMN_SETS = 1024


# issue 13 (ninth session): what a statement's columns need, worked out once per table and
# columns rather than on every call: a lone event's pass asked SQLAlchemy's column
# collection ~190 times and `isinstance` ~1,000 times for the same answers.
@lru_cache(maxsize=COLUMN_SETS)
def _conversions(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[tuple[Convert | None, bool], ...]:
    """Each column's conversion for the driver (`_converter`) and whether it is a time."""
    return tuple((_converter(dialect, table.c[name]), _is_time(table.c[name])) for name in columns)


@lru_cache(maxsize=COLUMN_SETS)
def _time_indexes(table: Table, columns: tuple[str, ...]) -> tuple[int, ...]:
    """The positions of the columns that hold a time."""
    return tuple(i for i, name in enumerate(columns) if _is_time(table.c[name]))


def _is_time(column: Column[Any]) -> bool:
    return isinstance(_impl(column), DateTime)


@cache
def _converter(dialect: Dialect, column: Column[Any]) -> Convert | None:
    """What SQLAlchemy does to the column's value before the driver gets it (None: nothing);
    a JSON column's value as JSON text on both databases (PostgreSQL's statement casts the
    text), one already serialised (`JsonText`) as it is."""
    if isinstance(column.type, JSON):
        serialise: Callable[[Any], str] = dialect._json_serializer or json.dumps

        def as_json(value: Any) -> str:
            return value if isinstance(value, JsonText) else serialise(value)

        return as_json
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _pg_document(table: Table, columns: Sequence[str], values: list[tuple[Any, ...]]) -> str:
    """The rows (converted for the driver) as ONE JSON document, an object per row, the
    parameter PostgreSQL's `json_to_recordset` reads: psycopg sends one string as it is,
    where it dumped an array element by element in Python (five times slower than all
    the rest); a time as ISO text with its offset, a JSON value as its text (cast back
    by `_pg_value`)."""
    times = _time_indexes(table, tuple(columns))
    if not times:
        return _DOCUMENT.encode([dict(zip(columns, row, strict=True)) for row in values])
    # A time's text worked out once per batch and value: a batch's rows mostly carry the
    # same few times (its `now`). Keyed by the time and its offset: equal instants at
    # different offsets are different texts (a column without a zone keeps the wall time).
    memo: dict[tuple[Any, Any], str] = {}
    objects: list[dict[str, Any]] = []
    for row in values:
        converted = list(row)
        for i in times:
            value = converted[i]
            if value is not None:
                key = (value, value.utcoffset())
                text = memo.get(key)
                if text is None:
                    text = memo[key] = value.isoformat()
                converted[i] = text
        objects.append(dict(zip(columns, converted, strict=True)))
    return _DOCUMENT.encode(objects)


# The document's encoder: as `json.dumps` with its defaults (non-ASCII escaped), without
# the spaces after separators, which the server would only skip again.
_DOCUMENT = json.JSONEncoder(separators=(",", ":"))


def _pg_columns(table: Table, columns: Sequence[str]) -> str:
    """`json_to_recordset`'s column list: each column as the document holds it."""
    return _pg_column_list(table, tuple(columns))


@lru_cache(maxsize=COLUMN_SETS)
def _pg_column_list(table: Table, columns: tuple[str, ...]) -> str:
    return ", ".join(f"{name} {_pg_type(table.c[name])}" for name in columns)


@cache
def _pg_value(column: Column[Any]) -> str:
    """The document's value as the column's: JSON from its text (the text kept as is)."""
    return f"v.{column.name}::json" if isinstance(_impl(column), JSON) else f"v.{column.name}"


def _pg_type(column: Column[Any]) -> str:
    """What a column's values are read from the document as; assigning casts each to the
    column's own type (a string the column is too short for is still refused)."""
    kind = _impl(column)
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "bigint"
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    if isinstance(kind, String | JSON):
        return "text"
    raise TypeError(f"no document type for {column} ({kind!r})")


def _impl(column: Column[Any]) -> Any:
    kind = column.type
    return kind.impl_instance if isinstance(kind, TypeDecorator) else kind
