"""Errors as JSON: what went wrong and, where it helps, what to do. Never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("pageflows.api")


class ApiError(Exception):
    """A refusal a route decides: its status, one sentence, and any facts that explain it."""

    def __init__(self, status: int, error: str, **details: Any) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = details


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 4xx that says what was wrong with it.

    Text the databases cannot hold (a lone surrogate, which JSON's \\ud800 escapes can
    carry) and nesting deep enough to exhaust the parser are refused here, as the
    webhook refuses them, rather than failing later as a 500.
    """
    if not request.is_json:
        raise ApiError(415, "send the body as JSON, with Content-Type: application/json")
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, 'send a JSON object, such as {"text": "Hello"}')
    where = _unencodable(body, "")
    if where is not None:
        raise ApiError(400, f"{where} holds text that is not valid Unicode (a lone surrogate)")
    return body


def _unencodable(value: Any, where: str) -> str | None:
    """The path of the first key or string UTF-8 cannot encode, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "the body"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            found = _unencodable(key, where) or _unencodable(item, path)
            if found is not None:
                return found
    if isinstance(value, list):
        for n, item in enumerate(value):
            found = _unencodable(item, f"{where}[{n}]")
            if found is not None:
                return found
    return None


def install(blueprint: Blueprint) -> None:
    @blueprint.errorhandler(ApiError)
    def refused(exc: ApiError) -> tuple[Response, int]:
        return jsonify(error=exc.error, **exc.details), exc.status

    @blueprint.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return jsonify(error=exc.description or exc.name), exc.code or 400

    @blueprint.errorhandler(OperationalError)
    @blueprint.errorhandler(InterfaceError)
    @blueprint.errorhandler(DisconnectionError)
    def database_down(exc: Exception) -> tuple[Response, int]:
        log.error("the database is unavailable: %s", type(exc).__name__)
        return jsonify(error="the database is unavailable; try again in a moment"), 503

    @blueprint.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return jsonify(error="internal error; it is in the server's log"), 500
