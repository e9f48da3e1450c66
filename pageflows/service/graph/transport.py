"""The one seam between pageflows and the network: send a request, get a response.

`RequestsTransport` is the only place that imports `requests`: one session,
a base URL (Facebook's, or the simulator's) and timeouts. Tests that need
Facebook's exact error bodies without a server use `FunctionTransport`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from urllib3.exceptions import NewConnectionError

# The base every Graph path follows: beside the other defaults (issue 13: A).
from pageflows.service.defaults import DEFAULT_GRAPH_URL as DEFAULT_GRAPH_URL
from pageflows.service.defaults import GRAPH_HOST as GRAPH_HOST


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class TransportError(Exception):
    """The request did not get an HTTP answer (refused, timed out, DNS).

    `maybe_delivered` is False only when the request cannot have reached the
    server (the connection was never made); a read timeout or a connection
    dropped mid-answer may hide a message Facebook delivered, so resending it
    risks a duplicate, which the outbox then records as possible.
    """

    def __init__(self, message: str, maybe_delivered: bool = True) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


class Transport(Protocol):
    def send(self, request: Request) -> Response: ...


class RequestsTransport:
    def __init__(self, base_url: str = DEFAULT_GRAPH_URL, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def send(self, request: Request) -> Response:
        url = (
            request.path if "://" in request.path else f"{self.base_url}/{request.path.lstrip('/')}"
        )
        try:
            answer = self.session.request(
                request.method,
                url,
                params=request.params,
                json=request.json,
                timeout=self.timeout,
                allow_redirects=request.method != "HEAD",
            )
        except requests.RequestException as exc:
            raise TransportError(
                f"{request.method} {url}: {type(exc).__name__}", _maybe_delivered(exc)
            ) from exc
        try:
            body: Any = answer.json()
        except ValueError:
            body = None
        return Response(answer.status_code, body, dict(answer.headers))


def _maybe_delivered(exc: requests.RequestException) -> bool:
    """Could the server have acted on the request? Only a connection never made says no."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", reason)
        return not isinstance(inner, NewConnectionError)
    return not isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema)


@dataclass
class FunctionTransport:
    """A fake Facebook as a plain function, for unit tests of the client."""

    handler: Callable[[Request], Response]
    requests: list[Request] = field(default_factory=list)

    def send(self, request: Request) -> Response:
        self.requests.append(request)
        return self.handler(request)
