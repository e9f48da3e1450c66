"""Benchmark 5: claiming and firing due follow-ups, against APScheduler 3's SQLAlchemy job store.

Ours: on a fresh database (SQLite file; PostgreSQL from
PAGEFLOWS_TEST_POSTGRES_URL), --count contacts, each with one pending follow-up
(`after 20h unless replied:` of the bench flow, bench/worker_world.py) written
as the worker writes them: one contact is decided through its four events by
the engine (`core.handle`), and its state and its `Schedule` effect are stored
for every contact, with the contact's id, through `Worker.save_contact` and
`Worker.schedule`. The clock then moves past the due time and the worker
(`build_service`, as `pageflows worker` builds it, in this process, its start-up
heap frozen by `settle_heap` as `pageflows worker` freezes it) runs
`Worker.process_due` until no follow-up is pending (counted only after a pass
that decided nothing, as `pageflows worker` loops): each one claimed, decided
by the engine (a message queued in the outbox) and marked done. Timed: the
draining only; checked after: every follow-up done, one queued message each.

The baselines, on the same database in the same run: APScheduler 3's
`SQLAlchemyJobStore` (its own table, on the same SQLAlchemy engine) holding
--count `date` jobs, all due (run_date one second in the past). The scheduler
is a `BackgroundScheduler` started paused while the jobs are added (untimed),
with its default `ThreadPoolExecutor` (10 threads), `misfire_grace_time=None`
(a late job always runs, none is skipped), `coalesce=False`; timed from
`resume()` until the last job's EVENT_JOB_EXECUTED. (a) the job does nothing;
(b) the job inserts one row into a table of its own (its own transaction).
Checked: as many EVENT_JOB_EXECUTED as jobs, no EVENT_JOB_ERROR or
EVENT_JOB_MISSED, the job table empty after, and for (b) --count rows.

Target: ours >= 10x (b), follow-ups per second.

Run: .venv/bin/python bench/bench_followups.py [--quick] [--count N]
     [--databases sqlite,postgresql] [--json PATH]
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Column, Engine, Integer, MetaData, Table, func, insert, select
from sqlalchemy.orm import Session

from bench import worker_world as world
from bench.results import Results, ratio_at_least

DEFAULT_COUNT = 100_000
QUICK_COUNT = 100
WRITE_BATCH = 1000

# --------------------------------------------------------------------------- ours


def template_contact(svc: world.Service) -> tuple[Any, Any]:
    """One contact decided through its four events by the engine: its state, its Schedule."""
    from pageflows.engine.contact import ContactState
    from pageflows.engine.core import handle
    from pageflows.engine.effects import Schedule
    from pageflows.engine.events import MessageIn

    program = svc.worker.pages[world.PAGE].program
    qr = world.quick_reply_payload(svc)
    contact, schedule = ContactState(id="0"), None
    for step in range(world.EVENTS_PER_CONTACT):
        item = world.messaging("0", step, qr, world.START)
        message = item["message"]
        event = MessageIn(
            contact_id="0",
            timestamp=world.START,
            mid=message["mid"],
            text=message["text"],
            quick_reply=(message.get("quick_reply") or {}).get("payload"),
        )
        decision = handle(program, contact, event, world.START)
        contact = decision.contact
        for effect in decision.effects:
            if isinstance(effect, Schedule) and effect.purpose == "follow_up":
                schedule = effect
    if schedule is None:
        raise RuntimeError("the bench flow scheduled no follow-up")
    return contact, schedule


def store_follow_ups(svc: world.Service, count: int) -> datetime:
    """`count` contacts with one pending follow-up each; returns when they are all due."""
    contact, schedule = template_contact(svc)
    worker = svc.worker
    for first in range(0, count, WRITE_BATCH):
        with Session(svc.engine) as session, session.begin():
            for n in range(first, min(first + WRITE_BATCH, count)):
                psid = world.psid(1, n)
                worker.save_contact(
                    session, world.PAGE, contact.model_copy(update={"id": psid}), world.START
                )
                key = psid + schedule.key[len("0") :]
                worker.schedule(
                    session, world.PAGE, psid, schedule.model_copy(update={"key": key}), world.START
                )
    return schedule.due_at + timedelta(seconds=1)


def ours(database_url: str, flows: Path, sim: world.Simulator, count: int) -> float:
    """Follow-ups per second our worker claims and decides."""
    from pageflows.serve import settle_heap
    from pageflows.service.storage.models import FollowUp, OutboxMessage

    clock = world.FakeClock(world.START)
    svc = world.service(database_url, flows, sim.url, clock)
    settle_heap()  # as `pageflows worker` does once built, before its loops
    try:
        due = store_follow_ups(svc, count)
        clock.set(due)

        def pending() -> int:
            with svc.engine.connect() as c:
                return int(
                    c.execute(
                        select(func.count())
                        .select_from(FollowUp)
                        .where(FollowUp.status == "pending")
                    ).scalar_one()
                )

        start = time.perf_counter()
        world.drain_while_busy(svc.worker.process_due, pending, timeout=3600)
        elapsed = time.perf_counter() - start
        with svc.engine.connect() as c:
            statuses = dict(
                c.execute(select(FollowUp.status, func.count()).group_by(FollowUp.status)).all()
            )
            queued = c.execute(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "queued")
            ).scalar_one()
        if statuses != {"done": count} or queued != count:
            raise RuntimeError(f"not every follow-up fired once: {statuses}, {queued} queued")
        return count / elapsed
    finally:
        svc.engine.dispose()


# --------------------------------------------------------------------------- APScheduler

JOB_ROWS = MetaData()
JOB_TABLE = Table(
    "bench_job_rows", JOB_ROWS, Column("id", Integer, primary_key=True), Column("n", Integer)
)
_JOB_ENGINE: Engine | None = None


def job_nothing(n: int) -> None:
    """(a): the job does nothing; the job store's own work is all there is."""


