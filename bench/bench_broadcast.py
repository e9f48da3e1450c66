"""Benchmark 6: a broadcast to 100,000 contacts at the page's pace (issue 13, part E).

A fresh database (SQLite file, then a fresh PostgreSQL database when
PAGEFLOWS_TEST_POSTGRES_URL is set, as `.ci/postgres.sh` does) holds N contacts
of one page, each with an open 24 h window, and a flow with a broadcast `to
everyone` due now. One worker process (`build_service` + `Service.start`, what
`pageflows worker` runs; its own process, so its memory is its own) decides the
deliveries and sends them to the Graph API simulator, itself a separate process
(gunicorn gthread, never importing our engine) that knows the N contacts and
answers every call in `--delay` seconds (50 ms). The page's pace is `--rate`
(250/s: above the 40/s `pageflows.toml` allows, Facebook's Page Inbox limit, so
the worker is given it directly, as `pages.ensure` does for a configured rate).

Figures, each against a baseline from the same run:
- sends per second in steady state (the middle 80% of the calls, by the
  simulator's clock) against the pace: target >= 0.95;
- the most calls any sliding one-second window holds, at the simulator,
  against the pace: target <= 1 (never exceeded);
- the same sends per second against a bare loop of the same Send API calls
  through `requests` at the same concurrency (what the network path and the
  simulator allow, without a database or a pace): information;
- the time from the broadcast's start to its last delivery decided, against
  the time the pace itself needs to send them (N / rate): information;
- the worker process's peak RSS against its RSS when built, before the
  broadcast: information.
Every contact must get the broadcast exactly once, or the run fails.

Run: .venv/bin/python bench/bench_broadcast.py [--quick] [--contacts N]
     [--databases sqlite,postgresql] [--rate 250] [--delay 0.05]
The long form sends 100,000 / 250 = 400 s per database (about 15 minutes in all);
--quick sends 250 per database (about 15 s in all, mostly starting the servers).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
from results import Results, arguments, ratio_at_least, ratio_at_most

from pageflows.ports import free_port

PAGE = "104123456789012"
TOKEN = "bench-broadcast-token"
SECRET = "bench-broadcast-secret"
NAME = "bench"
TEXT = "the bench broadcast"
PSID_BASE = 7_600_000_000_000_000
FLOW = 'on keyword "never-said-in-the-bench" exact:\n    send "never"\n'


def psids(count: int) -> list[str]:
    return [str(PSID_BASE + n) for n in range(count)]


def rss_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (the peak) of a process, in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


# ---------------------------------------------------------------- the two child processes


def simulator_app(count: int) -> Any:
    """The simulator's WSGI app (gunicorn calls this in its own process): the N contacts
    known with open windows; `/_bench/times` lists when each accepted send arrived (the
    simulator's clock, before its answer time) and to whom."""
    from flask import jsonify

    from pageflows.simulator.app import create_app
    from pageflows.simulator.state import SimState

    state = SimState()
    now = datetime.now(UTC)
    for psid in psids(count):
        state.ensure_contact(PAGE, psid).last_message_at = now
    app = create_app(state)

    def times() -> Any:
        with state.lock:
            accepted = [e for e in state.log if e.get("ok") and e.get("recipient_id")]
        return jsonify(
            {
                # When each call arrived (before the simulator's 50 ms answer time):
                # what Facebook's rate limit counts.
                "at": [e["received_at"] for e in accepted],
                "recipient_id": [e["recipient_id"] for e in accepted],
            }
        )

    app.add_url_rule("/_bench/times", "bench_times", times)
    return app


def simulator_command(count: int, port: int) -> list[str]:
    """gunicorn, threaded, with keep-alive (werkzeug's server closes every connection, and
    a new connection per call costs both sides more than the call)."""
    return [
        str(Path(sys.executable).with_name("gunicorn")),
        "--worker-class", "gthread", "--workers", "1", "--threads", "64",
        "--keep-alive", "30", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        "--chdir", str(Path(__file__).resolve().parent),
        f"bench_broadcast:simulator_app({count})",
    ]  # fmt: skip


def run_worker(database_url: str, flows: str, graph_url: str, rate: float) -> None:
    """The worker's process: built as `pageflows worker` builds it, the page's pace set to
    `rate`; prints its RSS once built, then runs until SIGTERM."""
    from pageflows.clock import SystemClock
    from pageflows.serve import build_service, settle_heap
    from pageflows.service import pages
    from pageflows.service.config import PageConfig, Settings

    settings = Settings(
        database_url=database_url,
        app_secret=SECRET,
        verify_token="bench",
        graph_url=graph_url,
        pages=(PageConfig(id=PAGE, token=TOKEN, rate=rate),),
    )
    clock = SystemClock()
    service = build_service(settings, flows, clock, graph_url=graph_url)
    pages.ensure(service.engine, [PAGE], clock.now(), {PAGE: rate})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(rss_kib(os.getpid(), "VmRSS"), flush=True)
    settle_heap()  # as `pageflows worker` does
    service.start()
    stop.wait()
    service.stop()


# ---------------------------------------------------------------- the parent


@contextmanager
def child(command: list[str], stdout: Any = subprocess.PIPE) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(command, stdout=stdout, text=True, cwd=os.getcwd())
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def simulator(count: int) -> Iterator[str]:
    """The simulator's root URL, once it answers."""
    port = free_port()
    with child(simulator_command(count, port), stdout=None):
        root = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{root}/_bench/times", timeout=5).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield root


@contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    import psycopg

    admin_url = os.environ["PAGEFLOWS_TEST_POSTGRES_URL"]
    name = f"pageflows_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(database_url: str, count: int, now: datetime) -> None:
    """N contacts of the page, each with a message a minute ago (an open window)."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from pageflows.service.storage.database import make_engine
    from pageflows.service.storage.migrate import upgrade
    from pageflows.service.storage.models import Contact

    engine = make_engine(database_url)
    upgrade(engine)
    last = now - timedelta(minutes=1)
    rows = [
        {
            "page_id": PAGE,
            "psid": psid,
            "state": {"id": psid, "last_user_message_at": last.isoformat()},
            "last_user_message_at": last,
            "updated_at": last,
            "first_seen_at": last,
        }
        for psid in psids(count)
    ]
    with Session(engine) as session, session.begin():
        for start in range(0, count, 5000):
            session.execute(insert(Contact), rows[start : start + 5000])
    engine.dispose()


def bare_loop(graph_url: str, count: int, threads: int, seconds: float) -> float:
    """Send API calls per second through `requests`, `threads` at once, no pace, no
    database: what the network path and the simulator allow."""
    done = [0] * threads
    until = time.monotonic() + seconds
    targets = psids(count)

    def loop(n: int) -> None:
        session = requests.Session()
        while time.monotonic() < until:
            psid = targets[(n + threads * done[n]) % len(targets)]
            body = {"recipient": {"id": psid}, "message": {"text": "bare"}}
            session.post(
                f"{graph_url}/me/messages", params={"access_token": TOKEN}, json=body, timeout=10
            ).raise_for_status()
            done[n] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done) / (time.monotonic() - started)


def steady_rate(moments: list[float]) -> float:
    """Calls per second over the middle 80% of the calls (start and end ramps left out)."""
    ordered = sorted(moments)
    cut = len(ordered) // 10
    middle = ordered[cut : len(ordered) - cut]
    return (len(middle) - 1) / (middle[-1] - middle[0])


def max_in_one_second(moments: list[float]) -> int:
    ordered, most, start = sorted(moments), 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def progress(database_url: str) -> tuple[int, datetime | None, datetime | None]:
    """Broadcast messages in a final state, when the run started, when the last was decided."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from pageflows.service.storage.database import make_engine
    from pageflows.service.storage.models import BroadcastRun, OutboxMessage

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            final = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("sent", "failed", "skipped")))
            )
            started = session.scalar(select(BroadcastRun.started_at))
            last = session.scalar(select(func.max(OutboxMessage.created_at)))
    finally:
        engine.dispose()
    return int(final or 0), started, last


