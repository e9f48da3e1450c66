"""The Pages page as a person uses it: Connect, the simulated Facebook Login, pick a page,
see it connected with its webhook fields; the login's `state` is checked; without a key
nothing is stored; the greeting is set; a page paused for a dead token is refreshed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from console_app import console_app, csrf_of
from facebook_login_steps import through_dialog
from flask.testing import FlaskClient
from service_world import ADMIN_TOKEN
from sqlalchemy import select
from sqlalchemy.orm import Session

from pageflows.service import pages as page_states
from pageflows.service.config import PageConfig, Settings
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.models import ConnectedPage, PageState
from pageflows.service.token_crypto import new_key
from pageflows.simulator import RunningSimulator, running_simulator
from pageflows.simulator.state import DEFAULT_APP_ID

PAGE_ID, OLD_TOKEN, SECRET = "1234567890", "page-secret-token", "app-secret"


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with running_simulator() as running:
        running.control.register_page(
            PAGE_ID, OLD_TOKEN, SECRET, "http://127.0.0.1:9/webhook", name="Chez Lina"
        )
        yield running


def settings_for(database_url: str, sim: RunningSimulator, key: str) -> Settings:
    return Settings(
        database_url=database_url,
        graph_url=sim.url,
        pages=(PageConfig(id=PAGE_ID, token=OLD_TOKEN, name="Chez Lina"),),
        admin_token=ADMIN_TOKEN,
        app_secret=SECRET,
        app_id=DEFAULT_APP_ID,
        sandbox=True,
        token_key=key,
    )


def signed_in(database_url: str, settings: Settings) -> FlaskClient:
    client = console_app(database_url, ADMIN_TOKEN, settings=settings).test_client()
    form = client.get("/signin").get_data(as_text=True)
    data = {"name": "", "password": ADMIN_TOKEN, "next": "/", "csrf_token": csrf_of(form)}
    assert client.post("/signin", data=data).status_code == 302
    return client


def press(client: FlaskClient, path: str, **fields: str) -> tuple[int, str]:
    """Post a form of the Pages page (with the page's CSRF token); (status, Location)."""
    token = csrf_of(client.get("/pages").get_data(as_text=True))
    answer = client.post(path, data={"csrf_token": token, **fields})
    return answer.status_code, answer.headers.get("Location", "")


def log_in(client: FlaskClient, choice: str = "continue", **fields: str) -> str:
    """Connect, then the dialog; returns the page the callback shows (or redirects to)."""
    status, dialog = press(client, "/pages/connect", **fields)
    assert status == 302 and "/dialog/oauth?" in dialog
    sent = parse_qs(urlsplit(dialog).query)
    assert sent["scope"] == ["pages_messaging,pages_manage_metadata,pages_show_list"]
    assert sent["redirect_uri"] == ["http://localhost/pages/callback"]
    back = through_dialog(dialog, choice)
    answer = client.get("/pages/callback", query_string=back, follow_redirects=True)
    return answer.get_data(as_text=True)


@pytest.fixture
def client(database_url: str, sim: RunningSimulator) -> FlaskClient:
    return signed_in(database_url, settings_for(database_url, sim, new_key()))


def test_connecting_a_page_lists_it_with_its_webhooks_and_stores_the_token_sealed(
    client: FlaskClient, database_url: str, sim: RunningSimulator
) -> None:
    page = client.get("/pages").get_data(as_text=True)
    assert "Connect with Facebook" in page and "Chez Lina" in page
    pick = log_in(client)
    assert "Pick the Page to connect" in pick and "Connect Chez Lina" in pick
    assert press(client, "/pages/pick", page_id=PAGE_ID) == (302, "/pages")
    shown = client.get("/pages").get_data(as_text=True)
    assert "Chez Lina is connected; its token is stored encrypted." in shown
    for field in ("messages", "messaging_postbacks", "messaging_optins", "feed"):
        assert f"<code>{field}</code>" in shown
    [subscribed] = sim.state.pages[PAGE_ID].subscribed_fields[:1]
    assert subscribed == "messages"
    [issued] = sim.state.pages[PAGE_ID].issued_tokens
    assert issued not in shown  # never shown back
    engine = make_engine(database_url)
    with Session(engine) as session:
        [row] = session.scalars(select(ConnectedPage)).all()
        assert issued not in row.token_sealed and row.connected_by == "admin"
    engine.dispose()


def test_a_callback_with_another_state_or_a_cancel_connects_nothing(
    client: FlaskClient, sim: RunningSimulator
) -> None:
    press(client, "/pages/connect")
    forged = client.get("/pages/callback?code=abc&state=forged", follow_redirects=True)
    assert "does not belong to this session" in forged.get_data(as_text=True)
    cancelled = log_in(client, choice="cancel")
    assert "Facebook Login was cancelled: nothing was connected." in cancelled
    assert "connected</span>" not in client.get("/pages").get_data(as_text=True)
    assert sim.state.pages[PAGE_ID].subscribed_fields == []


def test_without_a_key_the_page_says_how_to_make_one_and_stores_nothing(
    database_url: str, sim: RunningSimulator
) -> None:
    client = signed_in(database_url, settings_for(database_url, sim, ""))
    page = client.get("/pages").get_data(as_text=True)
    assert "PAGEFLOWS_TOKEN_KEY is not set" in page and "pageflows pages token-key" in page
    assert "Connect with Facebook" not in page
    status, where = press(client, "/pages/connect")
    assert (status, where) == (302, "/pages")  # not to Facebook
    assert "Nothing was connected" in client.get("/pages").get_data(as_text=True)


def test_the_greeting_form_sets_the_messenger_profile_with_the_stored_token(
    client: FlaskClient, sim: RunningSimulator
) -> None:
    log_in(client)
    press(client, "/pages/pick", page_id=PAGE_ID)
    assert press(client, f"/pages/{PAGE_ID}/greeting", greeting="Welcome to Chez Lina!")[0] == 302
    assert "Greeting set: Welcome to Chez Lina!" in client.get("/pages").get_data(as_text=True)
    profile = sim.state.pages[PAGE_ID].profile
    assert profile["greeting"] == [{"locale": "default", "text": "Welcome to Chez Lina!"}]
    assert profile["get_started"] == {"payload": "GET_STARTED"}  # as `profile sync` sets it


def test_a_page_paused_for_a_dead_token_is_refreshed_and_resumes(
    client: FlaskClient, database_url: str
) -> None:
    log_in(client)
    press(client, "/pages/pick", page_id=PAGE_ID)
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        page_states.pause(
            session, PAGE_ID, reason="token_invalid", detail="Invalid OAuth access token.",
            code=190, subcode=None, token="the-dead-token",
            now=datetime(2026, 11, 28, 9, tzinfo=UTC),
        )  # fmt: skip
    paused = client.get("/pages").get_data(as_text=True)
    assert "Refresh permissions" in paused and "token_invalid" in paused
    done = log_in(client, refresh=PAGE_ID)  # straight back: no page to pick
    assert "had stopped sending for its old token: it sends again." in done
    assert "Refresh permissions" not in done
    with Session(engine) as session:
        assert session.get(PageState, PAGE_ID).paused_reason is None  # type: ignore[union-attr]
    engine.dispose()


def test_without_the_apps_id_the_page_says_facebook_login_needs_it(
    database_url: str, sim: RunningSimulator
) -> None:
    settings = replace(settings_for(database_url, sim, new_key()), app_id="")
    client = signed_in(database_url, settings)
    page = client.get("/pages").get_data(as_text=True)
    assert "PAGEFLOWS_APP_ID and PAGEFLOWS_APP_SECRET" in page
    assert press(client, "/pages/connect") == (302, "/pages")
