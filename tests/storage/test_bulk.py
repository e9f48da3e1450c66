"""issue 13: F2. A batch's rows read and written through the driver (storage/bulk.py), on SQLite and
PostgreSQL: what they store is what the ORM stores for the same values, in the order given,
and an update touches only the rows and columns it names; what is read is what the ORM
reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from pageflows.service.storage import bulk
from pageflows.service.storage.bulk import (
    JsonText,
    Query,
    defer_writes,
    insert_rows,
    run_deferred,
    select_rows,
    select_together,
    update_changed,
    update_rows,
)
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import Contact, OutboxMessage

NOW = datetime(2026, 11, 24, 9, 0, 0, 7, tzinfo=UTC)
BERLIN = timezone(timedelta(hours=1))
OUTBOX = cast(Table, OutboxMessage.__table__)
CONTACTS = cast(Table, Contact.__table__)


def outbox_values(n: int) -> dict[str, Any]:
    return {
        "page_id": "p",
        "contact_id": f"c{n % 3}",
        "kind": "message",
        "body": {"message": {"text": f"hé {n}"}, "n": [n, None]} if n % 4 else None,
        "preview": f"hé {n}",
        "status": "queued",
        "created_at": NOW.astimezone(BERLIN) + timedelta(seconds=n),
        "expires_at": None if n % 2 else NOW + timedelta(hours=n),
        "attempts": 0,
        "origin": None,
    }


def stored(session: Session, table: str, order: str) -> list[dict[str, Any]]:
    """The rows as the database holds them (a time on SQLite as its text), ids left out."""
    rows = session.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).mappings()
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def test_inserted_rows_are_what_the_orm_stores_in_the_order_given(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    values = [outbox_values(n) for n in range(9)]
    with Session(engine) as session, session.begin():
        session.add_all(OutboxMessage(**v) for v in values)
    with Session(engine) as session:
        by_orm = stored(session, "outbox", "id")
    with Session(engine) as session, session.begin():
        session.execute(text("DELETE FROM outbox"))
        insert_rows(session, OUTBOX, tuple(values[0]), [tuple(v.values()) for v in values])
    with Session(engine) as session:
        assert stored(session, "outbox", "id") == by_orm
        previews = session.scalars(select(OutboxMessage.preview).order_by(OutboxMessage.id))
        assert list(previews) == [f"hé {n}" for n in range(9)]


def test_updates_change_only_the_rows_and_columns_named(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        for psid in ("a", "b", "c"):
            session.add(
                Contact(page_id="p", psid=psid, state={"id": psid}, updated_at=NOW, ref="r")
            )
    later = NOW + timedelta(minutes=5)
    with Session(engine) as session, session.begin():
        state = JsonText('{"id": "a", "tags": ["x"]}')
        columns = ("state", "updated_at", "ref")
        read = session.execute(
            text("SELECT psid, CAST(state AS TEXT), updated_at, ref FROM contacts ORDER BY psid")
        ).all()
        old = {psid: list(row) for psid, *row in read}
        update_changed(
            session,
            CONTACTS,
            ("page_id", "psid"),
            columns,
            [("p", "a", state, later, "r"), ("p", "b", JsonText(old["b"][0]), NOW, "r")],
            [old["a"], old["b"]],
        )
        update_rows(session, CONTACTS, ("page_id", "psid"), ("ref",), [("p", "c", None)])
    with Session(engine) as session:
        got = {c.psid: (c.state, c.updated_at, c.ref) for c in session.scalars(select(Contact))}
    assert got == {
        "a": ({"id": "a", "tags": ["x"]}, later, "r"),
        "b": ({"id": "b"}, NOW, "r"),
        "c": ({"id": "c"}, NOW, None),
    }


def test_writes_sent_as_one_statement_store_what_they_store_one_by_one(
    database_url: str,
) -> None:
    """F4: between `defer_writes` and `run_deferred`, an insert and updates of two tables
    (PostgreSQL: parts of one statement) store exactly what they store run one by one."""
    engine = make_engine(database_url)
    upgrade(engine)
    values = [outbox_values(n) for n in range(5)]
    later = NOW + timedelta(minutes=5)

    def write(session: Session) -> None:
        insert_rows(session, OUTBOX, tuple(values[0]), [tuple(v.values()) for v in values])
        update_rows(session, CONTACTS, ("page_id", "psid"), ("updated_at",), [("p", "a", later)])
        update_rows(session, CONTACTS, ("page_id", "psid"), ("ref",), [("p", "b", "s")])

    results = []
    for deferred in (False, True):
        with Session(engine) as session, session.begin():
            session.execute(text("DELETE FROM outbox"))
            session.execute(text("DELETE FROM contacts"))
            for psid in ("a", "b"):
                session.add(Contact(page_id="p", psid=psid, state={}, updated_at=NOW, ref="r"))
        with Session(engine) as session, session.begin():
            if deferred:
                defer_writes(session)
            write(session)
            if deferred and engine.dialect.name == "postgresql":
                count = session.scalar(text("SELECT count(*) FROM outbox"))
                assert count == 0  # kept, not sent yet
            run_deferred(session)
        with Session(engine) as session:
            results.append((stored(session, "outbox", "id"), stored(session, "contacts", "psid")))
    assert results[0] == results[1]
    assert [row["updated_at"] for row in results[1][1]] != [NOW, NOW]


def test_rows_setting_the_same_values_store_what_they_store_row_by_row(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows that set the same values (a batch's `done` at one `now`) go as one statement
    with their keys in a list: what it stores is what a statement per row stores, for
    times at any offset, JSON, NULLs, rows under another leading key and rows that set
    other values beside them; direct and deferred (PostgreSQL: a part of one statement)."""
    engine = make_engine(database_url)
    upgrade(engine)
    later = NOW.astimezone(BERLIN) + timedelta(minutes=5)
    state = JsonText('{"id": "same", "hé": [1, null]}')
    shared = [("p", f"s{n}", state, later, None) for n in range(6)]
    shared += [("q", f"s{n}", state, later + timedelta(hours=1), "z") for n in range(6)]
    others = [("p", "o1", JsonText("{}"), NOW, "x"), ("q", "o2", state, later, "y")]
    rows = [*shared[:3], others[0], *shared[3:], others[1]]
    results = []
    for min_rows, deferred in ((10**9, False), (bulk.SHARED_MIN, False), (bulk.SHARED_MIN, True)):
        monkeypatch.setattr(bulk, "SHARED_MIN", min_rows)
        with Session(engine) as session, session.begin():
            session.execute(text("DELETE FROM contacts"))
            for page, psid, *_ in [*rows, ("p", "untouched", None, None, None)]:
                session.add(
                    Contact(page_id=page, psid=psid, state={"id": psid}, updated_at=NOW, ref="r")
                )
        with Session(engine) as session, session.begin():
            if deferred:
                defer_writes(session)
            update_rows(session, CONTACTS, ("page_id", "psid"), ("state", "updated_at", "ref"),
                        rows)  # fmt: skip
            run_deferred(session)
        with Session(engine) as session:
            results.append(stored(session, "contacts", "page_id, psid"))
    assert results[1] == results[0]
    assert results[2] == results[0]
    with Session(engine) as session:
        got = {(c.page_id, c.psid): (c.state, c.updated_at, c.ref)
               for c in session.scalars(select(Contact))}  # fmt: skip
    assert got[("p", "s5")] == ({"id": "same", "hé": [1, None]}, later, None)
    assert got[("q", "s0")] == ({"id": "same", "hé": [1, None]}, later + timedelta(hours=1), "z")
    assert got[("p", "o1")] == ({}, NOW, "x")
    assert got[("p", "untouched")] == ({"id": "untouched"}, NOW, "r")


