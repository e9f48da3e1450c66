"""The Flask app: verify, parse into typed events, store, answer 200 fast. Nothing else.

Processing is not on the request path: the batch goes into the inbox in one
transaction (a redelivered event is recognised by its dedup key) and the
worker is woken. Bad input gets a status and a reason (400 malformed or not
storable, 403 signature, 413 too large), never a 500; a database that cannot
be reached is a 503, which Facebook retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from pageflows.clock import Clock
from pageflows.service import health
from pageflows.service.storage.inbox import Unstorable, store_batch
from pageflows.webhook.direct import DirectIngest, reraise_failure
from pageflows.webhook.fit import inbox_row
from pageflows.webhook.parse import Malformed, parse_body
from pageflows.webhook.verify import signature_is_valid, verify_handshake

log = logging.getLogger("pageflows.webhook")
MAX_BODY_BYTES = 1_000_000


def create_app(
    *,
    engine: Engine,
    app_secret: str,
    verify_token: str,
    clock: Clock,
    wake: Callable[[], None] = lambda: None,
    max_body: int = MAX_BODY_BYTES,
) -> Flask:
    app = Flask("pageflows.webhook")
    app.config["MAX_CONTENT_LENGTH"] = max_body

    @app.get("/webhook")
    def handshake() -> Response | tuple[str, int]:
        challenge = verify_handshake(request.args, verify_token)
        if challenge is None:
            return "verify token mismatch", 403
        return Response(challenge, mimetype="text/plain")

    def accept(raw: bytes, signature: str | None) -> bytes | None:
        """The 200's body when `raw` is signed, well formed and stored, as `receive` would
        answer it; None for every other answer, which `receive` gives (webhook/direct.py)."""
        if not signature_is_valid(app_secret, raw, signature):
            return None
        now = clock.now()
        parsed = parse_body(raw, max_body, received_at=now)
        if isinstance(parsed, Malformed):
            return None
        rows = [inbox_row(event) for event in parsed.events]
        stored = store_batch(engine, rows, now)
        if isinstance(stored, Unstorable):
            return None
        if stored:
            wake()
        return _answer(stored, len(rows)).encode()

    @app.post("/webhook")
    def receive() -> tuple[Response, int]:
        """The reference: every answer but the direct path's 200s, and all of them when the
        app is called without it."""
        reraise_failure(request.environ)
        raw = request.get_data(cache=False)
        if not signature_is_valid(app_secret, raw, request.headers.get("X-Hub-Signature-256")):
            return jsonify(error="missing or wrong X-Hub-Signature-256"), 403
        now = clock.now()
        parsed = parse_body(raw, max_body, received_at=now)
        if isinstance(parsed, Malformed):
            return jsonify(error=parsed.reason), 400
        rows = [inbox_row(event) for event in parsed.events]
        stored = store_batch(engine, rows, now)
        if isinstance(stored, Unstorable):
            log.warning("refused a webhook body the database cannot hold: %s", stored.reason)
            return jsonify(error=f"the events cannot be stored: {stored.reason}"), 400
        if stored:
            wake()
        return Response(_answer(stored, len(rows)), mimetype="application/json"), 200

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        """503 only when this process cannot do its job (store events: no database). No
        worker process alive, a parked event or a paused page is `degraded` with the
        reason: the webhook still stores, and whatever it stores waits, nothing is lost."""
        checks: dict[str, Any] = {}
        try:
            checks.update(_report(engine, clock))
            checks["database"] = True
        except Exception as exc:  # any failure means "not healthy"
            checks["database"] = False
            checks["database_error"] = type(exc).__name__
        healthy = checks["database"]
        status = "unhealthy" if not healthy else "degraded" if checks.get("problems") else "ok"
        return jsonify(status=status, **checks), 200 if healthy else 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return jsonify(error=exc.description or exc.name), exc.code or 400

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    def database_down(exc: Exception) -> tuple[Response, int]:
        log.error("the database is unavailable: %s", type(exc).__name__)
        reason = "database unavailable; nothing was stored, Facebook will redeliver"
        return jsonify(error=reason), 503

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return jsonify(error="internal error; nothing was lost, Facebook will redeliver"), 500

    app.wsgi_app = DirectIngest(app.wsgi_app, accept, max_body)  # type: ignore[method-assign]
    return app


def _answer(stored: int, received: int) -> str:
    """The 200's body: what jsonify would write, without its provider's machinery."""
    return f'{{"new":{stored},"received":{received}}}\n'


def _report(engine: Engine, clock: Clock) -> dict[str, Any]:
    """`health.report`, once more when the pooled connection it took was dead: the webhook's
    engine pings no connection before use (web/application.py), so the first request after
    a database restart finds a dead one, and SQLAlchemy then replaces them all."""
    try:
        return health.report(engine, clock.now())
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return health.report(engine, clock.now())
