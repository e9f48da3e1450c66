"""Waking the loops on PostgreSQL: notifications from other processes ring, our own outbox
notes do not ring a second time (the worker rang in-process at commit)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, text

from pageflows.service.storage.database import own_backends
from pageflows.service.wake import INBOX, OUTBOX, Alarms, Listener, notify

on_postgres = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _rings(alarm: threading.Event, within: float = 2.0) -> bool:
    return alarm.wait(within)


@on_postgres
def test_the_engine_knows_the_backends_of_its_open_connections(engine: Engine) -> None:
    pid = _pid(engine)
    assert pid in own_backends(engine)
    engine.dispose()  # the pool closes its connections
    assert pid not in own_backends(engine)


@on_postgres
def test_an_outbox_note_of_our_own_does_not_ring_again_another_process_s_does(
    engine: Engine, database_url: str
) -> None:
    from pageflows.service.storage.database import make_engine

    other = make_engine(database_url)  # another process's engine: backends of its own
    alarms, stop = Alarms(), threading.Event()
    listener = Listener(engine, alarms, stop, own_backends(engine))
    listener.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # listening: it rings everything once at start
            if alarms.inbox.wait(0.1):
                break
        time.sleep(0.2)
        alarms.inbox.clear()
        alarms.outbox.clear()

        with engine.begin() as connection:
            notify(connection, OUTBOX)
        assert not _rings(alarms.outbox, within=1.0)

        with engine.begin() as connection:  # an inbox note of ours still rings
            notify(connection, INBOX)
        assert _rings(alarms.inbox)

        with other.begin() as connection:
            notify(connection, OUTBOX)
        assert _rings(alarms.outbox)
    finally:
        stop.set()
        listener.thread.join(5)
        other.dispose()
