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

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v21.0"


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
    """The request did not get an HTTP answer (refused, timed out, DNS)."""


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
            raise TransportError(f"{request.method} {url}: {type(exc).__name__}") from exc
        try:
            body: Any = answer.json()
        except ValueError:
            body = None
        return Response(answer.status_code, body, dict(answer.headers))


@dataclass
class FunctionTransport:
    """A fake Facebook as a plain function, for unit tests of the client."""

    handler: Callable[[Request], Response]
    requests: list[Request] = field(default_factory=list)

    def send(self, request: Request) -> Response:
        self.requests.append(request)
        return self.handler(request)
