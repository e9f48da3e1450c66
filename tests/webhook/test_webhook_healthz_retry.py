"""The webhook's engine pings no pooled connection before use (web/application.py): after the
database restarted, /healthz still answers from a fresh connection, not 503."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from pageflows.clock import FakeClock
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.webhook.app import create_app


def test_healthz_after_the_session_under_it_was_cut(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pre_ping=False)
    upgrade(engine)
    clock = FakeClock(datetime(2026, 11, 28, 16, 0, tzinfo=UTC))
    client = create_app(engine=engine, app_secret="s", verify_token="v", clock=clock).test_client()
    assert client.get("/healthz").get_json()["database"] is True
    with engine.connect() as connection:
        backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.get_json()["database"] is True
    engine.dispose()
