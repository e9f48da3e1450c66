"""service/locks.py on PostgreSQL: a batch's contacts locked in one statement (its BEGIN
pipelined with it, issue 13: F4), held until the transaction ends, and a contact held by
another transaction left out, never waited for."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pageflows.service.locks import try_lock_contact, try_lock_contacts
from pageflows.service.storage.database import make_engine


def test_a_batch_takes_the_free_contacts_and_leaves_the_held_ones(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    contacts = [("p", "a"), ("p", "b"), ("q", "a")]
    with Session(engine) as other, other.begin():
        assert try_lock_contact(other, "p", "b")
        with Session(engine) as session:
            with session.begin():
                assert try_lock_contacts(session, contacts) == [("p", "a"), ("q", "a")]
                # in a transaction, one the batch's statement opened
                assert session.scalar(text("SELECT now() = statement_timestamp()")) is False
                with Session(engine) as third, third.begin():
                    assert try_lock_contacts(third, contacts) == []
            with Session(engine) as third, third.begin():  # released at commit
                assert try_lock_contacts(third, contacts) == [("p", "a"), ("q", "a")]
    engine.dispose()


def test_a_database_gone_is_an_operational_error(postgres_url: str) -> None:
    """The callers tell the database away (wait, count nothing) from a bad batch (decide it
    one event at a time) by SQLAlchemy's OperationalError: the driver's error is raised so."""
    engine = make_engine(postgres_url)
    with Session(engine) as session, session.begin():
        pid = session.scalar(text("SELECT pg_backend_pid()"))
        with engine.connect() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError):
            try_lock_contacts(session, [("p", "a")])
        session.rollback()
    engine.dispose()
