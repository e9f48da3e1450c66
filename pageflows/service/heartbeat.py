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

from sqlalchemy import Engine, delete, func, select, update
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


def beat(engine: Engine, worker_id: str, now: datetime, stopping: bool = False) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(WorkerProcess)
            .where(WorkerProcess.id == worker_id)
            .values(beat_at=now, stopping=stopping)
        )
        connection.execute(delete(WorkerProcess).where(WorkerProcess.beat_at < now - FORGET_AFTER))


def forget(engine: Engine, worker_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(WorkerProcess).where(WorkerProcess.id == worker_id))


def alive(session: Session, now: datetime) -> int:
    """How many worker processes beat within STALE_AFTER and are not stopping."""
    count = session.scalar(
        select(func.count()).where(
            WorkerProcess.beat_at >= now - STALE_AFTER, WorkerProcess.stopping.is_(False)
        )
    )
    return int(count or 0)
