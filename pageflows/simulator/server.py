"""`SimServer`: the simulator's HTTP server, HTTP/1.1 with keep-alive, one thread per call.

Facebook keeps a client's connections alive between Graph calls; werkzeug's
development server (what served the simulator until issue 13's seventh
session) answers `Connection: close` to every request, so each call paid a new
TCP connection on both sides and the engine's figures measured a cost
production does not have. cheroot (CherryPy's server, pure Python, kept up)
serves WSGI with keep-alive from a pool of threads, and is made to be embedded:
`prepare` binds (so the port is known before serving), `stop` is thread-safe
and joins its threads. waitress, the other candidate, has no supported way to
stop a server running in a thread (its loop ends only when every socket in its
map is closed, from inside that loop).

Idle keep-alive connections wait in cheroot's selector, not in a thread, so
`THREADS` bounds only the calls being answered at once: as many as pageflows'
sender opens lanes to one page (sender.MAX_LANES), each of which may wait on a
slowed simulator (`SimControl.slow`, the benchmarks' `--delay`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

THREADS = 64  # calls answered at once: pageflows' sender.MAX_LANES lanes to one page
BACKLOG = 128  # connections the kernel queues before accept (werkzeug's, and Linux's default)
# Idle keep-alive connections kept open (cheroot's default, 10, closes the 11th client's
# connection after every call: the sender's lanes each keep one, up to 64 per page).
KEEP_ALIVE = 256
# Seconds an idle keep-alive connection stays open (cheroot's default, 10, is also how
# long it waits for a request's bytes). A client that reuses a connection at the moment
# the server closes it gets a reset for a request that may look delivered (pageflows
# marks such a send possible_duplicate): longer idle connections make that rarer, as
# Facebook's own are long-lived.
IDLE = 60
# How often the serving loop looks up (stop() waits up to this long): cheroot's 0.5 s
# would add half a second to every test that starts a simulator.
POLL = 0.05

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SimServer:
    """A WSGI app served on host:port (0: a free port, then `port` says which).

    Bound when made; `serve_forever` answers until `stop` (another thread, or a
    KeyboardInterrupt in the serving one, which `serve_forever` lets through).
    """

    def __init__(self, app: WSGIApp, host: str, port: int, threads: int = THREADS) -> None:
        # Imported here: every `pageflows` command imports this module (cli/simulator.py),
        # and only those that serve the simulator need cheroot (0.1-0.2 s to import).
        from cheroot.wsgi import Server

        self._server = Server(
            (host, port), app, numthreads=threads, request_queue_size=BACKLOG, timeout=IDLE
        )
        self._server.keep_alive_conn_limit = KEEP_ALIVE
        self._server.expiration_interval = POLL
        self._server.prepare()
        bound = self._server.bind_addr
        self.port = int(bound[1]) if isinstance(bound, tuple) else port

    def serve_forever(self) -> None:
        self._server.serve()

    def stop(self) -> None:
        """Stop accepting, close idle connections, wait for calls in progress (at most
        cheroot's 5 s each), and end the threads. Safe to call twice."""
        self._server.stop()


def with_access_log(app: WSGIApp, stream: IO[str] | None = None) -> WSGIApp:
    """`app`, writing a line per call once it is answered, as werkzeug's server did:
    `127.0.0.1 - - [29/Nov/2026 10:37:17] "GET /v25.0/me?... HTTP/1.1" 200 -`.

    `pageflows simulator serve` prints it: what an operator watches, and what the
    crash tests read to tell which worker start made each call (tests/crash)."""

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status: list[str] = []

        def starting(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[:] = [code.split(" ", 1)[0]]
            return start_response(code, headers, exc_info)

        body = app(environ, starting)
        return _LoggedBody(body, lambda: _write(environ, status, stream))

    return logged


class _LoggedBody:
    """A response body that writes the access line when the server closes it (sent)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body = body
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()


def _write(environ: dict[str, Any], status: list[str], stream: IO[str] | None) -> None:
    target = stream if stream is not None else sys.stderr
    uri = environ.get("REQUEST_URI") or (
        environ.get("PATH_INFO", "")
        + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
    )
    line = f"{environ.get('REQUEST_METHOD')} {uri} {environ.get('SERVER_PROTOCOL')}"
    when = time.strftime("%d/%b/%Y %H:%M:%S")
    code = status[0] if status else "-"
    target.write(f'{environ.get("REMOTE_ADDR", "-")} - - [{when}] "{line}" {code} -\n')
    target.flush()
