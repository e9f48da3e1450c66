"""Faults, slowness, User Profile, Messenger Profile and fake media over real HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from sim_helpers import PSID, TOKEN, Send, error_of

from pageflows.simulator import RunningSimulator


def test_fail_next_then_recover(sim: RunningSimulator, send: Send) -> None:
    sim.control.fail_next(2, code=613)
    for _ in range(2):
        response = send(messaging_type="RESPONSE")
        assert error_of(response) == (400, 613, None)  # throttling is 400, never 429
        assert response.json()["error"]["message"].startswith("(#613) ")
    assert send(messaging_type="RESPONSE").status_code == 200


@pytest.mark.parametrize(("code", "status"), [(4, 400), (32, 400), (1, 500), (2, 500), (200, 403)])
def test_fault_statuses_follow_facebook(
    sim: RunningSimulator, send: Send, code: int, status: int
) -> None:
    sim.control.fail_next(1, code=code)
    assert error_of(send(messaging_type="RESPONSE"))[:2] == (status, code)


def test_fault_with_subcode_and_invalid_token_first(sim: RunningSimulator, send: Send) -> None:
    sim.control.fail_next(1, code=613, subcode=2018338)
    assert error_of(send(token="bad"))[1] == 190  # auth is checked before throttling
    assert error_of(send(messaging_type="RESPONSE")) == (400, 613, 2018338)


def test_429_is_refused_by_the_control_api(sim: RunningSimulator) -> None:
    with pytest.raises(RuntimeError, match="429"):
        sim.control.fail_next(1, code=613, status=429)


def test_slow_answers(sim: RunningSimulator, send: Send) -> None:
    sim.control.slow(0.5)
    started = time.monotonic()
    assert send(messaging_type="RESPONSE").status_code == 200
    assert time.monotonic() - started >= 0.5
    body = {"recipient": {"id": PSID}, "message": {"text": "x"}}
    with pytest.raises(requests.Timeout):  # the engine's client timeout gets exercised
        url = f"{sim.url}/me/messages"
        requests.post(url, params={"access_token": TOKEN}, json=body, timeout=0.2)
    sim.control.slow(0)


def get(sim: RunningSimulator, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sim.url}/{path}", params={"access_token": TOKEN, **params}, timeout=5)


def test_user_profile(sim: RunningSimulator) -> None:
    response = get(sim, PSID, fields="first_name,last_name,profile_pic")
    body = response.json()
    assert response.status_code == 200
    assert (body["id"], body["first_name"], body["last_name"]) == (PSID, "Peter", "Chang")
    assert body["profile_pic"].startswith("https://")
    assert set(body) == {"id", "first_name", "last_name", "profile_pic"}


def test_user_profile_unknown_id_and_field(sim: RunningSimulator) -> None:
    response = get(sim, "111", fields="first_name")
    assert error_of(response) == (400, 100, 33)
    assert response.json()["error"]["type"] == "GraphMethodException"
    assert error_of(get(sim, PSID, fields="email"))[:2] == (400, 100)
    assert error_of(requests.get(f"{sim.url}/{PSID}", timeout=5))[:2] == (400, 190)


PROFILE = {
    "get_started": {"payload": "GET_STARTED"},
    "greeting": [{"locale": "default", "text": "Hi {{user_first_name}}!"}],
    "ice_breakers": [
        {"locale": "default", "call_to_actions": [{"question": "Hours?", "payload": "H"}]}
    ],
    "persistent_menu": [
        {
            "locale": "default",
            "composer_input_disabled": False,
            "call_to_actions": [{"type": "postback", "title": "Agent", "payload": "HUMAN"}],
        }
    ],
}


def profile(
    sim: RunningSimulator, method: str, fields: str | None = None, json: Any = None
) -> requests.Response:
    url = f"{sim.url}/me/messenger_profile"
    params = {"access_token": TOKEN, **({"fields": fields} if fields else {})}
    return requests.request(method, url, params=params, json=json, timeout=5)


def test_messenger_profile_round_trip(sim: RunningSimulator) -> None:
    assert profile(sim, "POST", json=PROFILE).json() == {"result": "success"}
    fields = ",".join(PROFILE)
    assert profile(sim, "GET", fields).json() == {"data": [PROFILE]}
    deleted = profile(sim, "DELETE", json={"fields": ["greeting", "ice_breakers"]})
    assert deleted.json() == {"result": "success"}
    after = profile(sim, "GET", fields).json()
    assert set(after["data"][0]) == {"get_started", "persistent_menu"}


def test_messenger_profile_light_validation(sim: RunningSimulator) -> None:
    too_long = {"greeting": [{"locale": "default", "text": "x" * 161}]}
    assert error_of(profile(sim, "POST", json=too_long))[:2] == (400, 100)
    menu_only = {"persistent_menu": PROFILE["persistent_menu"]}
    assert error_of(profile(sim, "POST", json=menu_only))[:2] == (400, 100)
    assert error_of(profile(sim, "POST", json={"colour": "red"}))[:2] == (400, 100)
    empty = profile(sim, "GET", "greeting")
    assert empty.json() == {"data": []}


def test_media_head_and_get(sim: RunningSimulator) -> None:
    sim.control.set_media("big.mp4", "video/mp4", 26 * 1024 * 1024)
    head = requests.head(f"{sim.root}/media/big.mp4", timeout=5)
    assert head.status_code == 200
    assert head.headers["Content-Type"] == "video/mp4"
    assert head.headers["Content-Length"] == str(26 * 1024 * 1024)
    sim.control.set_media("voice.bin", "application/octet-stream", 10)
    got = requests.get(f"{sim.root}/media/voice.bin", timeout=5)
    assert got.headers["Content-Type"] == "application/octet-stream" and len(got.content) == 10
    guessed = requests.head(f"{sim.root}/media/photo.jpg", timeout=5)
    assert guessed.headers["Content-Type"] == "image/jpeg"
    assert requests.head(f"{sim.root}/media/unknown", timeout=5).status_code == 404
