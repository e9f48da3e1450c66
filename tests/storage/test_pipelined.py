"""issue 13 (tenth session): statements sent to PostgreSQL in one pipeline
(storage/pipelined.py) read and write what SQLAlchemy's own execution reads and writes,
commit when asked, and fail as SQLAlchemy fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import PageState
from pageflows.service.storage.pipelined import pipelined_driver, run_pipelined

NOW = datetime(2026, 11, 29, 20, 30, 0, 123456, tzinfo=UTC)
BERLIN = timezone(timedelta(hours=1))
READ = select(PageState.page_id, PageState.next_send_at, PageState.rate).where(
    PageState.page_id == bindparam("page")
)
MOVE = (
    update(PageState)
    .where(PageState.page_id == bindparam("page"))
    .values(next_send_at=bindparam("at"), rate_limit_strikes=PageState.rate_limit_strikes + 1)
)


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    with engine.begin() as connection:
        for page, rate in (("p1", 12.5), ("p2", None)):
            connection.execute(
                PageState.__table__.insert().values(page_id=page, rate=rate, updated_at=NOW)
            )
    yield engine
    engine.dispose()


def test_rows_read_as_sqlalchemy_reads_them_and_writes_committed(engine: Engine) -> None:
    with engine.begin() as connection:
        assert pipelined_driver(connection) is not None
        first = run_pipelined(connection, [(READ, {"page": "p1"})])[0]
        assert first == [("p1", None, 12.5)]
        moves = [{"page": "p1", "at": NOW.astimezone(BERLIN)}, {"page": "p2", "at": NOW}]
        assert run_pipelined(connection, [(MOVE, moves)], commit=True) == [[]]
    with engine.connect() as connection:
        for page in ("p1", "p2"):
            ours = run_pipelined(connection, [(READ, {"page": page})])[0]
            theirs = [tuple(row) for row in connection.execute(READ, {"page": page})]
            assert ours == theirs
            assert ours[0][1] == NOW and ours[0][1].tzinfo == UTC  # aware UTC, as the ORM's
        strikes = connection.execute(select(PageState.rate_limit_strikes)).scalars().all()
        assert strikes == [1, 1]


def test_a_naive_time_is_refused_as_the_model_refuses_it(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(ValueError, match="timezone-aware"):
        run_pipelined(connection, [(MOVE, {"page": "p1", "at": datetime(2026, 11, 29)})])


def test_a_refused_statement_rolls_the_whole_pipeline_back(engine: Engine) -> None:
    duplicate = PageState.__table__.insert().values(page_id=bindparam("page"), updated_at=NOW)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        run_pipelined(
            connection,
            [(MOVE, {"page": "p1", "at": NOW}), (duplicate, {"page": "p2"})],
            commit=True,
        )
    with engine.connect() as connection:
        assert connection.execute(select(PageState.next_send_at)).scalars().all() == [None, None]


def test_a_lost_connection_is_sqlalchemy_s_error_and_is_dropped(engine: Engine) -> None:
    with engine.connect() as connection:
        backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        connection.commit()
        with engine.connect() as killer:
            killer.exec_driver_sql(f"SELECT pg_terminate_backend({backend})")
        with pytest.raises(DBAPIError) as raised:
            run_pipelined(connection, [(READ, {"page": "p1"})])
        assert raised.value.connection_invalidated
