"""Connected pages: tokens sealed at rest, used by a running worker, and a dead one replaced.

On SQLite and PostgreSQL, against the simulator over HTTP: a person goes through
the simulated Facebook Login, the page token is stored sealed, the worker that
is already running sends with it (no restart), a token Facebook kills pauses the
page, and a new login resumes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from facebook_login_steps import through_dialog
from service_world import PAGE, SECRET, TOKEN, World, running_world
from sqlalchemy import select
from sqlalchemy.orm import Session

from pageflows.cli import main
from pageflows.service import connected_pages, facebook_login
from pageflows.service.config import PageConfig, Settings
from pageflows.service.graph.transport import RequestsTransport
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import ConnectedPage
from pageflows.service.token_crypto import (
    TokenKeyMissing,
    TokenUnreadable,
    box,
    new_key,
)
from pageflows.simulator.state import DEFAULT_APP_ID

KEY = new_key()
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CALLBACK = "http://console.example/pages/callback"
FLOWS = """
on message:
    send "got it"
"""


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path, FLOWS) as world:
        yield world


def log_in(world: World) -> facebook_login.OfferedPage:
    """Facebook Login as the console runs it, the person pressing Continue."""
    settings = replace(
        world.settings(), sandbox=True, app_id=DEFAULT_APP_ID, app_secret=SECRET, token_key=KEY
    )
    back = through_dialog(facebook_login.dialog_url(settings, CALLBACK, "state-1"))
    assert back["state"] == "state-1"
    transport = RequestsTransport(world.sim.url)
    user = facebook_login.user_token(transport, settings, CALLBACK, back["code"])
    assert isinstance(user, str)
    offered = facebook_login.offered_pages(transport, user)
    assert isinstance(offered, list)
    [page] = offered
    fields = facebook_login.subscribe(transport, page.id, page.token)
    assert isinstance(fields, list) and "messages" in fields and "feed" in fields
    return page


def connect(world: World, page: facebook_login.OfferedPage) -> list[str]:
    assert world.service is not None
    return connected_pages.store(
        world.service.engine, box(KEY), page_id=page.id, name=page.name, token=page.token,
        tasks=page.tasks, subscribed_fields=["messages"], who="ana", now=world.clock.now(),
    )  # fmt: skip


def kill(world: World, token: str | None = None) -> None:
    body = {"token": token} if token else {}
    answer = requests.post(f"{world.sim.root}/_sim/pages/{PAGE}/kill_token", json=body, timeout=10)
    assert answer.status_code == 200


def test_a_connected_token_is_used_by_the_running_worker_without_a_restart(
    world: World,
) -> None:
    service = world.start()
    service.settings = replace(service.settings, token_key=KEY)
    assert service.sync_connected_tokens() == []  # nothing connected yet
    page = log_in(world)
    connect(world, page)
    assert service.sync_connected_tokens() == [PAGE]
    assert service.sync_connected_tokens() == []  # in use: nothing more to do
    kill(world, TOKEN)  # the configured token dies: only the connected one can send
    psid = world.sim.control.say("hello", as_="alice")["psid"]
    world.settle()
    assert world.texts(psid) == ["got it"]
    assert world.health()["paused_pages"] == []


def test_a_killed_token_pauses_the_page_and_a_new_login_resumes_it(world: World) -> None:
    service = world.start()
    service.settings = replace(service.settings, token_key=KEY)
    connect(world, log_in(world))
    service.sync_connected_tokens()
    kill(world)  # a password change: every token of the page dies
    psid = world.sim.control.say("hello", as_="bob")["psid"]
    world.settle()
    [paused] = world.health()["paused_pages"]
    assert (paused["page"], paused["reason"]) == (PAGE, "token_invalid")
    assert world.texts(psid) == []

    assert connect(world, log_in(world)) == [PAGE]  # "Refresh permissions": resumed
    assert service.sync_connected_tokens() == [PAGE]
    world.settle()
    assert world.texts(psid) == ["got it"]  # the queued reply went, once
    assert world.health()["paused_pages"] == []


def test_tokens_are_sealed_at_rest_and_open_only_with_their_key(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    secret_token = "EAAsecret-page-token-1234567890"
    connected_pages.store(
        engine, box(KEY), page_id="42", name="Chez Lina", token=secret_token,
        tasks=["MESSAGING"], subscribed_fields=["messages", "feed"], who="ana", now=NOW,
    )  # fmt: skip
    with Session(engine) as session:
        [row] = session.scalars(select(ConnectedPage)).all()
        assert secret_token not in row.token_sealed and secret_token not in row.token_fingerprint
    assert connected_pages.tokens(engine, box(KEY)) == {"42": secret_token}
    [shown] = connected_pages.listing(engine)
    assert (shown.name, shown.subscribed_fields, shown.connected_by) == (
        "Chez Lina", ("messages", "feed"), "ana",
    )  # fmt: skip
    assert secret_token not in repr(shown)
    other = box(new_key())
    assert connected_pages.tokens(engine, other) == {}  # left out, not guessed
    with pytest.raises(TokenUnreadable, match="Connect the page again"):
        connected_pages.token(engine, other, "42")
    assert connected_pages.disconnect(engine, "42") and connected_pages.listing(engine) == []
    engine.dispose()


def test_without_a_key_nothing_can_be_sealed_and_the_error_says_how_to_make_one() -> None:
    with pytest.raises(TokenKeyMissing, match="pageflows pages token-key"):
        box("")
    with pytest.raises(TokenKeyMissing, match="not a key"):
        box("not-a-fernet-key")


def test_connected_pages_replace_a_configured_token_and_others_join(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    for page_id, token in (("1", "new-token-of-1"), ("2", "token-of-2")):
        connected_pages.store(
            engine, box(KEY), page_id=page_id, name=f"Page {page_id}", token=token,
            tasks=[], subscribed_fields=[], who="ana", now=NOW,
        )  # fmt: skip
    settings = Settings(pages=(PageConfig(id="1", token="old", name="One", greeting="Hi"),))
    merged = connected_pages.with_connected(settings, engine, box(KEY))
    assert [(p.id, p.token, p.name, p.greeting) for p in merged.pages] == [
        ("1", "new-token-of-1", "One", "Hi"),
        ("2", "token-of-2", "Page 2", None),
    ]
    assert connected_pages.with_connected(settings, engine, None) == settings
    engine.dispose()


def test_pageflows_pages_token_key_prints_a_key_that_seals_and_opens() -> None:
    printed = CliRunner().invoke(main, ["pages", "token-key"])
    assert printed.exit_code == 0, printed.output
    key = printed.output.strip()
    assert box(key).open(box(key).seal("EAAtoken")) == "EAAtoken"
    assert CliRunner().invoke(main, ["pages", "token-key"]).output.strip() != key


def test_a_page_connected_while_serving_and_not_configured_is_answered_at_once(
    world: World,
) -> None:
    other, other_token = "200000000000777", "token-of-the-other-page"
    service = world.start()
    service.settings = replace(service.settings, token_key=KEY)
    assert world.served is not None
    world.sim.control.register_page(
        page_id=other, token=other_token, app_secret=SECRET,
        webhook_url=f"{world.served.url}/webhook", name="Second shop",
    )  # fmt: skip
    assert service.join_connected_pages() == []  # nothing connected yet
    connected_pages.store(
        service.engine, box(KEY), page_id=other, name="Second shop", token=other_token,
        tasks=["MESSAGING"], subscribed_fields=["messages"], who="ana", now=world.clock.now(),
    )  # fmt: skip
    assert service.join_connected_pages() == [other]
    assert service.join_connected_pages() == []  # it runs here now: nothing more to do
    psid = world.sim.control.say("hello", as_="carol", page_id=other)["psid"]
    world.settle()
    assert world.texts(psid) == ["got it"]
    sent = world.sim.control.sent_messages(psid)
    assert [m["page_id"] for m in sent] == [other]
