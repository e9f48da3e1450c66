"""Fixtures shared by the storage tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine made as the webhook makes its own (web/application.py: no ping
    before a connection is used), on the suite's database (SQLite or PostgreSQL)."""
    engine = make_engine(database_url, pre_ping=False)
    upgrade(engine)
    yield engine
    engine.dispose()
