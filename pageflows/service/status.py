"""`pageflows status` and GET /api/status: the health report, page by page, with what to do.

Builds on health.report (what `/healthz` says) and adds what an operator
checks next: each configured page's state (sending, slowed, or paused with the
reason and the way out), failed messages, broadcasts still running, and each
worker's last heartbeat. Nothing here holds a token: a page is named by id and name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pageflows.service import health
from pageflows.service.config import PageConfig
from pageflows.service.heartbeat import STALE_AFTER
from pageflows.service.storage.models import BroadcastRun, OutboxMessage, WorkerProcess

# What to do about each pause reason (service/graph/client.py decides the reasons).
WHAT_TO_DO = {
    "token_invalid": "give the page a new token (Refresh permissions on the console's Pages"
    " page, or PAGEFLOWS_PAGE_TOKEN or token under its [[pages]] and restart or send SIGHUP);"
    " sending resumes by itself",
    "permission_missing": "grant the app the missing permission (pages_messaging) in Meta's"
    " app settings, make a new token and restart; sending resumes by itself",
    "token_or_permission": "check the page's token and the app's permissions, make a new"
    " token and restart; sending resumes by itself",
    "policy_block": "Facebook blocked the page for a policy issue: fix it in the Page's"
    " Support Inbox; sending resumes on Facebook's unblock, or `pageflows pages resume ID`",
}
DEFAULT_WHAT_TO_DO = "fix the cause, then `pageflows pages resume PAGE_ID`"


def report(engine: Engine, pages: Sequence[PageConfig], now: datetime) -> dict[str, Any]:
    """health.report plus per-page states, failed messages, broadcasts and heartbeats."""
    base = health.report(engine, now)
    with Session(engine) as session:
        failed = dict(
            session.execute(
                select(OutboxMessage.page_id, func.count())
                .where(OutboxMessage.status == "failed")
                .group_by(OutboxMessage.page_id)
            ).all()
        )
        queued = dict(
            session.execute(
                select(OutboxMessage.page_id, func.count())
                .where(OutboxMessage.status == "queued")
                .group_by(OutboxMessage.page_id)
            ).all()
        )
        runs = session.scalars(
            select(BroadcastRun)
            .where(BroadcastRun.status == "running")
            .order_by(BroadcastRun.started_at)
        ).all()
        workers = session.scalars(
            select(WorkerProcess).order_by(WorkerProcess.beat_at.desc()).limit(50)
        ).all()
        broadcasts = [
            {
                "page": r.page_id,
                "name": r.name,
                "started_at": r.started_at.isoformat(),
                "contacts": r.contacts,
                "requested": r.requested,
            }
            for r in runs
        ]
        heartbeats = [
            {
                "id": w.id,
                "host": w.host,
                "pid": w.pid,
                "started_at": w.started_at.isoformat(),
                "beat_at": w.beat_at.isoformat(),
                "seconds_ago": int((now - w.beat_at).total_seconds()),
                "alive": w.beat_at >= now - STALE_AFTER and not w.stopping,
                "stopping": w.stopping,
            }
            for w in workers
        ]
    paused = {p["page"]: p for p in base["paused_pages"]}
    slowed = {s["page"]: s for s in base["slowed_pages"]}
    ids = [p.id for p in pages] + [p for p in base["pages"] if p not in {c.id for c in pages}]
    configs = {p.id: p for p in pages}
    page_rows = []
    for page_id in ids:
        config = configs.get(page_id)
        row: dict[str, Any] = {
            "id": page_id,
            "name": config.name if config else None,
            "configured": config is not None,
            "human_agent": config.human_agent if config else None,
            "username": config.username if config else None,
            "state": "sending",
            "queued": int(queued.get(page_id, 0)),
            "failed": int(failed.get(page_id, 0)),
        }
        if page_id in paused:
            p = paused[page_id]
            row.update(
                state="paused",
                reason=p["reason"],
                detail=p["detail"],
                code=p["code"],
                what_to_do=WHAT_TO_DO.get(str(p["reason"]), DEFAULT_WHAT_TO_DO),
            )
        elif page_id in slowed:
            row.update(state="slowed", until=slowed[page_id]["until"])
        page_rows.append(row)
    outbox = {**base["outbox"], "failed": int(sum(failed.values()))}
    return {
        **base,
        "outbox": outbox,
        "pages": page_rows,
        "broadcasts_running": broadcasts,
        "heartbeats": heartbeats,
    }
