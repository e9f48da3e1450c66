"""The webhook's direct insert (the driver's own connection, `_insert_direct`) against the
SQLAlchemy path it stands in for (`_insert_retrying`, the reference): for any batches, the
same answers and the same rows, on SQLite and PostgreSQL; and every failure of the direct
one answered by the reference, as before."""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pydantic_core
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pageflows.service.storage import inbox
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.inbox import (
    JsonText,
    Unstorable,
    _insert_direct,
    _insert_retrying,
    store_batch,
)
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import InboxEvent

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
_pages = itertools.count()
COMPARED = (
    *("contact_id", "kind", "dedup_key", "occurred_at", "received_at", "payload", "status"),
    *("attempts", "error", "processed_at", "next_attempt_at", "notes"),
)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """For what only SQLite does (its errors, its one held writing connection)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'inbox.db'}", pre_ping=False)
    upgrade(engine)
    yield engine
    engine.dispose()


text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
moment = st.datetimes(
    min_value=datetime(1971, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.astimezone(timezone(timedelta(hours=5, minutes=30))))
a_row = st.fixed_dictionaries(
    {
        "contact_id": st.none() | st.sampled_from(["1", "22", "6543210987654321"]),
        "kind": st.sampled_from(["message", "postback", "unknown"]),
        "dedup_key": st.sampled_from(["m_1", "m_2", "m_é", "m_" + "x" * 500]),
        "occurred_at": st.none() | moment,
        # As the webhook gives it (JSON text from pydantic) or as a document: stored alike.
        "payload": st.dictionaries(text, json_value, max_size=4).flatmap(
            lambda document: st.sampled_from(
                [document, JsonText(pydantic_core.to_json(document).decode())]
            )
        ),
    }
)


def stored(engine: Engine, page: str) -> list[tuple[Any, ...]]:
    """Every column of the page's rows but the page and the id, in insertion order."""
    with Session(engine) as session:
        rows = session.scalars(
            select(InboxEvent).where(InboxEvent.page_id == page).order_by(InboxEvent.id)
        )
        return [tuple(getattr(r, column) for column in COMPARED) for r in rows]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(a_row, min_size=1, max_size=4), min_size=1, max_size=3))
def test_the_direct_insert_answers_and_stores_as_the_reference(
    engine: Engine, batches: list[list[dict[str, Any]]]
) -> None:
    n = next(_pages)
    direct_page, reference_page = f"direct{n}", f"reference{n}"
    for batch in batches:
        direct = _insert_direct(engine, [{**r, "page_id": direct_page} for r in batch], NOW)
        reference = _insert_retrying(engine, [{**r, "page_id": reference_page} for r in batch], NOW)
        assert direct == reference
    assert stored(engine, direct_page) == stored(engine, reference_page)
    assert stored(engine, direct_page)  # the first row of a batch is always new


def a_batch(key: str, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "page_id": "104123456789012",
            "contact_id": "22",
            "kind": "message",
            "dedup_key": key,
            "occurred_at": NOW,
            "payload": {"text": "hi"},
            **extra,
        }
    ]


def test_a_value_no_column_takes_is_left_to_the_reference_which_refuses_it(
    engine: Engine,
) -> None:
    naive = a_batch("m_naive", occurred_at=datetime(2026, 1, 1))
    assert _insert_direct(engine, naive, NOW) is None
    answer = store_batch(engine, naive, NOW)
    assert isinstance(answer, Unstorable) and "timezone-aware" in answer.reason


