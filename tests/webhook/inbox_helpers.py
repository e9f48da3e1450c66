"""Helpers for the webhook tests: sign a body as Facebook does, post it, read the inbox back."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from pageflows.service.storage.models import InboxEvent

SECRET = "webhook-test-secret"
RECEIVED = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def sign(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def encode(body: Any) -> bytes:
    """Bytes as they are; anything else as compact JSON, the way Facebook sends it."""
    return body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()


@dataclass
class Inbox:
    engine: Engine
    client: FlaskClient

    def post(self, body: Any, secret: str = SECRET) -> TestResponse:
        raw = encode(body)
        return self.client.post(
            "/webhook",
            data=raw,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, secret)},
        )

    def rows(self) -> list[InboxEvent]:
        with Session(self.engine) as session:
            return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))