def test_deferred_writes_carry_the_statement_given_after_them(postgres_url: str) -> None:
    """`run_deferred`'s `then` runs in the same statement as the writes (PostgreSQL): a
    notification asked for there is delivered when the transaction commits."""
    import psycopg

    engine = make_engine(postgres_url)
    upgrade(engine)
    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as listener:
        listener.execute("LISTEN bulk_test")
        with Session(engine) as session, session.begin():
            defer_writes(session)
            update_rows(session, CONTACTS, ("page_id", "psid"), ("ref",), [("p", "z", "s")])
            run_deferred(session, "SELECT pg_notify(%(channel)s, 'x')", {"channel": "bulk_test"})
        got = [(n.channel, n.payload) for n in listener.notifies(timeout=5, stop_after=1)]
    assert got == [("bulk_test", "x")]


def test_deferred_writes_with_the_commit_store_what_the_separate_commit_stores(
    database_url: str,
) -> None:
    """`run_deferred(commit=True)`: the writes and the COMMIT in one pipeline (PostgreSQL).
    What it stores is what the statement and the session's own commit store; on
    PostgreSQL the transaction is over when it returns (another connection sees the rows
    before the session's commit), unless the session still has an ORM object to flush,
    which is then written after the statement by the session's commit, as before."""
    engine = make_engine(database_url)
    upgrade(engine)
    values = [outbox_values(n) for n in range(5)]
    later = NOW + timedelta(minutes=5)
    postgresql = engine.dialect.name == "postgresql"

    def outbox_count() -> int:
        with engine.connect() as other:
            return int(other.scalar(text("SELECT count(*) FROM outbox")) or 0)

    results = []
    for commit, orm_object in ((False, False), (True, False), (True, True)):
        with Session(engine) as session, session.begin():
            session.execute(text("DELETE FROM outbox"))
            session.execute(text("DELETE FROM contacts"))
            session.add(Contact(page_id="p", psid="a", state={}, updated_at=NOW, ref="r"))
        with Session(engine) as session, session.begin():
            defer_writes(session)
            insert_rows(session, OUTBOX, tuple(values[0]), [tuple(v.values()) for v in values])
            update_rows(
                session, CONTACTS, ("page_id", "psid"), ("updated_at",), [("p", "a", later)]
            )
            if orm_object:
                session.add(Contact(page_id="p", psid="b", state={}, updated_at=NOW))
            run_deferred(session, commit=commit)
            if postgresql:  # committed already, or only at the session's commit
                assert outbox_count() == (5 if commit and not orm_object else 0)
        with Session(engine) as session:
            results.append((stored(session, "outbox", "id"), stored(session, "contacts", "psid")))
    assert results[1] == results[0]
    assert results[2][0] == results[0][0]
    assert [row["psid"] for row in results[2][1]] == ["a", "b"]
    assert results[2][1][0] == results[0][1][0]
    assert [row["updated_at"] for row in results[0][1]] != [NOW]


