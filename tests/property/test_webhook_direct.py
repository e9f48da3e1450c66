"""The webhook's direct path (webhook/direct.py: the 200 answered without Flask) against the
Flask route alone, the reference: for any body Facebook might send, signed, unsigned or
forged, the same status, headers and body, the same inbox rows and the same wake-ups, on
SQLite and PostgreSQL; and what only Flask answers (a chunked body, one too large, a
cookie) still reaches Flask."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fresh_databases import fresh_postgres
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from webhook_payloads import Post, webhook_posts
from werkzeug.test import TestResponse

from pageflows.clock import FakeClock
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import InboxEvent
from pageflows.webhook.app import create_app
from pageflows.webhook.direct import DirectIngest

SECRET = "webhook-direct-secret"
RECEIVED = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
COMPARED = ("page_id", "contact_id", "kind", "dedup_key", "occurred_at", "received_at")


def sign(raw: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


class Side:
    """One app on its own database, counting the worker wake-ups it asked for."""

    def __init__(self, url: str, direct: bool) -> None:
        self.engine: Engine = make_engine(url, pre_ping=False)
        upgrade(self.engine)
        self.wakes = 0
        self.app = create_app(
            engine=self.engine,
            app_secret=SECRET,
            verify_token="verify",
            clock=FakeClock(RECEIVED),
            wake=self.woken,
            max_body=4_000,
        )
        assert isinstance(self.app.wsgi_app, DirectIngest)
        self.flask_answers = 0
        layer = self.app.wsgi_app
        if not direct:
            self.app.wsgi_app = layer.flask  # type: ignore[method-assign]
        inner = layer.flask

        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            self.flask_answers += 1
            return inner(environ, start_response)

        layer.flask = counted
        self.client = self.app.test_client()

    def woken(self) -> None:
        self.wakes += 1

    def post(self, raw: bytes, headers: dict[str, str], **options: Any) -> TestResponse:
        return self.client.post("/webhook", data=raw, headers=headers, **options)

    def rows(self) -> list[tuple[Any, ...]]:
        with Session(self.engine) as session:
            found = session.scalars(select(InboxEvent).order_by(InboxEvent.id))
            return [(*(getattr(r, c) for c in COMPARED), r.payload, r.status) for r in found]


@pytest.fixture(params=["sqlite", "postgresql"])
def sides(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            urls = [f"sqlite:///{tmp_path / name}" for name in ("direct.db", "flask.db")]
        else:
            urls = [stack.enter_context(_generator(fresh_postgres())) for _ in range(2)]
        pair = Side(urls[0], direct=True), Side(urls[1], direct=False)
        yield pair
        for side in pair:
            side.engine.dispose()


class _generator:
    """A fixture-style generator (yield the value, then clean up) as a context manager."""

    def __init__(self, generator: Iterator[str]) -> None:
        self.generator = generator

    def __enter__(self) -> str:
        return next(self.generator)

    def __exit__(self, *exc: object) -> None:
        for _ in self.generator:
            pass


def headers_for(post: Post, raw: bytes) -> dict[str, str]:
    signature = {"valid": sign(raw), "none": None, "wrong": "sha256=" + "0" * 64}[post.signing]
    return {} if signature is None else {"X-Hub-Signature-256": signature}


def same_answer(direct: TestResponse, flask: TestResponse) -> None:
    assert (direct.status, direct.get_data()) == (flask.status, flask.get_data())
    assert sorted(direct.headers.items()) == sorted(flask.headers.items())


def test_any_post_is_answered_and_stored_as_the_flask_route_does(
    sides: tuple[Side, Side],
) -> None:
    direct, flask = sides
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(webhook_posts())
    def post_one(post: Post) -> None:
        raw = post.encode()
        headers = headers_for(post, raw)
        answer = direct.post(raw, headers)
        same_answer(answer, flask.post(raw, headers))
        statuses[answer.status_code] += 1

    post_one()
    assert direct.rows() == flask.rows()
    assert direct.wakes == flask.wakes
    assert {200, 400, 403} <= set(statuses)  # the generator reached every answer
    # Flask answered everything but the 200s on the direct side: the direct path was taken.
    assert direct.flask_answers == statuses.total() - statuses[200]


def test_what_only_flask_answers_still_reaches_it(sides: tuple[Side, Side]) -> None:
    direct, flask = sides
    body = b'{"object":"page","entry":[{"id":"1","messaging":[]}]}'
    large = b'{"object":"page","entry":[]' + b" " * 5_000 + b"}"
    cases: list[tuple[bytes, dict[str, str], dict[str, Any]]] = [
        (large, {"X-Hub-Signature-256": sign(large)}, {}),  # 413
        (body, {"X-Hub-Signature-256": sign(body), "Cookie": "session=x"}, {}),
        (body, {"X-Hub-Signature-256": sign(body)}, {"query_string": "a=1"}),
    ]
    for raw, headers, options in cases:
        same_answer(direct.post(raw, headers, **options), flask.post(raw, headers, **options))
    chunked = {"X-Hub-Signature-256": sign(body), "Transfer-Encoding": "chunked"}
    same_answer(direct.post(body, chunked), flask.post(body, chunked))
    assert direct.rows() == flask.rows()
