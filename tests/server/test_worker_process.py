"""The pieces that let workers run as processes of their own: the single-worker lock on
SQLite, notifications that wake them, heartbeats /healthz reads, the page's rate setting."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from service_world import PAGE, START

from pageflows.cli import main
from pageflows.clock import FakeClock
from pageflows.service import health, heartbeat, pages
from pageflows.service.config import ConfigError, read_settings
from pageflows.service.pace import Pacer, slot_width
from pageflows.service.storage.database import (
    SingleWorkerError,
    hold_sqlite_worker_lock,
    make_engine,
)
from pageflows.service.storage.inbox import store_batch
from pageflows.service.storage.migrate import upgrade
from pageflows.service.wake import Alarms, Listener

FLOW = 'on keyword "hi" exact:\n    send "hello"\n'


def test_a_second_worker_on_one_sqlite_file_is_refused_and_says_why(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pageflows.db'}"
    held = hold_sqlite_worker_lock(url)
    assert held is not None
    with pytest.raises(SingleWorkerError) as refused:
        hold_sqlite_worker_lock(url)
    assert "SQLite takes one worker process" in str(refused.value)
    assert "PostgreSQL" in str(refused.value)
    held.close()  # the process that held it ended: the next one may work
    again = hold_sqlite_worker_lock(url)
    assert again is not None
    again.close()


def test_the_worker_command_refuses_a_second_worker_on_sqlite(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "main.flow").write_text(FLOW, "utf-8")
    url = f"sqlite:///{tmp_path / 'pageflows.db'}"
    held = hold_sqlite_worker_lock(url)
    env = {"PAGEFLOWS_DATABASE_URL": url, "PAGEFLOWS_PAGE_ID": PAGE,
           "PAGEFLOWS_PAGE_TOKEN": "t", "PAGEFLOWS_APP_SECRET": "s",
           "PAGEFLOWS_VERIFY_TOKEN": "v"}  # fmt: skip
    try:
        result = CliRunner().invoke(main, ["worker", str(flows)], env=env)
    finally:
        assert held is not None
        held.close()
    assert result.exit_code == 1
    assert "another pageflows worker" in result.output
    assert "Traceback" not in result.output


def test_postgresql_needs_no_worker_lock(postgres_url: str) -> None:
    assert hold_sqlite_worker_lock(postgres_url) is None


def test_a_stored_batch_wakes_a_listening_worker_at_once(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    alarms, stop = Alarms(), threading.Event()
    Listener(engine, alarms, stop).start()
    try:
        assert alarms.inbox.wait(10)  # rung once on connecting: whatever came before
        alarms.inbox.clear()
        alarms.outbox.clear()
        assert not alarms.inbox.wait(1.5)  # nothing rings it without work
        row = {"page_id": PAGE, "contact_id": "1", "kind": "message", "dedup_key": "k1",
               "occurred_at": START, "payload": {}}  # fmt: skip
        assert store_batch(engine, [row], START) == 1
        assert alarms.inbox.wait(5)
        assert not alarms.outbox.is_set()
    finally:
        stop.set()
        engine.dispose()


def test_healthz_counts_live_workers_and_names_their_absence(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    clock = FakeClock(START)
    report = health.report(engine, clock.now())
    assert report["workers"] == 0
    assert any("no worker process" in p for p in report["problems"])
    worker_id = heartbeat.register(engine, clock.now())
    assert health.report(engine, clock.now())["workers"] == 1
    assert not any("no worker" in p for p in health.report(engine, clock.now())["problems"])
    clock.advance(timedelta(seconds=16))  # a killed worker stops beating
    assert health.report(engine, clock.now())["workers"] == 0
    heartbeat.beat(engine, worker_id, clock.now())
    assert health.report(engine, clock.now())["workers"] == 1
    heartbeat.forget(engine, worker_id)  # a clean stop
    assert health.report(engine, clock.now())["workers"] == 0
    engine.dispose()


def test_a_beat_tells_each_live_process_its_share_of_the_contacts(database_url: str) -> None:
    """issue 13: G. Live processes by id, each its place and how many: the share of the
    contacts it decides first. A stale or stopping one has no share; one whose own beat is
    late is told (0, 1): all of them, as a lone process."""
    engine = make_engine(database_url)
    upgrade(engine)
    clock = FakeClock(START)
    ids = sorted(heartbeat.register(engine, clock.now()) for _ in range(3))
    assert [heartbeat.beat(engine, i, clock.now()) for i in ids] == [(0, 3), (1, 3), (2, 3)]
    assert heartbeat.beat(engine, ids[0], clock.now(), stopping=True) == (0, 1)
    assert heartbeat.beat(engine, ids[2], clock.now()) == (1, 2)
    clock.advance(timedelta(seconds=16))  # ids[1] goes stale: it is killed
    assert heartbeat.beat(engine, ids[2], clock.now()) == (0, 1)
    engine.dispose()


@pytest.mark.parametrize("rate", ["0", "41", "fast", "-3"])
def test_a_page_rate_outside_0_to_40_is_refused_with_the_reason(rate: str) -> None:
    env = {"PAGEFLOWS_PAGE_ID": PAGE, "PAGEFLOWS_PAGE_TOKEN": "t", "PAGEFLOWS_PAGE_RATE": rate}
    with pytest.raises(ConfigError) as refused:
        read_settings(env, None)
    assert "PAGEFLOWS_PAGE_RATE" in str(refused.value)
    assert "at most 40" in str(refused.value)


def test_a_page_rate_comes_from_the_file_or_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "pageflows.toml"
    config.write_text(f'[[pages]]\nid = "{PAGE}"\ntoken = "t"\nrate = 12.5\n', "utf-8")
    assert read_settings({}, config).pages[0].rate == 12.5
    assert read_settings({"PAGEFLOWS_PAGE_RATE": "5"}, config).pages[0].rate == 5
    assert read_settings({"PAGEFLOWS_PAGE_ID": PAGE}, None).pages[0].rate == 20


def test_every_process_paces_a_page_by_the_rate_the_last_one_started_with(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker started with rate 40 beside one at 10 must not double the page's pace: the
    page's row holds one rate, the latest, and every pacer spaces its slots by it."""
    engine = make_engine(database_url)
    upgrade(engine)
    clock = FakeClock(START)
    pages.ensure(engine, [PAGE], clock.now(), {PAGE: 40})
    with caplog.at_level("WARNING"):
        pages.ensure(engine, [PAGE], clock.now(), {PAGE: 10})
    assert "pace changed from 40 to 10" in caplog.text
    eager = Pacer(engine, clock, {PAGE: 40})  # this process's own setting says 40
    slots = eager.reserve(PAGE, 3)
    assert [b - a for a, b in itertools.pairwise(slots)] == [slot_width(10)] * 2
    engine.dispose()


def test_a_worker_stopped_while_it_starts_exits_0_at_once(tmp_path: Path) -> None:
    """A rolling restart's SIGTERM can come while a worker still starts (10-20 s on a busy
    machine): it ends then with exit 0 and no traceback, as once it runs. Here its start is
    held for as long as the test likes: its database accepts the connection, never answers."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "main.flow").write_text(FLOW, "utf-8")
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    env = {**os.environ, "PAGEFLOWS_DATABASE_URL": f"postgresql://u@127.0.0.1:{port}/db",
           "PAGEFLOWS_PAGE_ID": PAGE, "PAGEFLOWS_PAGE_TOKEN": "t",
           "PAGEFLOWS_APP_SECRET": "s", "PAGEFLOWS_VERIFY_TOKEN": "v"}  # fmt: skip
    command = str(Path(sys.executable).parent / "pageflows")
    process = subprocess.Popen(
        [command, "worker", str(flows)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        silent.settimeout(60)
        connection, _ = silent.accept()  # the worker is starting: it waits for its database
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
        connection.close()
    finally:
        silent.close()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err + out
