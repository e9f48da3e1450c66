"""The database engine: SQLite (WAL) by default, PostgreSQL in production.

Why WAL: the webhook thread writes the inbox while the worker reads and
writes; WAL lets readers and one writer proceed together, and
`busy_timeout` makes a second writer wait instead of failing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_URL = "sqlite:///pageflows.db"


class DatabaseUrlError(ValueError):
    """PAGEFLOWS_DATABASE_URL cannot be used; the message says why, in one line."""


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the driver we depend on)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"PAGEFLOWS_DATABASE_URL {url!r} is not a database URL;"
            " use sqlite:///pageflows.db or postgresql://user:pass@host/db"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith(("sqlite", "postgresql")):
        raise DatabaseUrlError(
            f"PAGEFLOWS_DATABASE_URL uses {parsed.drivername!r}; pageflows supports"
            " sqlite and postgresql"
        )
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)
