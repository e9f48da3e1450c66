"""Which worker processes are alive: a row each, beaten every few seconds.

Web processes run apart from workers (on other machines, even), so `/healthz`
cannot look at a thread: it counts the worker rows beaten recently. A
process that stops cleanly deletes its row; a killed one just goes stale.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, func, select, update
from sqlalchemy.orm import Session

from pageflows.service.storage.models import WorkerProcess

BEAT_EVERY = timedelta(seconds=2)
STALE_AFTER = timedelta(seconds=15)
FORGET_AFTER = timedelta(hours=1)


def register(engine: Engine, now: datetime) -> str:
    worker_id = f"{socket.gethostname()[:100]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    with Session(engine) as session, session.begin():
        session.add(
            WorkerProcess(
                id=worker_id,
                host=socket.gethostname()[:255],
                pid=os.getpid(),
                started_at=now,
                beat_at=now,
            )
        )
    return worker_id


def beat(engine: Engine, worker_id: str, now: datetime, stopping: bool = False) -> tuple[int, int]:
    """The process's beat; returns its `share` among the live processes after it."""
    with engine.begin() as connection:
        connection.execute(
            update(WorkerProcess)
            .where(WorkerProcess.id == worker_id)
            .values(beat_at=now, stopping=stopping)
        )
        connection.execute(delete(WorkerProcess).where(WorkerProcess.beat_at < now - FORGET_AFTER))
        return share(connection, worker_id, now)


def share(connection: Connection, worker_id: str, now: datetime) -> tuple[int, int]:
    """issue 13: G. (this process's place, how many) among the live processes, by id: the
    share of the contacts it decides first (worker.py `process_inbox`). (0, 1), all of
    them, when it is not among them (its own beat is late, or it is stopping). Processes
    may disagree for a beat while one starts or stops: a share two take, or none takes,
    only costs a lock tried in vain or a pass that takes any contact's events."""
    live = connection.scalars(
        select(WorkerProcess.id).where(_live(now)).order_by(WorkerProcess.id)
    ).all()
    if worker_id not in live:
        return (0, 1)
    return (live.index(worker_id), len(live))


def forget(engine: Engine, worker_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(WorkerProcess).where(WorkerProcess.id == worker_id))


def alive(session: Session, now: datetime) -> int:
    """How many worker processes beat within STALE_AFTER and are not stopping."""
    count = session.scalar(select(func.count()).where(_live(now)))
    return int(count or 0)


def _live(now: datetime) -> ColumnElement[bool]:
    """Beaten within STALE_AFTER and not stopping: what `alive` counts and `share` divides by."""
    return and_(WorkerProcess.beat_at >= now - STALE_AFTER, WorkerProcess.stopping.is_(False))
