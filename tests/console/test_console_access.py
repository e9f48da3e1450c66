"""Every console page and form refuses a person who has not signed in, and every form
refuses a post without its CSRF token; signing in works with the admin token, with a
[[users]] name and password, and with the link `serve --sandbox` prints.

The routes are read from the app's own URL map, so a page added later is covered.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from console_app import PASSWORD, USER, console_app, console_routes, csrf_of
from flask.testing import FlaskClient
from service_world import ADMIN_TOKEN


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    return console_app(f"sqlite:///{tmp_path / 'p.db'}", ADMIN_TOKEN).test_client()


def sign_in(client: FlaskClient, name: str, password: str, next_: str = "/") -> int:
    form = client.get("/signin").get_data(as_text=True)
    answer = client.post(
        "/signin",
        data={"name": name, "password": password, "next": next_, "csrf_token": csrf_of(form)},
    )
    return answer.status_code


def test_every_page_sends_a_stranger_to_sign_in_and_every_form_refuses_one(
    client: FlaskClient,
) -> None:
    routes = console_routes(client.application)
    assert ("GET", "/status") in routes and ("POST", "/signout") in routes
    for method, path in routes:
        answer = client.open(path, method=method)
        if method == "GET":
            assert answer.status_code == 302, (method, path)
            assert answer.headers["Location"].startswith("/signin?next=")
        else:  # no session, no CSRF token: refused, nothing done
            assert answer.status_code in (401, 403), (method, path)
        assert "Nothing needs a person" not in answer.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused_even_when_signed_in(
    client: FlaskClient,
) -> None:
    assert sign_in(client, "", ADMIN_TOKEN) == 302
    page = client.get("/status")
    assert page.status_code == 200
    for token in (None, "forged", csrf_of(page.get_data(as_text=True)) + "x"):
        data = {} if token is None else {"csrf_token": token}
        answer = client.post("/signout", data=data)
        assert answer.status_code == 403
        assert "This form was refused" in answer.get_data(as_text=True)
    assert client.get("/status").status_code == 200  # still signed in: nothing was done


def test_the_sign_in_form_itself_needs_its_csrf_token(client: FlaskClient) -> None:
    answer = client.post("/signin", data={"name": "", "password": ADMIN_TOKEN})
    assert answer.status_code == 403
    assert client.get("/status").status_code == 302


def test_the_admin_token_a_user_and_signing_out(client: FlaskClient) -> None:
    assert sign_in(client, "", "not-the-token") == 401
    assert sign_in(client, USER, "wrong password") == 401
    assert sign_in(client, "nobody", PASSWORD) == 401
    assert client.get("/status").status_code == 302
    assert sign_in(client, USER, PASSWORD) == 302
    page = client.get("/status").get_data(as_text=True)
    assert "Chez Lina" in page and ">ana<" in page
    assert client.post("/signout", data={"csrf_token": csrf_of(page)}).status_code == 302
    assert client.get("/status").status_code == 302


def test_the_session_cookie_is_http_only_and_same_site(tmp_path: Path) -> None:
    client = console_app(f"sqlite:///{tmp_path / 'p.db'}", ADMIN_TOKEN).test_client()
    form = client.get("/signin")
    cookie = form.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert ADMIN_TOKEN not in cookie


def test_the_sandbox_link_signs_in_and_drops_the_token_from_the_address(tmp_path: Path) -> None:
    client = console_app(f"sqlite:///{tmp_path / 'p.db'}", ADMIN_TOKEN, sandbox=True).test_client()
    answer = client.get(f"/status?token={ADMIN_TOKEN}&page=1")
    assert answer.status_code == 302 and answer.headers["Location"] == "/status?page=1"
    assert client.get("/status").status_code == 200
    other = console_app(f"sqlite:///{tmp_path / 'q.db'}", ADMIN_TOKEN).test_client()
    assert other.get("/status?token=wrong").status_code == 302
    assert other.get("/status").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "status"])
def test_signing_in_never_sends_the_browser_to_another_site(
    client: FlaskClient, target: str
) -> None:
    form = client.get("/signin").get_data(as_text=True)
    answer = client.post(
        "/signin",
        data={"name": "", "password": ADMIN_TOKEN, "next": target, "csrf_token": csrf_of(form)},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/"


def test_without_any_secret_the_console_says_how_to_turn_it_on(tmp_path: Path) -> None:
    app = console_app(f"sqlite:///{tmp_path / 'p.db'}", "", app_secret="")
    answer = app.test_client().get("/status")
    assert answer.status_code == 404
    assert "PAGEFLOWS_ADMIN_TOKEN" in answer.get_data(as_text=True)
