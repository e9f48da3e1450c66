"""The simulated Facebook Login and webhook subscription, as a platform meets them.

The login dialog lists the person's pages and sends the browser back with a
code (or Facebook's user_denied error); the code buys a short-lived user token
once, which buys a long-lived one; me/accounts gives page tokens that send;
subscribed_apps records the fields; and a killed token is a 190 on the next
call, as after a password change. Errors have Facebook's body shapes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from facebook_login_steps import through_dialog
from sim_helpers import PAGE_ID, PSID, SECRET, TOKEN, error_of

from pageflows.simulator import RunningSimulator
from pageflows.simulator.state import DEFAULT_APP_ID

CALLBACK = "https://console.example/pages/callback"
SCOPE = "pages_messaging,pages_manage_metadata,pages_show_list"


def dialog(sim: RunningSimulator, **given: str) -> str:
    query = {"client_id": DEFAULT_APP_ID, "redirect_uri": CALLBACK, "state": "s-1",
             "scope": SCOPE, **given}  # fmt: skip
    return f"{sim.root}/dialog/oauth?{urlencode(query)}"


def exchange(sim: RunningSimulator, **params: str) -> requests.Response:
    base = {"client_id": DEFAULT_APP_ID, "client_secret": SECRET, "redirect_uri": CALLBACK}
    return requests.get(f"{sim.url}/oauth/access_token", params={**base, **params}, timeout=10)


def long_lived_user(sim: RunningSimulator) -> str:
    code = through_dialog(dialog(sim))["code"]
    short = exchange(sim, code=code).json()["access_token"]
    answer = exchange(sim, grant_type="fb_exchange_token", fb_exchange_token=short).json()
    assert answer["expires_in"] == 5_184_000  # 60 days
    token: str = answer["access_token"]
    return token


def accounts(sim: RunningSimulator, token: str) -> requests.Response:
    return requests.get(f"{sim.url}/me/accounts", params={"access_token": token}, timeout=10)


def send_text(sim: RunningSimulator, token: str, text: str = "hello") -> requests.Response:
    body: dict[str, Any] = {"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
                            "message": {"text": text}}  # fmt: skip
    return requests.post(
        f"{sim.url}/me/messages", params={"access_token": token}, json=body, timeout=10
    )


def test_the_dialog_names_the_person_and_their_pages_and_sends_back_code_and_state(
    sim: RunningSimulator,
) -> None:
    page = requests.get(dialog(sim), timeout=10)
    assert "Log in as Sandbox Admin" in page.text
    assert f"Simulated Page ({PAGE_ID})" in page.text
    back = through_dialog(dialog(sim))
    assert back["state"] == "s-1" and len(back["code"]) > 20
    cancelled = through_dialog(dialog(sim), choice="cancel")
    assert cancelled == {
        "error": "access_denied",
        "error_code": "200",
        "error_description": "Permissions error",
        "error_reason": "user_denied",
        "state": "s-1",
    }


def test_an_unknown_app_or_a_missing_redirect_uri_gets_facebooks_error_page(
    sim: RunningSimulator,
) -> None:
    unknown = requests.get(dialog(sim, client_id="123"), timeout=10)
    assert unknown.status_code == 400 and "Invalid App ID" in unknown.text
    missing = requests.get(dialog(sim, redirect_uri=""), timeout=10)
    assert missing.status_code == 400 and "redirect_uri" in missing.text


def test_the_page_token_from_me_accounts_sends_and_the_old_one_still_does(
    sim: RunningSimulator,
) -> None:
    listed = accounts(sim, long_lived_user(sim)).json()["data"]
    assert [(p["id"], p["name"]) for p in listed] == [(PAGE_ID, "Simulated Page")]
    assert "MESSAGING" in listed[0]["tasks"]
    new_token = listed[0]["access_token"]
    assert new_token != TOKEN
    assert send_text(sim, new_token).status_code == 200
    assert send_text(sim, TOKEN).status_code == 200


def test_a_code_works_once_and_only_with_its_redirect_uri_and_the_apps_secret(
    sim: RunningSimulator,
) -> None:
    code = through_dialog(dialog(sim))["code"]
    assert error_of(exchange(sim, code=code, client_secret="wrong")) == (400, 1, None)
    assert exchange(sim, code=code, client_secret="wrong").json()["error"]["message"] == (
        "Error validating client secret."
    )
    other = exchange(sim, code=code, redirect_uri="https://elsewhere.example/cb")
    assert error_of(other) == (400, 100, 36008)
    assert exchange(sim, code=code).status_code == 200
    assert error_of(exchange(sim, code=code)) == (400, 100, 36009)  # used
    assert error_of(exchange(sim, code="made-up")) == (400, 100, None)
    assert error_of(exchange(sim, code=code, client_id="123")) == (400, 101, None)


def test_a_code_expires_after_ten_minutes_on_the_simulators_clock(
    sim: RunningSimulator,
) -> None:
    code = through_dialog(dialog(sim))["code"]
    sim.control.set_clock("2026-03-01T12:11:00+00:00")
    assert error_of(exchange(sim, code=code)) == (400, 100, 36007)


def test_tokens_that_are_not_a_users_are_refused_with_190_or_100(sim: RunningSimulator) -> None:
    forged = exchange(sim, grant_type="fb_exchange_token", fb_exchange_token="EAAforged")
    assert error_of(forged) == (400, 190, None)
    assert error_of(accounts(sim, "EAAforged")) == (400, 190, None)
    page_token = accounts(sim, TOKEN)
    assert error_of(page_token) == (400, 100, None)
    assert "node type (Page)" in page_token.json()["error"]["message"]
    # Without pages_show_list Facebook lists no page.
    code = through_dialog(dialog(sim, scope="pages_messaging"))["code"]
    user = exchange(sim, code=code).json()["access_token"]
    assert accounts(sim, user).json()["data"] == []


def test_subscribed_apps_records_the_fields_and_refuses_unknown_ones(
    sim: RunningSimulator,
) -> None:
    url = f"{sim.url}/{PAGE_ID}/subscribed_apps"
    auth = {"access_token": TOKEN}
    assert requests.get(url, params=auth, timeout=10).json() == {"data": []}
    fields = "messages,messaging_postbacks,feed"
    done = requests.post(url, params={**auth, "subscribed_fields": fields}, timeout=10)
    assert done.json() == {"success": True}
    [app] = requests.get(url, params=auth, timeout=10).json()["data"]
    assert app["id"] == DEFAULT_APP_ID
    assert app["subscribed_fields"] == ["messages", "messaging_postbacks", "feed"]
    wrong = requests.post(url, params={**auth, "subscribed_fields": "messages,emails"}, timeout=10)
    assert error_of(wrong) == (400, 100, None)
    assert "subscribed_fields[1] must be one of" in wrong.json()["error"]["message"]
    assert error_of(requests.post(url, params=auth, timeout=10)) == (400, 100, None)
    stranger = requests.get(url, params={"access_token": "nope"}, timeout=10)
    assert error_of(stranger) == (400, 190, None)
    assert requests.delete(url, params=auth, timeout=10).json() == {"success": True}
    assert requests.get(url, params=auth, timeout=10).json() == {"data": []}


@pytest.mark.parametrize("only_the_old_one", [True, False])
def test_a_killed_token_is_a_190_on_the_next_send_and_a_new_login_gives_a_live_one(
    sim: RunningSimulator, only_the_old_one: bool
) -> None:
    fresh = accounts(sim, long_lived_user(sim)).json()["data"][0]["access_token"]
    body = {"token": TOKEN} if only_the_old_one else {}
    killed = requests.post(f"{sim.root}/_sim/pages/{PAGE_ID}/kill_token", json=body, timeout=10)
    assert killed.json() == {"killed": 1 if only_the_old_one else 2}
    assert error_of(send_text(sim, TOKEN)) == (400, 190, None)
    assert send_text(sim, fresh).status_code == (200 if only_the_old_one else 400)
    again = accounts(sim, long_lived_user(sim)).json()["data"][0]["access_token"]
    assert again not in (TOKEN, fresh)
    assert send_text(sim, again).status_code == 200
