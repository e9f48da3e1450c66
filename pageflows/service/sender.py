"""The sender: queued outbox rows -> the Graph API -> a recorded status.

Outcomes are values (graph/client.py): sent (with Facebook's message id),
failed (code, subcode, message), or retried later with backoff for transient
errors. Retries are rows with a `next_attempt_at`, never sleeps.

Media goes by URL; a file over 25 MB (8 MB for images fetched from a URL),
or of a type Messenger does not take, goes out as a link in a text message
instead. Size and type come from a HEAD request, cached per URL.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from pageflows.clock import Clock
from pageflows.service.graph.client import (
    GraphClient,
    MediaInfo,
    NeedsOperator,
    Outcome,
    Refused,
    RetryLater,
    Sent,
)
from pageflows.service.graph.transport import Request, TransportError
from pageflows.service.storage.models import MediaCheck, OutboxMessage

log = logging.getLogger("pageflows.sender")
MAX_ATTEMPTS = 5
MAX_MEDIA_BYTES = 25 * 1024 * 1024
MAX_IMAGE_BYTES = 8 * 1024 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")
MEDIA_CACHE = timedelta(days=1)


def media_fits(kind: str, info: MediaInfo | None) -> bool:
    """Would Messenger take this attachment? Unknown size or type: no, send a link."""
    if info is None or info.size is None or info.content_type is None:
        return False
    content_type = info.content_type.split(";")[0].strip().lower()
    limit = MAX_IMAGE_BYTES if kind == "image" else MAX_MEDIA_BYTES
    if info.size > limit:
        return False
    if kind == "image":
        return content_type in IMAGE_TYPES
    if kind in ("audio", "video"):
        return content_type.startswith(kind + "/")
    return True


class Sender:
    def __init__(self, engine: Engine, clients: dict[str, GraphClient], clock: Clock) -> None:
        self.engine = engine
        self.clients = clients
        self.clock = clock

    def drain(self, limit: int = 200) -> int:
        now = self.clock.now()
        with Session(self.engine) as session:
            ids = session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == "queued",
                    or_(
                        OutboxMessage.next_attempt_at.is_(None),
                        OutboxMessage.next_attempt_at <= now,
                    ),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            ).all()
        for row_id in ids:
            self.send_one(row_id)
        return len(ids)

    def send_one(self, row_id: int) -> None:
        with Session(self.engine) as session:
            row = session.get(OutboxMessage, row_id)
            if row is None or row.status != "queued":
                return
            client = self.clients.get(row.page_id)
            if client is None:
                row.status, row.reason = "failed", "unknown_page"
                session.commit()
                return
            kind, body = row.kind, dict(row.body)
            if kind == "message":
                body = self.with_media_fallback(session, client, body)
                row.body = body
            session.commit()
        outcome = self.deliver(client, kind, body)
        self.record(row_id, outcome)

    def deliver(self, client: GraphClient, kind: str, body: dict[str, Any]) -> Outcome:
        if kind == "handoff":
            return client.pass_thread_control(str(body.get("psid", "")), body.get("reason"))
        if kind == "notify":
            try:
                answer = client.transport.send(
                    Request("POST", str(body["url"]), {}, body["payload"])
                )
            except TransportError as exc:
                return RetryLater(None, None, str(exc))
            if answer.status >= 500:
                return RetryLater(None, None, f"HTTP {answer.status}")
            if answer.status >= 400:
                return Refused(None, None, f"HTTP {answer.status}")
            return Sent(None)
        return client.send_message(body)

    def record(self, row_id: int, outcome: Outcome) -> None:
        now = self.clock.now()
        with Session(self.engine) as session, session.begin():
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.attempts += 1
            if isinstance(outcome, Sent):
                row.status, row.message_id, row.sent_at = "sent", outcome.message_id, now
                return
            row.error_code, row.error_subcode = outcome.code, outcome.subcode
            row.error_message = outcome.message
            if isinstance(outcome, RetryLater) and row.attempts < MAX_ATTEMPTS:
                row.next_attempt_at = now + timedelta(seconds=2**row.attempts)
                return
            row.status = "failed"
            level = logging.ERROR if isinstance(outcome, NeedsOperator) else logging.WARNING
            log.log(level, "message %s to %s failed: %s", row.id, row.contact_id, outcome.message)

    def with_media_fallback(
        self, session: Session, client: GraphClient, body: dict[str, Any]
    ) -> dict[str, Any]:
        message = body.get("message", {})
        attachment = message.get("attachment", {})
        kind = attachment.get("type")
        url = attachment.get("payload", {}).get("url")
        if kind not in ("image", "audio", "video", "file") or not isinstance(url, str):
            return body
        if media_fits(kind, self.media_info(session, client, url)):
            return body
        log.info("%s %s is too large or of a type Messenger refuses; sending a link", kind, url)
        return {**body, "message": {"text": url}}

    def media_info(self, session: Session, client: GraphClient, url: str) -> MediaInfo | None:
        now: datetime = self.clock.now()
        cached = session.get(MediaCheck, url)
        if cached is not None and now - cached.checked_at < MEDIA_CACHE:
            return MediaInfo(cached.size, cached.content_type)
        info = client.head(url)
        if info is None:
            return None
        session.merge(
            MediaCheck(url=url, size=info.size, content_type=info.content_type, checked_at=now)
        )
        return info
