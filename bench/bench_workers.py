"""Benchmark 7: 1, 2 and 4 `pageflows worker` processes on one PostgreSQL database.

On one fresh PostgreSQL database (from PAGEFLOWS_TEST_POSTGRES_URL), as many
`pageflows worker` processes as the largest count are started (the CLI, as an
operator runs them) and waited for (each registers its heartbeat). For a round
with n processes, the first n run and the others are stopped (SIGSTOP, while
the inbox is empty and all are idle: starting processes anew for each round
would cost more than the round); then --contacts new contacts' four events
each (bench/worker_world.py) are stored in the inbox in one go, through the webhook's own parse and
`store_batch` (whose notification wakes every worker), and the time until no
event is pending is measured from this process, polling the inbox every 20 ms.
At the end every process is stopped (SIGTERM; each must exit 0). Every process also
runs its sender; the page's pace is set to 1 message a second so that sending,
not measured here, takes next to no CPU from deciding. New contacts' profiles
are looked up on the Graph API simulator, a process of its own.

Figures: events decided per second by 2 and 4 processes against 1 in the same
run (rounds interleaved: 1, 2, 4, 1, 2, 4, ...; the best of each). Target:
4 / 1 >= 3. This machine has os.cpu_count() cores, shared with PostgreSQL, the
simulator and this process: more processes than cores cannot add CPU, so the
2 / 1 figure is the one the cores allow (see docs/performance.md).

Run: .venv/bin/python bench/bench_workers.py [--quick] [--processes 1,2,4]
     [--contacts N] [--rounds N] [--json PATH]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import OperationalError

from bench import worker_world as world
from bench.results import Results, arguments, ratio_at_least

DEFAULT_CONTACTS = 750  # 3,000 events per round
QUICK_CONTACTS = 10
PACE = 1.0  # messages a second: the senders stay all but idle
CORES = os.cpu_count() or 1


def start_workers(
    n: int, url: str, flows: Path, sim: world.Simulator, logs: Path
) -> list[subprocess.Popen[bytes]]:
    env = world.environment(url, sim.url, rate=PACE)
    procs = []
    for i in range(n):
        log = (logs / f"worker-{n}-{i}-{time.monotonic_ns()}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [world.PAGEFLOWS, "worker", str(flows)], env=env, stdout=log, stderr=log
            )
        )
    return procs


def wait_alive(engine: Engine, procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    """Until every process has registered its heartbeat (its loops are running)."""
    from pageflows.service.storage.models import WorkerProcess

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a worker exited {proc.returncode} while starting")
        with engine.connect() as c:
            alive = c.execute(
                select(func.count())
                .select_from(WorkerProcess)
                .where(WorkerProcess.stopping.is_(False))
            ).scalar_one()
        if alive >= len(procs):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{len(procs)} workers did not start within {timeout:g} s")


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    codes = []
    for proc in procs:
        try:
            codes.append(proc.wait(60))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append(proc.wait())
    if any(codes):
        raise RuntimeError(f"workers exited {codes} on SIGTERM (see their logs)")


def pause(procs: list[subprocess.Popen[bytes]], running: int, engine: Engine | None = None) -> None:
    """The first `running` processes work; the others are stopped (SIGSTOP) between rounds,
    while the inbox is empty and every process idle, so they hold no contact's lock.

    issue 13: G. A worker counts the live processes by their heartbeats to take its own
    share of the contacts first; a stopped one's beat would look fresh for 15 s more. So
    the stopped ones' beats are aged past it, as if they were gone (they beat again when
    continued), and the round waits for the running ones' next beat to count them."""
    for i, proc in enumerate(procs):
        proc.send_signal(signal.SIGCONT if i < running else signal.SIGSTOP)
    if engine is None:
        return
    from pageflows.service.heartbeat import BEAT_EVERY, STALE_AFTER
    from pageflows.service.storage.models import WorkerProcess

    stopped = [proc.pid for proc in procs[running:]]
    for _ in range(50):
        try:
            with engine.begin() as c:
                # A process stopped inside its beat's transaction holds its row's lock.
                c.execute(text("SET LOCAL lock_timeout = '200ms'"))
                c.execute(
                    update(WorkerProcess)
                    .where(WorkerProcess.pid.in_(stopped))
                    .values(beat_at=datetime.now(UTC) - STALE_AFTER - timedelta(seconds=5))
                )
            break
        except OperationalError:  # continued for a moment, it commits; stopped again
            for proc in procs[running:]:
                proc.send_signal(signal.SIGCONT)
            time.sleep(0.05)
            for proc in procs[running:]:
                proc.send_signal(signal.SIGSTOP)
    else:
        raise RuntimeError("the stopped processes' heartbeats stayed locked")
    time.sleep(BEAT_EVERY.total_seconds() + 0.3)


