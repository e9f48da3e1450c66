"""The webhook app on a real database (SQLite and PostgreSQL), driven through Flask's test client.

`inbox` posts bodies as Facebook would (signed with the app secret) and reads
back what was stored, so tests assert on the HTTP answer and the inbox rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from inbox_helpers import RECEIVED, SECRET, Inbox

from pageflows.clock import FakeClock
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.webhook.app import create_app


@pytest.fixture
def inbox(database_url: str) -> Iterator[Inbox]:
    engine = make_engine(database_url)
    upgrade(engine)
    app = create_app(
        engine=engine, app_secret=SECRET, verify_token="verify", clock=FakeClock(RECEIVED)
    )
    try:
        yield Inbox(engine, app.test_client())
    finally:
        engine.dispose()