def test_a_failed_direct_insert_stores_through_the_reference_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database refuses the direct statement's values (here: a NULL where none may be):
    the reference path stores the batch, once, and the connection goes back to the pool
    usable."""
    broken = inbox._Direct("INSERT INTO inbox (page_id) VALUES (NULL)", None, ())
    monkeypatch.setattr(inbox, "_direct", lambda dialect, rows: broken)
    monkeypatch.setattr(inbox, "_bound", lambda plan, rows, received_at: [])
    assert store_batch(engine, a_batch("m_1"), NOW) == 1
    assert store_batch(engine, a_batch("m_1"), NOW) == 0
    monkeypatch.undo()
    assert store_batch(engine, a_batch("m_2"), NOW) == 1
    assert [r[2] for r in stored(engine, "104123456789012")] == ["m_1", "m_2"]


def test_a_body_of_more_than_one_statement_takes_the_reference_path(engine: Engine) -> None:
    rows = [a_batch(f"m_{i}")[0] for i in range(inbox.CHUNK_ROWS + 1)]
    assert _insert_direct(engine, rows, NOW) is None
    assert store_batch(engine, rows, NOW) == inbox.CHUNK_ROWS + 1


def test_a_busy_or_broken_database_is_reported_at_once_not_tried_twice(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite answers "no such table" as it answers "database is locked" (after its 30 s
    busy wait): OperationalError, which the webhook answers 503, raised by the direct path
    itself: the reference path would have waited as long once more."""
    engine = sqlite_engine
    broken = inbox._Direct("INSERT INTO no_such_table VALUES (1)", None, ())
    monkeypatch.setattr(inbox, "_direct", lambda dialect, rows: broken)
    monkeypatch.setattr(inbox, "_bound", lambda plan, rows, received_at: [])
    references: list[int] = []
    monkeypatch.setattr(inbox, "_insert_retrying", lambda *args: references.append(1) or 0)
    with pytest.raises(OperationalError, match="no such table"):
        store_batch(engine, a_batch("m_1"), NOW)
    assert references == []
    monkeypatch.undo()
    assert store_batch(engine, a_batch("m_1"), NOW) == 1


def test_sqlite_s_held_writing_connection_is_closed_with_the_engine(sqlite_engine: Engine) -> None:
    """The direct insert keeps one SQLite connection between requests; `dispose()` (a worker
    process ending, a test's teardown) closes it, and the next insert opens a fresh one."""
    engine = sqlite_engine
    assert store_batch(engine, a_batch("m_1"), NOW) == 1
    held = inbox._HELD[engine]
    engine.dispose()
    assert engine not in inbox._HELD
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        held.execute("SELECT 1")
    assert store_batch(engine, a_batch("m_2"), NOW) == 1
    assert inbox._HELD[engine] is not held


