"""Every operator API route refuses a request without the admin token, route by route.

The routes are read from the app's own URL map, so a route added later is
covered without touching this test. No response ever carries the token.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from service_world import ADMIN_TOKEN, running_world

from pageflows.api import ApiContext, create_api
from pageflows.clock import FakeClock
from pageflows.service.config import PageConfig, Settings
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.webhook.app import create_app

FLOW = 'on keyword "hi":\n    send "Hello"\n'


def api_app(database_url: str, admin_token: str) -> Flask:
    engine = make_engine(database_url)
    upgrade(engine)
    clock = FakeClock(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    settings = Settings(
        database_url=database_url,
        pages=(PageConfig(id="1234567890", token="page-secret-token"),),
        admin_token=admin_token,
        app_secret="app-secret",
    )
    app = create_app(engine=engine, app_secret="app-secret", verify_token="v", clock=clock)
    app.register_blueprint(create_api(ApiContext(engine, clock, settings, _programs={})))
    return app


def api_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, concrete path) for each /api rule; placeholders get plausible values."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "placeholder", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


def test_every_route_refuses_an_anonymous_or_wrong_token(tmp_path: Path) -> None:
    app = api_app(f"sqlite:///{tmp_path / 'p.db'}", ADMIN_TOKEN)
    client = app.test_client()
    routes = api_routes(app)
    assert ("GET", "/api/status") in routes and len(routes) >= 2
    for method, path in routes:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": f"Basic {ADMIN_TOKEN}"},
            {"Authorization": "Bearer "},
        ):
            answer = client.open(path, method=method, headers=headers, json={})
            assert answer.status_code == 401, (method, path, headers, answer.status_code)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            assert "admin token" in answer.get_json()["error"]
            assert ADMIN_TOKEN not in answer.get_data(as_text=True)
        if method != "GET":  # a token in the query string is for links, which are GETs
            answer = client.open(f"{path}?token={ADMIN_TOKEN}", method=method, json={})
            assert answer.status_code == 401, (method, path)


def test_the_right_token_opens_the_api_and_is_never_echoed(tmp_path: Path) -> None:
    app = api_app(f"sqlite:///{tmp_path / 'p.db'}", ADMIN_TOKEN)
    client = app.test_client()
    answer = client.get("/api/status", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert ADMIN_TOKEN not in body and "page-secret-token" not in body
    assert "app-secret" not in body
    assert client.get(f"/api/status?token={ADMIN_TOKEN}").status_code == 200
    index = client.get("/api/", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).get_json()
    assert {"path": "/api/status", "methods": "GET"} in index["routes"]


def test_without_a_configured_token_the_api_is_off(tmp_path: Path) -> None:
    client = api_app(f"sqlite:///{tmp_path / 'p.db'}", "").test_client()
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
        answer = client.get("/api/status", headers=headers)
        assert answer.status_code == 404
        assert "PAGEFLOWS_ADMIN_TOKEN" in answer.get_json()["error"]


def test_over_http_the_token_is_refused_and_never_logged(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        assert world.api("GET", "/status", token="").status_code == 401
        assert world.api("GET", "/status", token="nope").status_code == 401
        ok = world.api("GET", "/status")
        assert ok.status_code == 200 and ok.json()["pages"][0]["id"] == world.page.id
    assert ADMIN_TOKEN not in caplog.text
