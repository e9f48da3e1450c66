"""Every /api request carries the admin token, or it is refused before any route runs.

`Authorization: Bearer TOKEN` (or, for a link opened in a browser, `?token=` on a
GET); compared in constant time. Without a configured token the API is off.
The token is never echoed back and never logged (the access log leaves out
query strings, web/application.py).
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, jsonify, request

from pageflows.api.context import ApiContext


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if request.method == "GET":
        return request.args.get("token") or None
    return None


def token_matches(given: str | None, expected: str) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def protect(blueprint: Blueprint, context: ApiContext) -> None:
    @blueprint.before_request
    def require_token() -> tuple[Response, int] | None:
        if not context.admin_token:
            return jsonify(
                error="the operator API is off: set PAGEFLOWS_ADMIN_TOKEN and restart"
            ), 404
        if token_matches(presented_token(), context.admin_token):
            return None
        response = jsonify(
            error="this needs the admin token: send the header Authorization: Bearer <token>"
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="pageflows"'
        return response, 401