def test_postgres_connections_are_held_one_a_thread_and_closed_with_the_engine(
    postgres_url: str,
) -> None:
    """Each thread storing keeps one connection of its own between its requests (its server
    process stays the same, no two threads share one); `dispose()` closes them all, and the
    next insert opens a fresh one."""
    engine = make_engine(postgres_url, pre_ping=False)
    upgrade(engine)
    backends: dict[int, set[int]] = {}

    def post(thread: int) -> None:
        for n in range(3):
            assert store_batch(engine, a_batch(f"m_{thread}_{n}"), NOW) == 1
            held = inbox._held_postgres(engine)
            assert held is not None
            backends.setdefault(thread, set()).add(held.backend)

    threads = [threading.Thread(target=post, args=(t,)) for t in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [len(pids) for pids in backends.values()] == [1, 1, 1]
    assert len(set().union(*backends.values())) == 3
    held = [each.driver for each in inbox._PG_HELD[engine].open]
    assert len(held) == 3
    assert engine.pool.checkedout() == 3  # in the pool's count: no connection beyond it
    engine.dispose()
    assert all(driver.closed for driver in held)
    assert store_batch(engine, a_batch("m_after"), NOW) == 1
    engine.dispose()


def test_threads_beyond_half_the_pool_store_through_the_pool(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held connections are checked out of the engine's pool, at most HELD_MAX of them: a
    thread beyond that holds none and its events are stored all the same."""
    monkeypatch.setattr(inbox, "HELD_MAX", 1)
    engine = make_engine(postgres_url, pre_ping=False)
    upgrade(engine)
    held: list[object] = []

    def post(name: str) -> None:
        assert store_batch(engine, a_batch(name), NOW) == 1
        held.append(inbox._held_postgres(engine))

    for name in ("m_first", "m_second"):
        thread = threading.Thread(target=post, args=(name,))
        thread.start()
        thread.join()
    assert held[0] is not None and held[1] is None
    assert engine.pool.checkedout() == 1
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(InboxEvent)).scalar() == 2
    engine.dispose()


def test_inserts_arriving_together_each_get_their_own_answer(engine: Engine) -> None:
    """Threads storing at once (the web process's), SQLite's committed in groups: every
    batch is answered with its own count of new events, and the inbox holds each event
    once, whatever thread stored it first."""
    answers: list[int | Unstorable] = []
    lock = threading.Lock()

    def post(thread: int) -> None:
        for n in range(30):
            # Keys shared by threads: a redelivery racing its first delivery.
            batch = a_batch(f"m_{n}") + a_batch(f"m_{thread}_{n}")
            answer = store_batch(engine, batch, NOW)
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=post, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [r[2] for r in stored(engine, "104123456789012")]
    assert sorted(keys) == sorted(
        {f"m_{n}" for n in range(30)} | {f"m_{t}_{n}" for t in range(6) for n in range(30)}
    )
    assert sum(a for a in answers if isinstance(a, int)) == len(keys)
    assert all(isinstance(a, int) and a >= 1 for a in answers)


def test_a_refused_batch_in_a_group_commit_stops_none_of_the_others(
    sqlite_engine: Engine,
) -> None:
    """Two requests whose inserts wait together for SQLite's writer, one of them holding a
    value the database refuses: it gets the reference path's 400 reason, the other is
    stored."""
    engine = sqlite_engine
    assert store_batch(engine, a_batch("m_0"), NOW) == 1  # the held connection is open
    answers: dict[str, int | Unstorable] = {}

    def post(key: str, **extra: Any) -> None:
        answers[key] = store_batch(engine, a_batch(key, **extra), NOW)

    with inbox._SQLITE_WRITER:  # another write is in progress: the next ones wait together
        first = threading.Thread(target=post, args=("m_1",))
        first.start()
        while not inbox._GROUPS[engine].writing:  # m_1's thread waits for the writer
            time.sleep(0.001)
        later = [
            threading.Thread(target=post, args=("m_2",), kwargs={"kind": None}),
            threading.Thread(target=post, args=("m_3",)),
        ]
        for thread in later:
            thread.start()
        while len(inbox._GROUPS[engine].waiting) < 2:
            time.sleep(0.001)
    for thread in [first, *later]:
        thread.join()
    refused = answers.pop("m_2")
    assert isinstance(refused, Unstorable) and "NOT NULL" in refused.reason
    assert answers == {"m_1": 1, "m_3": 1}
    assert [r[2] for r in stored(engine, "104123456789012")] == ["m_0", "m_1", "m_3"]


def test_sqlite_s_inserts_have_committed_when_they_answer(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """The 200 follows the commit: when `store_batch` returns, another connection reads the
    rows, for an insert alone (one statement in autocommit) and for a group of them."""
    engine = sqlite_engine
    with contextlib.closing(sqlite3.connect(tmp_path / "inbox.db")) as reader:

        def count() -> int:
            return int(reader.execute("SELECT count(*) FROM inbox").fetchone()[0])

        for n in range(3):
            assert store_batch(engine, a_batch(f"m_{n}") + a_batch(f"m_{n}_b"), NOW) == 2
            assert count() == 2 * n + 2
        assert store_batch(engine, a_batch("m_0"), NOW) == 0  # a redelivery: nothing new
        seen: dict[str, int] = {}

        def post(key: str) -> None:
            assert store_batch(engine, a_batch(key), NOW) == 1
            with contextlib.closing(sqlite3.connect(tmp_path / "inbox.db")) as own:
                seen[key] = own.execute(
                    "SELECT count(*) FROM inbox WHERE dedup_key = ?", (key,)
                ).fetchone()[0]

        with inbox._SQLITE_WRITER:  # another write is in progress: the next ones wait together
            threads = [threading.Thread(target=post, args=(f"m_g{t}",)) for t in range(3)]
            for thread in threads:
                thread.start()
            while not inbox._GROUPS[engine].writing or len(inbox._GROUPS[engine].waiting) < 2:
                time.sleep(0.001)
        for thread in threads:
            thread.join()
        assert seen == {"m_g0": 1, "m_g1": 1, "m_g2": 1}
        assert count() == 9
        assert not inbox._HELD[engine].in_transaction


class Interrupted(BaseException):
    """Not an `Exception`: what a KeyboardInterrupt or SystemExit would be."""


def test_an_interrupted_group_commit_leaves_no_transaction_for_later_answers(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """A group commit interrupted inside its BEGIN (by anything, not only an `Exception`)
    is rolled back; the next insert alone has committed when it answers, as always."""
    engine = sqlite_engine
    assert store_batch(engine, a_batch("m_0"), NOW) == 1  # the held connection is open

    class Breaking(list[Any]):
        def __len__(self) -> int:
            raise Interrupted

    jobs = [inbox._Job("INSERT INTO inbox (page_id) VALUES (?)", Breaking(["x"])) for _ in "ab"]
    with pytest.raises(Interrupted):
        inbox._run_group(engine, jobs)
    assert store_batch(engine, a_batch("m_1"), NOW) == 1
    with contextlib.closing(sqlite3.connect(tmp_path / "inbox.db")) as reader:
        keys = [r[0] for r in reader.execute("SELECT dedup_key FROM inbox ORDER BY id")]
    assert keys == ["m_0", "m_1"]


def test_sqlite_s_webhook_commits_are_checkpointed_by_a_thread_of_their_own(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """The held writing connection never checkpoints in a request's commit; its own thread
    copies the WAL into the database file, and the WAL is written from its start again
    once it holds RESTART_FRAMES frames rather than growing with every event stored."""
    engine = sqlite_engine
    database = tmp_path / "inbox.db"
    wal = tmp_path / "inbox.db-wal"
    assert store_batch(engine, a_batch("m_0"), NOW) == 1
    with contextlib.closing(sqlite3.connect(database)) as reader:
        assert reader.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    size = database.stat().st_size
    every = inbox.CHECKPOINT_EVERY
    for n in range(1, every):
        assert store_batch(engine, a_batch(f"m_{n}"), NOW) == 1
    unchecked = wal.stat().st_size  # what `every` commits append to the WAL
    commits = 16 * every
    checkpointer = inbox._CHECKPOINTERS[engine]
    for n in range(every, commits):
        assert store_batch(engine, a_batch(f"m_{n}"), NOW) == 1
        # A steady stream, not a burst faster than a busy machine schedules the thread
        # (a lagging checkpointer lets the WAL grow, as its docstring says): each wake-up
        # is taken before the next CHECKPOINT_EVERY commits.
        deadline = time.monotonic() + 10
        while checkpointer.wake.is_set() and time.monotonic() < deadline:
            time.sleep(0.001)
    deadline = time.monotonic() + 10
    while database.stat().st_size == size and time.monotonic() < deadline:
        time.sleep(0.05)
    assert database.stat().st_size > size  # the rows reached the database file
    # Never restarted, it would hold 16 times `unchecked`: at most RESTART_FRAMES frames
    # (a page and a 24-byte header each) and what came while a checkpoint was due.
    with contextlib.closing(sqlite3.connect(database)) as reader:
        page = reader.execute("PRAGMA page_size").fetchone()[0]
    bound = inbox.RESTART_FRAMES * (page + 24) + 2 * unchecked
    assert bound < 16 * unchecked
    assert wal.stat().st_size < bound
    assert len(stored(engine, "104123456789012")) == commits
