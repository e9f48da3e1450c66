"""The webhook's usual request (a signed body, well formed, stored) answered without Flask.

Why: Flask's request context, URL matching and response object cost about a third
of a webhook request's time in the profile, more than everything the 200 itself
needs. This WSGI layer sits in front of the Flask app (`create_app`), reads the body
of a `POST /webhook` that gives its `Content-Length`, and answers the 200 itself
when `accept` stored it. Every other request, and every other answer (403 forged,
400 malformed or unstorable, 413 too large, 503 database down, 500), is the Flask
route's, the reference: it reads the same bytes, and an exception `accept` raised is
raised again there (`reraise_failure`), so that nothing is stored twice and each
answer is the one it always was.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

Accept = Callable[[bytes, str | None], bytes | None]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
FAILURE = "pageflows.webhook.failure"  # environ key: what `accept` raised, for the Flask route
_ANSWER_HEADERS = ("Content-Type", "application/json")


class DirectIngest:
    """WSGI: `POST /webhook` answered by `accept` when it gives the 200's body, else by Flask."""

    def __init__(self, flask: WsgiApp, accept: Accept, max_body: int) -> None:
        self.flask = flask
        self.accept = accept
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = self._length(environ)
        if length is None:
            return self.flask(environ, start_response)
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)  # the Flask route reads the same bytes
        try:
            answer = self.accept(raw, environ.get("HTTP_X_HUB_SIGNATURE_256"))
        except Exception as exc:  # the Flask route's error handlers answer it, as before
            environ[FAILURE] = exc
            return self.flask(environ, start_response)
        if answer is None:
            return self.flask(environ, start_response)
        start_response("200 OK", [_ANSWER_HEADERS, ("Content-Length", str(len(answer)))])
        return [answer]

    def _length(self, environ: dict[str, Any]) -> int | None:
        """The body's length when this request is one the direct path may answer: a POST to
        /webhook with a plain `Content-Length` within the limit (a larger one is Flask's
        413), not chunked, and without cookies (Flask might refresh a session cookie)."""
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != "/webhook":
            return None
        if "HTTP_TRANSFER_ENCODING" in environ or "HTTP_COOKIE" in environ:
            return None
        length = environ.get("CONTENT_LENGTH") or ""
        if not (length.isascii() and length.isdigit()) or int(length) > self.max_body:
            return None
        return int(length)


def reraise_failure(environ: dict[str, Any]) -> None:
    """In the Flask route: what `accept` raised for this request, so that Flask's handlers
    answer it (503 when the database is down) without storing a second time."""
    failure = environ.pop(FAILURE, None)
    if failure is not None:
        raise failure