def test_selected_rows_are_what_the_orm_reads_for_the_keys_wanted(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        for page, psid in (("p", "a"), ("p", "b"), ("q", "a"), ("q", "c")):
            session.add(
                Contact(
                    page_id=page,
                    psid=psid,
                    state={"id": psid, "hé": [1, None]},
                    updated_at=NOW.astimezone(BERLIN),
                    last_user_message_at=None if psid == "b" else NOW + timedelta(hours=1),
                    ref=f"r{page}",
                )
            )
    columns = ("page_id", "psid", "state", "updated_at", "last_user_message_at", "ref")
    wanted = {"p": ["a", "b", "z"], "q": ["c"]}
    with Session(engine) as session, session.begin():
        by_orm = {
            (c.page_id, c.psid): tuple(getattr(c, name) for name in columns)
            for c in session.scalars(select(Contact))
            if c.psid in wanted.get(c.page_id, [])
        }
        convert = ("state", "updated_at", "last_user_message_at")
        read = select_rows(
            session, CONTACTS, columns, "psid", wanted, by="page_id", lock="update", convert=convert
        )
        assert {(row[0], row[1]): tuple(row) for row in read} == by_orm
        assert len(by_orm) == 3
        as_text = select_rows(session, CONTACTS, ("psid", "state"), "psid", {"q": ["c"]},
                              by="page_id", text=("state",))  # fmt: skip
        assert [(psid, type(state)) for psid, state in as_text] == [("c", str)]
        assert select_rows(session, CONTACTS, columns, "psid", {}) == []
        assert [
            row[1] for row in select_rows(session, CONTACTS, columns, "psid", {None: ["c"]})
        ] == ["c"]


def test_queries_read_together_give_each_query_its_own_rows(database_url: str) -> None:
    """F4: `select_together` (PostgreSQL: one statement) reads for each query exactly what
    `select_rows` reads for it alone: its columns, converted or as text as asked, a query
    with nothing wanted reading nothing."""
    engine = make_engine(database_url)
    upgrade(engine)
    values = [outbox_values(n) for n in range(6)]
    with Session(engine) as session, session.begin():
        session.add_all(OutboxMessage(**v) for v in values)
        for psid in ("a", "b", "c"):
            session.add(Contact(page_id="p", psid=psid, state={"id": psid}, updated_at=NOW))
    contacts = Query(CONTACTS, ("psid", "state", "updated_at"), "psid", {"p": ["a", "c"]},
                     by="page_id", lock="update", text=("state",))  # fmt: skip
    messages = Query(OUTBOX, ("contact_id", "body", "created_at", "expires_at"), "contact_id",
                     {"p": ["c1", "c2"]}, by="page_id", lock="skip_locked",
                     convert=("body", "created_at", "expires_at"))  # fmt: skip
    nothing = Query(CONTACTS, ("psid",), "psid", {})
    with Session(engine) as session, session.begin():
        alone = [
            sorted(select_rows(session, q.table, q.columns, q.key, q.wanted, by=q.by,
                               lock=q.lock, text=q.text, convert=q.convert), key=repr)
            for q in (contacts, messages, nothing)
        ]  # fmt: skip
        together = [
            sorted(rows, key=repr)
            for rows in select_together(session, [contacts, messages, nothing])
        ]
    assert together == alone
    assert [len(rows) for rows in together] == [2, 4, 0]
    assert {type(row[1]) for row in together[0]} == {str}
