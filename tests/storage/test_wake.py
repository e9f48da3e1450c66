"""Waking the loops on PostgreSQL: notifications from other processes ring, our own outbox
notes do not ring a second time (the worker rang in-process at commit)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from service_world import PAGE, SECRET, START, signature
from sqlalchemy import Engine, text

from pageflows.clock import FakeClock
from pageflows.service.storage.database import own_backends
from pageflows.service.wake import (
    INBOX,
    OUTBOX,
    Alarms,
    Bell,
    BellListener,
    Listener,
    notify,
    sqlite_bell,
)
from pageflows.webhook.app import create_app

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


# --------------------------------------------------------------------------- SQLite's bell

on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
RING_FROM_ANOTHER_PROCESS = """
import sys
from pageflows.service.wake import Bell, bell_name
Bell(bell_name(sys.argv[1])).ring(sys.argv[2])
"""


def _listening(engine: Engine) -> tuple[Alarms, threading.Event, BellListener]:
    name = sqlite_bell(engine)
    assert name is not None
    alarms, stop = Alarms(), threading.Event()
    listener = BellListener(name, alarms, stop)
    listener.start()
    return alarms, stop, listener


@on_sqlite
def test_a_webhook_process_s_bell_wakes_the_sqlite_worker_s_loop(
    engine: Engine, tmp_path: Path
) -> None:
    alarms, stop, listener = _listening(engine)
    database = str(engine.url.database)
    try:
        for channel, alarm in ((INBOX, alarms.inbox), (OUTBOX, alarms.outbox)):
            subprocess.run(
                [sys.executable, "-c", RING_FROM_ANOTHER_PROCESS, database, channel], check=True
            )
            assert _rings(alarm), channel
        other = tmp_path / "another.db"  # another database's bell rings another worker
        subprocess.run(
            [sys.executable, "-c", RING_FROM_ANOTHER_PROCESS, str(other), INBOX], check=True
        )
        alarms.inbox.clear()
        assert not _rings(alarms.inbox, within=0.5)
    finally:
        stop.set()
        listener.thread.join(5)


@on_sqlite
def test_a_second_listener_on_one_database_is_refused_and_a_bell_nobody_hears_is_harmless(
    engine: Engine,
) -> None:
    name = sqlite_bell(engine)
    assert name is not None
    Bell(name).ring()  # nobody listens yet: no error, the worker's poll would find the work
    _, stop, listener = _listening(engine)
    try:
        with pytest.raises(OSError):
            BellListener(name, Alarms(), threading.Event())
    finally:
        stop.set()
        listener.thread.join(5)


@on_sqlite
def test_the_webhook_rings_when_it_stored_an_event_and_not_for_a_forged_body(
    engine: Engine,
) -> None:
    name = sqlite_bell(engine)
    assert name is not None
    app = create_app(
        engine=engine,
        app_secret=SECRET,
        verify_token="verify",
        clock=FakeClock(START),
        wake=Bell(name).ring,
    )
    alarms, stop, listener = _listening(engine)
    client = app.test_client()
    item = {
        "sender": {"id": "psid-1"},
        "recipient": {"id": PAGE},
        "timestamp": int(START.timestamp() * 1000),
        "message": {"mid": "m-1", "text": "hi"},
    }
    raw = json.dumps({"object": "page", "entry": [{"id": PAGE, "messaging": [item]}]}).encode()
    try:
        forged = client.post("/webhook", data=raw, headers={"X-Hub-Signature-256": "sha256=0"})
        assert forged.status_code == 403
        assert not _rings(alarms.inbox, within=0.5)
        stored = client.post("/webhook", data=raw, headers={"X-Hub-Signature-256": signature(raw)})
        assert stored.status_code == 200
        assert _rings(alarms.inbox)
    finally:
        stop.set()
        listener.thread.join(5)