def measure(kind: str, count: int, rate: float, delay: float, results: Results) -> None:
    with tempfile.TemporaryDirectory() as tmp, fresh_database(kind, Path(tmp)) as url:
        workdir = Path(tmp)
        now = datetime.now(UTC)
        flows = workdir / "flows"
        flows.mkdir()
        (flows / "main.flow").write_text(
            f'{FLOW}\nbroadcast {NAME} to everyone at "{now:%Y-%m-%d %H:%M}" in "UTC":\n'
            f'    send "{TEXT}"\n',
            "utf-8",
        )
        fill(url, count, now)
        with simulator(count) as root:
            graph_url = f"{root}/v25.0"
            control = requests.Session()
            control.post(
                f"{root}/_sim/pages",
                json={"page_id": PAGE, "token": TOKEN, "app_secret": SECRET,
                      "webhook_url": "http://127.0.0.1:9/webhook"},
                timeout=30,
            ).raise_for_status()  # fmt: skip
            control.post(f"{root}/_sim/faults", json={"delay_seconds": delay}, timeout=30)
            lanes = math.ceil(rate * delay * 1.5) + 1
            bare = bare_loop(graph_url, count, lanes, 0.5 if results.quick else 5.0)
            control.delete(f"{root}/_sim/messages", timeout=30).raise_for_status()

            started = time.monotonic()
            command = [sys.executable, __file__, "--worker", url, str(flows), graph_url, str(rate)]
            with child(command) as worker:
                assert worker.stdout is not None
                idle_kib = int(worker.stdout.readline().strip())
                deadline = started + count / rate * 3 + 60
                final = 0
                while time.monotonic() < deadline:
                    time.sleep(0.2)  # how often the database is asked: a short wait at the end
                    final, run_started, last_decided = progress(url)
                    if final >= count or worker.poll() is not None:
                        break
                peak_kib = rss_kib(worker.pid, "VmHWM") if worker.poll() is None else 0
            elapsed = time.monotonic() - started
            answer = control.get(f"{root}/_bench/times", timeout=120).json()
        moments = [datetime.fromisoformat(at).timestamp() for at in answer["at"]]
        got = answer["recipient_id"]
        if final < count or len(got) != count or set(got) != set(psids(count)):
            raise SystemExit(
                f"{kind}: {final} of {count} deliveries final after {elapsed:.0f} s,"
                f" {len(got)} sends to {len(set(got))} contacts: not each contact once"
            )
        assert run_started is not None and last_decided is not None
        decided = (last_decided - run_started).total_seconds()
        steady = steady_rate(moments)
        print(
            f"{kind}: {count} sent in {elapsed:.1f} s; decided in {decided:.1f} s;"
            f" {lanes} bare threads did {bare:.0f}/s",
            flush=True,
        )
        where = f"broadcast {count:,}, {kind}"
        results.add(
            f"{where}: sends/s in steady state vs the pace",
            steady,
            "sends/s",
            baseline=rate,
            baseline_name="the page's configured pace",
            target=ratio_at_least(0.95),
        )
        results.add(
            f"{where}: most sends in any 1 s window vs the pace",
            max_in_one_second(moments),
            "sends",
            baseline=rate,
            baseline_name="the page's configured pace",
            target=ratio_at_most(1.0),
        )
        results.add(
            f"{where}: sends/s vs a bare requests loop",
            steady,
            "sends/s",
            baseline=bare,
            baseline_name=f"requests, {lanes} threads, no pace, no database",
        )
        results.add(
            f"{where}: time to decide every delivery",
            decided,
            "s",
            baseline=count / rate,
            baseline_name="the time the pace takes to send them",
        )
        results.add(
            f"{where}: worker peak RSS vs built",
            peak_kib / 1024,
            "MiB",
            baseline=idle_kib / 1024,
            baseline_name="the worker's RSS once built, before the broadcast",
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        run_worker(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
        return
    parser = arguments(__doc__.splitlines()[0] if __doc__ else "bench_broadcast")
    parser.add_argument("--contacts", type=int, help="contacts (default 100,000; quick 250)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--rate", type=float, default=250.0, help="the page's pace, sends/s")
    parser.add_argument("--delay", type=float, default=0.05, help="the simulator's answer time")
    args = parser.parse_args()
    count = args.contacts or (250 if args.quick else 100_000)
    results = Results("broadcast", quick=args.quick)
    for kind in args.databases.split(","):
        if kind == "postgresql" and not os.environ.get("PAGEFLOWS_TEST_POSTGRES_URL"):
            print("postgresql: skipped (PAGEFLOWS_TEST_POSTGRES_URL is not set)", flush=True)
            continue
        measure(kind, count, args.rate, args.delay, results)
    print(results.table())
    results.write(args.json)
    print(json.dumps({"written": str(args.json)}))


if __name__ == "__main__":
    main()