def job_insert(n: int) -> None:
    """(b): the job inserts one row, in its own transaction."""
    assert _JOB_ENGINE is not None
    with _JOB_ENGINE.begin() as c:
        c.execute(insert(JOB_TABLE).values(n=n))


def apscheduler(engine: Engine, count: int, insert_row: bool) -> float:
    """Jobs per second APScheduler's SQLAlchemyJobStore runs, `count` of them all due."""
    global _JOB_ENGINE
    from apscheduler.events import (
        EVENT_JOB_ERROR,
        EVENT_JOB_EXECUTED,
        EVENT_JOB_MISSED,
        JobExecutionEvent,
    )
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    _JOB_ENGINE = engine
    JOB_ROWS.create_all(engine)
    with engine.begin() as c:
        c.execute(JOB_TABLE.delete())
    store = SQLAlchemyJobStore(engine=engine, tablename="bench_apscheduler_jobs")
    scheduler = BackgroundScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(10)},
        job_defaults={"misfire_grace_time": None, "coalesce": False, "max_instances": 1},
        timezone=UTC,
    )
    executed, failed = 0, 0
    lock, finished = threading.Lock(), threading.Event()

    def listen(event: JobExecutionEvent) -> None:
        nonlocal executed, failed
        with lock:
            if event.code == EVENT_JOB_EXECUTED:
                executed += 1
            else:
                failed += 1
            if executed + failed >= count:
                finished.set()

    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    scheduler.start(paused=True)
    try:
        run_date = datetime.now(UTC) - timedelta(seconds=1)
        job = job_insert if insert_row else job_nothing
        for n in range(count):
            scheduler.add_job(job, "date", run_date=run_date, args=(n,), id=f"job-{n}")
        start = time.perf_counter()
        scheduler.resume()
        if not finished.wait(3600):
            raise RuntimeError(f"APScheduler ran {executed} of {count} jobs in an hour")
        elapsed = time.perf_counter() - start
    finally:
        scheduler.shutdown(wait=True)
    with engine.connect() as c:
        left = c.execute(select(func.count()).select_from(store.jobs_t)).scalar_one()
        rows = c.execute(select(func.count()).select_from(JOB_TABLE)).scalar_one()
    if failed or executed != count or left or (insert_row and rows != count):
        raise RuntimeError(
            f"APScheduler: {executed} ran, {failed} failed or missed, {left} left, {rows} rows"
        )
    return count / elapsed


# --------------------------------------------------------------------------- main


def measure(
    results: Results, kind: str, url: str, flows: Path, sim: world.Simulator, count: int
) -> None:
    from pageflows.service.storage.database import make_engine

    ours_rate = ours(url, flows, sim, count)
    engine = make_engine(url)
    try:
        apscheduler(engine, 20, insert_row=True)  # warm up: its table, the first connections
        nothing = apscheduler(engine, count, insert_row=False)
        inserting = apscheduler(engine, count, insert_row=True)
    finally:
        engine.dispose()
    results.add(
        f"due follow-ups, {kind}, {count:,}: ours vs APScheduler jobs inserting a row",
        ours_rate,
        "per s",
        baseline=inserting,
        baseline_name="APScheduler 3 SQLAlchemyJobStore, BackgroundScheduler, 10 threads,"
        " each job inserting one row",
        target=ratio_at_least(10.0),
    )
    results.add(
        f"due follow-ups, {kind}, {count:,}: ours vs APScheduler jobs doing nothing",
        ours_rate,
        "per s",
        baseline=nothing,
        baseline_name="APScheduler 3 SQLAlchemyJobStore, BackgroundScheduler, 10 threads,"
        " each job doing nothing",
    )


def main() -> None:
    parser = world_arguments()
    args = parser.parse_args()
    count = args.count or (QUICK_COUNT if args.quick else DEFAULT_COUNT)
    results = Results("followups", quick=args.quick)
    with world.tempdir() as folder_name:
        folder = Path(folder_name)
        flows = world.write_flows(folder)
        with world.simulator() as sim:
            for kind in world.databases(args.databases):
                with world.fresh_database(kind, folder) as url:
                    measure(results, kind, url, flows, sim, count)
    print(results.table())
    results.write(args.json)


def world_arguments() -> Any:
    from bench.results import arguments

    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--count", type=int, default=None, help="due follow-ups (and jobs)")
    return parser


if __name__ == "__main__":
    main()
