"""Many processes on one PostgreSQL database, as real OS processes: the short forms CI runs.

`serve --web-only --workers 2` answers the webhook and four `pageflows worker`
processes decide and send, against one simulator. Contacts write in order
(each waits for Facebook's 200 before its next message), so besides the crash
verdict (nothing lost, nothing doubled unless flagged possible_duplicate)
each contact's replies must come in the order it wrote, no process may log an
error, and more than one worker must have sent. `make crash-many` runs the
long form. Set PAGEFLOWS_CRASH_SEED to replay a seed (the traffic and the
moments follow it, the thread timings do not).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from .flow import write_flows
from .harness import Options, run
from .pace import broadcast_pace
from .processes import Page, Server, WebServer, Worker
from .stack import Topology
from .verdict import Counts, table

TOPOLOGY = Topology(web=2, workers=4, page_rate=40)
RATE = 12.0  # events per second: 24 messages a second, within the page's 32 (40 less 25%)


def seed() -> int:
    return int(os.environ.get("PAGEFLOWS_CRASH_SEED") or random.SystemRandom().randrange(10**6))


def many(database_url: str, workdir: Path, **given: Any) -> Counts:
    counts = run(
        Options(
            database_url=database_url, topology=TOPOLOGY, rate=RATE, seed=seed(),
            workdir=workdir, verbose=False, **{"kills": 0, **given},
        )
    )  # fmt: skip
    print(f"\n{table([counts])}")  # the numbers, for whoever runs pytest -s
    return counts


def check(counts: Counts) -> None:
    if not counts.passed:
        examples = json.dumps(counts.examples, indent=1)[:4000]
        pytest.fail(f"\n{table([counts])}\nwork folder: {counts.workdir}\n{examples}", False)
    senders = [name for name, sent in counts.sends_by_process.items() if sent]
    assert len(senders) > 1, f"one worker sent everything: {counts.sends_by_process}"


def test_workers_answer_a_steady_stream_once_each_in_each_contacts_order(
    postgres_url: str, tmp_path: Path
) -> None:
    counts = many(postgres_url, tmp_path / "steady", duration=15)
    check(counts)
    assert counts.in_order and counts.events_sent >= 150  # 12 a second for 15 s: 180
    assert counts.messages_doubled == counts.in_doubt == 0  # no crash: not even a flagged copy
    assert counts.follow_ups_out_of_order == 0


def test_workers_killed_at_random_lose_nothing_and_double_only_flagged(
    postgres_url: str, tmp_path: Path
) -> None:
    """A killed worker's claims come back when their leases end (30 s): the drain waits."""
    counts = many(postgres_url, tmp_path / "kills", duration=20, kills=5)
    check(counts)
    assert counts.kills == 5


def test_a_rolling_restart_with_sigterm_loses_and_doubles_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    """Each worker in turn, then the webhook's serve, SIGTERMed and started again under load:
    every one exits 0, and no message is even in doubt (SIGTERM finishes what is in flight
    and gives back what it had not tried)."""
    counts = many(postgres_url, tmp_path / "rolling", duration=20, restarts=5)
    check(counts)
    assert counts.stop_codes == [0] * 5
    assert counts.messages_doubled == counts.in_doubt == 0


def test_four_workers_broadcasting_never_exceed_the_page_rate(
    postgres_url: str, tmp_path: Path
) -> None:
    """160 contacts, PAGEFLOWS_PAGE_RATE=10: at most 10 accepted calls in any second by the
    simulator's clock; slots (1 + 80 ms) / rate apart make it about 9.3 a second."""
    result = broadcast_pace(postgres_url, tmp_path / "pace", contacts=160, page_rate=10)
    report = json.dumps({k: v for k, v in result.as_json().items() if k != "log_problems"})
    print(f"\n{report}")
    assert result.passed, f"{result.failures}\n{report}"
    assert result.max_in_one_second <= 10
    assert 6.0 <= result.achieved_rate <= 10.0, report


def said_lines(log: str) -> list[str]:
    """What a process printed, less the harness's own doing: it tags each process's Graph
    calls with a made-up version (processes.graph_version), which pageflows rightly warns
    is not one of Facebook's."""
    return [
        line for line in log.splitlines() if line.strip() and "not in pageflows' table" not in line
    ]


def test_a_second_worker_or_serve_on_sqlite_is_refused_in_one_line(tmp_path: Path) -> None:
    flows = write_flows(tmp_path / "flows")
    url = f"sqlite:///{tmp_path / 'pageflows.db'}"
    first, second = (Worker(tmp_path, flows, Page(), url, slot) for slot in (1, 2))
    for worker in (first, second):
        worker.graph_url = "http://127.0.0.1:9/v25.0"  # never called: no work comes
    first.start()
    try:
        assert first.wait_healthy(60), first.log.read_text()
        second.start()
        assert second.process is not None
        code = second.process.wait(timeout=60)
        said = said_lines(second.log.read_text())
        assert code == 1
        assert len(said) == 1, said
        assert "SQLite" in said[0] and "PostgreSQL" in said[0], said
        # serve without --web-only runs a worker too: refused the same way.
        serve = Server(tmp_path, flows, Page(), url)
        serve.graph_url = first.graph_url
        serve.start()
        assert serve.process is not None
        assert serve.process.wait(timeout=60) == 1
        said = said_lines(serve.log.read_text())
        assert len(said) == 1 and "SQLite" in said[0] and "PostgreSQL" in said[0], said
        # The webhook alone takes no worker's place: it runs beside the one worker.
        web = WebServer(tmp_path, flows, Page(), url, 1)
        web.start()
        try:
            assert web.wait_healthy(60), web.log.read_text()
        finally:
            assert web.stop() == 0
        assert first.alive()  # none of them disturbed the worker already there
    finally:
        assert first.stop() == 0
