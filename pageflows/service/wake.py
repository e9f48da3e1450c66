"""Waking workers when there is work: LISTEN/NOTIFY on PostgreSQL, polling elsewhere.

A webhook process stores a batch and notifies `pageflows_inbox` in the same
transaction (PostgreSQL delivers it at commit); a worker that decided
something notifies `pageflows_outbox`. Every worker process listens on one
dedicated connection and wakes the loop concerned at once, on whatever
machine it runs. Notifications are only a hint: every loop also polls, so a
lost one (a listener reconnecting) costs a second, never a message.

SQLite has no notifications, and its one worker shares a machine with the
webhook's processes (the database is a local file): a webhook process that
stored a batch rings a bell, a datagram to a Unix socket named after the
database file (`Bell`), on which the worker listens (`BellListener`). Before it
(issue 13, sixth session), an event waited for the worker's next poll: 100 ms
on average before anything was decided, 190 ms at p50 from the POST to the
answer's send on SQLite against 30-80 ms on PostgreSQL. The bell is a hint too:
nobody listening, or a datagram lost, costs the poll (0.2 s).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import sys
import threading
from collections.abc import Set
from dataclasses import dataclass, field

import psycopg
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

log = logging.getLogger("pageflows.wake")
INBOX = "pageflows_inbox"
OUTBOX = "pageflows_outbox"
_NOTIFY = text("SELECT pg_notify(:channel, '')")
NOTIFY_SQL = "SELECT pg_notify(%(channel)s, '')"  # the same for the driver (storage/bulk.py)


def notify(bind: Session | Connection, channel: str) -> None:
    """Tell every listening process, when this transaction commits, that `channel` has work."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name == "postgresql":
        bind.execute(_NOTIFY, {"channel": channel})


@dataclass
class Alarms:
    """The in-process bells: set by a notification, by another loop, or by the clock."""

    inbox: threading.Event = field(default_factory=threading.Event)
    outbox: threading.Event = field(default_factory=threading.Event)

    def ring_all(self) -> None:
        self.inbox.set()
        self.outbox.set()

    def ring(self, channel: str) -> None:
        (self.inbox if channel == INBOX else self.outbox).set()


class Listener:
    """A thread holding one connection that LISTENs and rings the alarms; reconnects alone."""

    def __init__(
        self, engine: Engine, alarms: Alarms, stop: threading.Event, own: Set[int] = frozenset()
    ) -> None:
        self.own = own  # this process's backends: their outbox notes rang in-process already
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self.alarms = alarms
        self.stop = stop
        self.thread = threading.Thread(target=self._run, name="pageflows-listen", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {INBOX}")
                    conn.execute(f"LISTEN {OUTBOX}")
                    if failures:
                        log.info("listening for work again")
                    failures = 0
                    self.alarms.ring_all()  # anything stored while we were not listening
                    while not self.stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            if note.channel == OUTBOX and note.pid in self.own:
                                continue  # our own decisions: the worker rang at commit
                            self.alarms.ring(note.channel)
            except psycopg.Error as exc:
                failures += 1
                if failures == 1:
                    log.warning(
                        "cannot listen for work (%s); polling until the database is back",
                        type(exc).__name__,
                    )
                self.stop.wait(min(2.0**failures, 30.0))


def bell_name(database_path: str) -> bytes | None:
    """The bell's address for a SQLite database file: a Linux abstract socket (no file to
    leave behind, no path length limit), named by the file's resolved path so that two
    databases never share one. None elsewhere: the worker polls there, as before."""
    if not sys.platform.startswith("linux"):
        return None
    digest = hashlib.sha256(os.path.realpath(database_path).encode()).hexdigest()[:32]
    return b"\0pageflows-wake-" + digest.encode()


def sqlite_bell(engine: Engine) -> bytes | None:
    """The bell of `engine`'s SQLite file; None for PostgreSQL or a database in memory."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        return None
    return bell_name(database)


class Bell:
    """The webhook side: after a commit, a datagram that never blocks and never fails."""

    def __init__(self, name: bytes) -> None:
        self.name = name
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.setblocking(False)

    def ring(self, channel: str = INBOX) -> None:
        with contextlib.suppress(OSError):  # nobody listening, or a full queue: it polls
            self.socket.sendto(channel.encode(), self.name)


class BellListener:
    """The worker side on SQLite: rings the alarm a webhook process's `Bell` names."""

    def __init__(self, name: bytes, alarms: Alarms, stop: threading.Event) -> None:
        self.alarms = alarms
        self.stop = stop
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(name)  # OSError if another process listens: the caller polls
        self.socket.settimeout(1.0)
        self.thread = threading.Thread(target=self._run, name="pageflows-bell", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    channel = self.socket.recv(64).decode(errors="replace")
                except TimeoutError:
                    continue
                self.alarms.ring(channel if channel in (INBOX, OUTBOX) else INBOX)
        except OSError as exc:  # the socket broke: the loops poll
            log.warning("the wake-up bell stopped (%s); polling", type(exc).__name__)
        finally:
            self.socket.close()
