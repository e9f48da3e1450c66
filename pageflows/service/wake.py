"""Waking workers when there is work: LISTEN/NOTIFY on PostgreSQL, polling elsewhere.

A webhook process stores a batch and notifies `pageflows_inbox` in the same
transaction (PostgreSQL delivers it at commit); a worker that decided
something notifies `pageflows_outbox`. Every worker process listens on one
dedicated connection and wakes the loop concerned at once, on whatever
machine it runs. Notifications are only a hint: every loop also polls, so a
lost one (a listener reconnecting) costs a second, never a message. SQLite has
no notifications; its single worker polls often, which is cheap on a local
file.
"""

from __future__ import annotations

import logging
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