def busy_jiffies() -> tuple[int, int]:
    """(CPU time spent working, all CPU time) of the whole machine so far, in clock
    ticks (/proc/stat): the workers, PostgreSQL's backends, the simulator, all."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def one_round(
    n: int, procs: list[subprocess.Popen[bytes]], engine: Engine, contacts: int, prefix: int,
    qr: str,
) -> tuple[float, float]:  # fmt: skip
    """Events per second the first `n` worker processes decide, draining one round,
    and how many of the machine's cores were busy meanwhile (its share of all ticks)."""
    from pageflows.service.storage.inbox import pending_count
    from pageflows.service.storage.models import InboxEvent

    pause(procs, n, engine)  # and the woken ones back at their loops
    now = datetime.now(UTC)
    items = world.event_items(prefix, contacts, qr, now)
    # All in one transaction, so the workers see the whole round at once.
    stored = world.store(engine, items, now, batch=len(items))
    start = time.perf_counter()
    busy_before, all_before = busy_jiffies()
    deadline = start + 1800
    while pending_count(engine):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{n} workers did not drain {stored} events in time")
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    busy_after, all_after = busy_jiffies()
    cores_busy = CORES * (busy_after - busy_before) / max(1, all_after - all_before)
    time.sleep(0.3)  # every process finishes its pass before any is stopped
    with engine.connect() as c:
        statuses = dict(
            c.execute(select(InboxEvent.status, func.count()).group_by(InboxEvent.status)).all()
        )
    if set(statuses) != {"done"}:
        raise RuntimeError(f"not every event was decided: {statuses}")
    return stored / elapsed, cores_busy


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--processes", default=None, help="e.g. 1,2,4 (quick: 1,2)")
    parser.add_argument(
        "--contacts", type=int, default=None, help="contacts per round (4 events each)"
    )
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    counts = [int(p) for p in (args.processes or ("1,2" if args.quick else "1,2,4")).split(",")]
    if counts[0] != 1:
        raise SystemExit("--processes must start with 1 (the baseline)")
    contacts = args.contacts or (QUICK_CONTACTS if args.quick else DEFAULT_CONTACTS)
    rounds = args.rounds or (1 if args.quick else 2)
    results = Results("workers", quick=args.quick)

    with world.tempdir() as folder_name:
        folder = Path(folder_name)
        flows = world.write_flows(folder)
        logs = folder / "logs"
        logs.mkdir()
        with world.simulator() as sim, world.fresh_database("postgresql", folder) as url:
            svc = world.service(url, flows, sim.url)  # migrates; gives the quick reply's payload
            qr = world.quick_reply_payload(svc)
            engine = svc.engine
            best = dict.fromkeys(counts, 0.0)
            busy = dict.fromkeys(counts, 0.0)  # cores busy in each count's best round
            prefix = 0
            procs = start_workers(max(counts), url, flows, sim, logs)
            try:
                began = time.perf_counter()
                wait_alive(engine, procs)
                print(f"{len(procs)} workers started in {time.perf_counter() - began:.1f} s")
                for _ in range(rounds):
                    for n in counts:
                        prefix += 1
                        rate, cores_busy = one_round(n, procs, engine, contacts, prefix, qr)
                        if rate > best[n]:
                            best[n], busy[n] = rate, cores_busy
            finally:
                pause(procs, len(procs))
                began = time.perf_counter()
                stop_workers(procs)
                print(f"{len(procs)} workers stopped in {time.perf_counter() - began:.1f} s")
                engine.dispose()
    events = contacts * world.EVENTS_PER_CONTACT
    cores = CORES
    for n in counts:
        print(f"{n} process(es): {best[n]:,.0f} events/s, {busy[n]:.2f} of {cores} cores busy")
    # What more processes could add at most: the cores left idle while one decides.
    results.add(
        f"worker processes on PostgreSQL, {events:,} events: most the cores allow vs 1"
        f" ({cores} cores; all cores / cores busy with 1 process)",
        cores / max(busy[1], 0.01),
        "x",
        baseline=1.0,
        baseline_name="1 process: the machine's cores busy meanwhile (/proc/stat)",
    )
    for n in counts[1:]:
        results.add(
            f"worker processes on PostgreSQL, {events:,} events: {n} vs 1 ({cores} cores)",
            best[n],
            "events/s",
            baseline=best[1],
            baseline_name="1 pageflows worker process, same database, same run",
            target=ratio_at_least(3.0) if n == 4 else None,
        )
    print(results.table())
    results.write(args.json)


if __name__ == "__main__":
    main()
