"""The one seam between pageflows and the network: send a request, get a response.

`RequestsTransport` is the only place that imports `requests`: one session,
a base URL (Facebook's, or the simulator's) and timeouts. Tests that need
Facebook's exact error bodies without a server use `FunctionTransport`.

issue 13: E. The session keeps enough connections for the sender's lanes, and
reads the operator's proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) and
CA bundle (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) from the environment once per
host, the first time it calls that host, instead of on every call as
`requests` does by itself: a change to them takes a restart. `~/.netrc` is
not read (Graph calls carry their token).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
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


POOL_SIZE = 64  # connections kept per host: one per sender lane (sender.MAX_LANES)


class RequestsTransport:
    def __init__(
        self, base_url: str = DEFAULT_GRAPH_URL, timeout: float = 10.0, pool_size: int = POOL_SIZE
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # the environment is read once per host (`_settings`)
        self.adapter = adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._hosts: dict[str, tuple[dict[str, str], bool | str]] = {}

    def _settings(self, url: str) -> tuple[dict[str, str], bool | str]:
        """The proxies and CA bundle for `url`'s host, from the environment as `requests`
        reads it, once per host (threads racing on a first call read the same values)."""
        parts = urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc}"
        found = self._hosts.get(host)
        if found is None:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            found = self._hosts[host] = (get_environ_proxies(url), bundle or True)
        return found

    def send(self, request: Request) -> Response:
        url = (
            request.path if "://" in request.path else f"{self.base_url}/{request.path.lstrip('/')}"
        )
        proxies, verify = self._settings(url)
        try:
            if "://" in request.path:  # an outside URL (media, a notification): redirects too
                answer = self.session.request(
                    request.method,
                    url,
                    params=request.params,
                    json=request.json,
                    timeout=self.timeout,
                    allow_redirects=request.method != "HEAD",
                    proxies=proxies,
                    verify=verify,
                )
            else:
                answer = self._graph_call(request, url, proxies, verify)
        except requests.RequestException as exc:
            raise TransportError(
                f"{request.method} {url}: {type(exc).__name__}", _maybe_delivered(exc)
            ) from exc
        try:
            body: Any = answer.json()
        except ValueError:
            body = None
        return Response(answer.status_code, body, dict(answer.headers))

    def _graph_call(
        self, request: Request, url: str, proxies: dict[str, str], verify: bool | str
    ) -> requests.Response:
        """A Graph API call straight to the connection pool's adapter, with the session's
        headers: the session's own path merges cookies, hooks, authentication and
        environment settings that Graph calls never use, and looks for redirects Facebook
        never sends; that was a fifth to a quarter of each call's CPU (issue 13: the
        worker's profile look-up and the sender's call are on every reply's way)."""
        prepared = requests.Request(
            request.method,
            url,
            headers=self.session.headers,
            params=request.params,
            json=request.json,
        ).prepare()
        answer: requests.Response = self.adapter.send(
            prepared, timeout=self.timeout, verify=verify, proxies=proxies
        )
        _ = answer.content  # read whole, as the session does: the connection goes back to the pool
        return answer


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
