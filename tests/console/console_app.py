"""The webhook app with the API and the console, as gunicorn's processes build it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask
from werkzeug.security import generate_password_hash

from pageflows.api import ApiContext, create_api
from pageflows.clock import FakeClock
from pageflows.console import install_console
from pageflows.service.config import PageConfig, Settings
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.users import ConsoleUser
from pageflows.webhook.app import create_app

USER, PASSWORD = "ana", "correct horse battery"
PASSWORD_HASH = generate_password_hash(PASSWORD)


def console_app(
    database_url: str,
    admin_token: str,
    sandbox: bool = False,
    app_secret: str = "app-secret",
    settings: Settings | None = None,
) -> Flask:
    engine = make_engine(database_url)
    upgrade(engine)
    clock = FakeClock(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    settings = settings or Settings(
        database_url=database_url,
        pages=(PageConfig(id="1234567890", token="page-secret-token", name="Chez Lina"),),
        admin_token=admin_token,
        app_secret=app_secret,
        users=(ConsoleUser(USER, PASSWORD_HASH),),
        sandbox=sandbox,
    )
    app = create_app(engine=engine, app_secret="app-secret", verify_token="v", clock=clock)
    context = ApiContext(engine, clock, settings, _programs={})
    app.register_blueprint(create_api(context))
    install_console(app, context)
    return app


def console_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, concrete path) for each console rule but sign-in and static files."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or rule.endpoint in (
            "console.static",
            "console.signin",
            "console.signin_form",
        ):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "placeholder", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def signs_in(database_url: str, settings: Settings, name: str, password: str) -> bool:
    """Whether the sign-in form, filled in by a person, lets them in."""
    client = console_app(database_url, settings.admin_token, settings=settings).test_client()
    form = client.get("/signin").get_data(as_text=True)
    data = {"name": name, "password": password, "next": "/", "csrf_token": csrf_of(form)}
    return client.post("/signin", data=data).status_code == 302
