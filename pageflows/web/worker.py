"""gunicorn's threaded worker, changed so that only a request that has fully arrived gets a thread.

Why: gunicorn's own `gthread` worker (27.0) hands every accepted connection to
the thread pool at once. A thread then waits up to 5 s for a first byte, and
once one byte came it reads the rest of the request blocking, with no timeout:
1,100 idle connections queue ahead of a good webhook for 4 threads x 5 s each,
and 4 clients sending a header one byte a second hold all 4 threads for as long
as they like. Here the worker's poller (its main loop, epoll on Linux) reads
each connection, new or kept alive, into a buffer until `framing.examine` says
a whole request is there (head and `Content-Length` body), and only then
queues it for a thread. A connection that has not sent its whole request
within `timeout` seconds of its first chance is closed, and so are its bytes.
The threads, busy only with whole requests, answer from the buffer; their
sockets still time out after `timeout` seconds per call, in case a client
stops reading its answer.
"""

from __future__ import annotations

import errno
import socket
import time
from collections import deque
from contextlib import suppress
from functools import partial
from selectors import EVENT_READ
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

from pageflows.web.framing import CONTINUE, Refusal, examine
from pageflows.webhook.app import MAX_BODY_BYTES

RECV_BYTES = 64 * 1024
REFUSAL_LINGER = 2.0  # seconds a refused client has to read its answer before the close
STOP_LINGER = 1.0  # seconds a stopping worker still waits for requests being sent
DEFAULT_TIMEOUT = 10.0
OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
NOTHING_TO_ACCEPT = (errno.EAGAIN, errno.EWOULDBLOCK, errno.ECONNABORTED)


class ClientSocket(socket.socket):
    """A client socket on which "blocking" means blocking for at most `timeout` seconds.

    gunicorn sets a connection blocking (no timeout) before a thread reads or
    writes it; through this class every such call gives up after `timeout`.

    A response's head and its body leave in one write (`hold_head`, `release`).
    """

    timeout_seconds: float = DEFAULT_TIMEOUT
    _hold_next = False  # the next write is a response's head, to be held (`hold_head`)
    _held = b""  # a head declaring its body's length, waiting for the body's first write

    @classmethod
    def adopt(cls, accepted: socket.socket, timeout: float) -> ClientSocket:
        adopted = cls(accepted.family, accepted.type, accepted.proto, fileno=accepted.detach())
        adopted.timeout_seconds = timeout
        return adopted

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(self.timeout_seconds)
        else:
            super().setblocking(False)

    def hold_head(self) -> None:
        """issue 13: a response's head waits for the first write of its body, and both go out
        in one `sendall`. gunicorn writes the head, then the body, each with a `sendall` of
        its own: for the webhook's 200 that was two sends (each with its poll for the
        timeout), two TCP segments, two wake-ups of the client, where bare Flask's empty
        200 needs one. Only a head that declares a `Content-Length` is held (its body, if
        any, is written right after it, in the same `Response.write`); any other write,
        the connection's shutdown and the end of the request (`release`) send it."""
        self._hold_next = True

    def release(self) -> None:
        """Send the head still held (a response without body writes: HEAD, 204, a length of 0)."""
        self._hold_next = False
        if self._held:
            held, self._held = self._held, b""
            super().sendall(held)

    def sendall(self, data: Any, flags: int = 0) -> None:
        if self._held:
            data, self._held = self._held + data, b""
        elif self._hold_next:
            self._hold_next = False
            if type(data) is bytes and b"\r\ncontent-length:" in data.lower():
                self._held = data
                return
        super().sendall(data, flags)

    def send(self, data: Any, flags: int = 0) -> int:
        self.release()
        return super().send(data, flags)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        self.release()
        return super().sendfile(file, offset, count)

    def shutdown(self, how: int) -> None:
        """gunicorn's graceful close after a failed response: what was held goes first."""
        with suppress(OSError):
            self.release()
        super().shutdown(how)

    def close(self) -> None:
        self._hold_next, self._held = False, b""
        super().close()


class RequestConn(TConn):  # type: ignore[misc]  # gunicorn has no type hints
    """A connection and the bytes of its next request, kept until the request is whole."""

    def __init__(self, cfg: Any, sock: ClientSocket, client: Any, server: Any) -> None:
        super().__init__(cfg, sock, client, server)
        self.received = bytearray()
        self.deadline = 0.0
        self.waiting = False  # registered in the poller, reading into `received`
        self.refused = False  # answered by the worker itself; closing
        self.continued = False  # a 100 Continue was sent for the current request

    def init(self) -> None:
        """In the thread, on a new connection: the parser is made, and reads what came first."""
        super().init()
        self.hand_over()

    def hand_over(self) -> None:
        if self.parser is not None and self.received:
            self.parser.unreader.unread(bytes(self.received))
            self.received.clear()


class BoundedThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type hints
    """gthread whose threads only ever serve requests that have fully arrived (see above)."""

    worker_connections: int  # gunicorn's: accept no more while this many are open

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = getattr(self.app, "options", None)
        self.request_timeout = float(getattr(options, "timeout", DEFAULT_TIMEOUT))
        self.max_body = MAX_BODY_BYTES
        self.reading: deque[tuple[float, RequestConn]] = deque()
        self.refusing: deque[tuple[float, RequestConn]] = deque()
        self.stop_deadline: float | None = None

    def accept(self, listener: Any) -> None:
        try:
            accepted, address = listener.accept()
        except OSError as exc:
            if exc.errno in OUT_OF_DESCRIPTORS:
                self._out_of_descriptors()
                return
            if exc.errno in NOTHING_TO_ACCEPT:
                return
            raise
        self.nr_conns += 1
        sock = ClientSocket.adopt(accepted, self.request_timeout)
        self.enqueue_req(RequestConn(self.cfg, sock, address, listener.getsockname()))

    def enqueue_req(self, conn: RequestConn) -> None:
        """Every way to a thread comes here: a new connection, a kept-alive one that became
        readable, bytes a client sent ahead. The request's `timeout` starts now."""
        if conn.parser is not None:
            conn.received[:0] = conn.parser.unreader.take_buffered()
        conn.deadline = time.monotonic() + self.request_timeout
        conn.continued = False
        if self._judge(conn):
            return
        conn.sock.setblocking(False)
        self.poller.register(conn.sock, EVENT_READ, partial(self._readable, conn))
        conn.waiting = True
        self.reading.append((conn.deadline, conn))

    def handle_request(self, req: Any, conn: RequestConn) -> bool:
        """In a thread. The body is here already, and the 100 Continue a client waited for
        before sending it went out from the poller: gunicorn must not send a second one.
        The response's head leaves with its body (`ClientSocket.hold_head`)."""
        req._expected_100_continue = False
        conn.sock.hold_head()
        try:
            handled: bool = super().handle_request(req, conn)
        except BaseException:
            with suppress(OSError):  # the head counts as sent, as gunicorn thinks it is
                conn.sock.release()
            raise
        conn.sock.release()
        return handled

    def murder_pending(self) -> None:
        """Called by gunicorn's loop about once a second: close the connections out of time."""
        super().murder_pending()
        now = time.monotonic()
        if not self.alive and self.stop_deadline is None:
            self.stop_deadline = now + STOP_LINGER
        stopped = self.stop_deadline is not None and self.stop_deadline <= now
        for queue in (self.reading, self.refusing):
            while queue and (stopped or queue[0][0] <= now):
                deadline, conn = queue.popleft()
                if conn.waiting and conn.deadline == deadline:  # else: an entry since replaced
                    self._close(conn)

    def _readable(self, conn: RequestConn, _fileobj: Any) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)
        elif not conn.refused:
            conn.received += data
            self._judge(conn)

    def _judge(self, conn: RequestConn) -> bool:
        """Queue a whole request for a thread or refuse it (True); else keep reading (False)."""
        verdict = examine(conn.received, self.max_body)
        if isinstance(verdict, Refusal):
            self._refuse(conn, verdict)
            return True
        if verdict == "complete":
            self._stop_reading(conn)
            conn.data_ready = True  # gunicorn's thread must not wait for data: it is here
            conn.hand_over()
            super().enqueue_req(conn)
            return True
        if verdict == "continue" and not conn.continued:
            conn.continued = True
            self._send_quietly(conn, CONTINUE)
        return False

    def _refuse(self, conn: RequestConn, refusal: Refusal) -> None:
        """Answer, stop writing, and read whatever still comes for a moment before closing:
        closing with unread bytes would reset the connection and lose the answer."""
        self._send_quietly(conn, refusal.response())
        with suppress(OSError):
            conn.sock.shutdown(socket.SHUT_WR)
        conn.refused = True
        conn.received.clear()
        conn.deadline = time.monotonic() + REFUSAL_LINGER
        if not conn.waiting:
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, EVENT_READ, partial(self._readable, conn))
            conn.waiting = True
        self.refusing.append((conn.deadline, conn))

    @staticmethod
    def _send_quietly(conn: RequestConn, data: bytes) -> None:
        """A few bytes on a fresh connection fit its send buffer; a client gone is no matter."""
        conn.sock.setblocking(False)
        with suppress(OSError):
            conn.sock.send(data)

    def _stop_reading(self, conn: RequestConn) -> None:
        if conn.waiting:
            conn.waiting = False
            with suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)

    def _close(self, conn: RequestConn) -> None:
        self._stop_reading(conn)
        self.nr_conns -= 1
        conn.close()

    def _out_of_descriptors(self) -> None:
        """The process may open no more files: accept again only once a connection closes."""
        if self.worker_connections > self.nr_conns:
            self.log.warning(
                "out of file descriptors at %d connections (of %d asked for); raise the"
                " limit (ulimit -n) or lower --connections",
                self.nr_conns,
                self.worker_connections,
            )
        self.worker_connections = max(self.nr_conns, 1)
