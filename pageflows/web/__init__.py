"""The webhook's HTTP server for production: gunicorn, with a worker that only gives whole
requests a thread.

werkzeug's development server (`make_server(threaded=True)`) starts a thread
per connection and reads without a deadline: 1,100 idle connections exhausted
it, and every webhook POST then timed out with nothing logged. gunicorn is a
pre-fork server with an arbiter that restarts crashed workers and stops
gracefully; which of its worker classes, and how:

- `sync` serves one connection per process at a time: one idle client blocks it.
- `gevent`/`eventlet` monkey-patch the standard library; psycopg 3 (C, own
  sockets) and SQLite would block the loop or need their own green support.
- `gthread` (27.0, read in gunicorn/workers/gthread.py) accepts in a poller but
  hands each new connection to the thread pool at once: the thread waits up to
  5 s for a first byte, then reads the rest blocking, with no timeout. 1,100
  idle connections queue 4 threads x 5 s each ahead of a good webhook, and 4
  clients sending their headers a byte a second hold all 4 threads for ever.

So `BoundedThreadWorker` (web/worker.py) is gthread whose poller reads every
connection into a buffer until a whole request (head and `Content-Length`
body) has arrived, and only then queues it for a thread; a client that has not
sent its whole request `timeout` seconds after it could start is closed. Idle
and slow clients cost a buffer and a file descriptor, never a thread, and at
most `connections` of them per process (then the kernel's backlog queues new
ones). The threads' sockets also time out after `timeout` seconds per call.

Measured on a 2-core machine, 1 process x 4 threads (tests/web/ prints its own):
a signed webhook POST, on a new connection, stored, answered 200 in a median
of 4-5 ms (max 10 ms) with 1,100 idle connections open, and 4-5 ms (max 84 ms)
with 50 clients also sending their headers a byte a second, on SQLite and
PostgreSQL alike; gunicorn's own gthread answered neither within 15 s.

Started by `serve` through `spawn` as a child that dies with it (web/process.py);
SIGTERM stops gracefully. `reuse_port` is off by default: with SO_REUSEPORT a
server left running, or a second one started by mistake, silently shares the
port and its traffic instead of failing to bind; the crash tests need no such
help, since the child and its workers are gone the moment their parent is.
"""

from __future__ import annotations

from pageflows.web.application import WebError, run
from pageflows.web.options import WebOptions
from pageflows.web.process import command, spawn, stop, wait_listening
from pageflows.web.worker import BoundedThreadWorker

__all__ = [
    "BoundedThreadWorker",
    "WebError",
    "WebOptions",
    "command",
    "run",
    "spawn",
    "stop",
    "wait_listening",
]
