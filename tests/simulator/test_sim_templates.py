"""A Page's utility templates over HTTP: created, listed with paging, re-rated with a webhook."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from sim_helpers import (
    PAGE_ID,
    SECRET,
    TOKEN,
    Receiver,
    error_of,
    signed_json,
    wait_for_posts,
)

from pageflows.simulator import RunningSimulator, running_simulator

BODY = {"type": "BODY", "text": "Your order {{1}} is {{2}}."}
TRACK = {"type": "URL", "text": "Track", "url": "https://shop.example/track"}


def template(name: str = "order_update", **extra: Any) -> dict[str, Any]:
    buttons = {"type": "BUTTONS", "buttons": [TRACK]}
    return {"name": name, "language": "en_US", "category": "UTILITY",
            "components": [BODY, buttons], **extra}  # fmt: skip


def create(sim: RunningSimulator, body: dict[str, Any], token: str = TOKEN) -> requests.Response:
    url = f"{sim.url}/{PAGE_ID}/message_templates"
    return requests.post(url, params={"access_token": token}, json=body, timeout=5)


def listing(sim: RunningSimulator, **query: Any) -> requests.Response:
    params = {"access_token": TOKEN, **query}
    return requests.get(f"{sim.url}/{PAGE_ID}/message_templates", params=params, timeout=5)


def status_change(body: dict[str, Any]) -> dict[str, Any]:
    [entry] = body["entry"]
    assert body["object"] == "page" and entry["id"] == PAGE_ID
    assert isinstance(entry["time"], int) and entry["time"] > 10**12  # milliseconds
    [change] = entry["changes"]
    assert change["field"] == "message_template_status_update"
    value: dict[str, Any] = change["value"]
    return value


def test_create_is_approved_at_once_then_the_webhook_follows(
    sim: RunningSimulator, receiver: Receiver
) -> None:
    response = create(sim, template())
    assert response.status_code == 200
    answer = response.json()
    assert answer == {"id": answer["id"], "status": "APPROVED", "category": "UTILITY"}
    assert answer["id"].isdigit()
    wait_for_posts(receiver, 1)
    assert status_change(signed_json(receiver)) == {
        "event": "APPROVED",
        "message_template_id": int(answer["id"]),
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "reason": "NONE",
    }
    [event] = sim.control.template_events()
    assert event["webhook_status"] == 200 and event["event"] == "APPROVED"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"components": [BODY, {"type": "BUTTONS", "buttons": [
            {"type": "QUICK_REPLY", "text": "Yes"}]}]}, (400, 100, 2018416)),
        ({"category": "MARKETING"}, (400, 100, None)),
        ({"components": [{"type": "BUTTONS", "buttons": [TRACK]}]}, (400, 100, None)),  # no BODY
        ({"components": [BODY, {"type": "BUTTONS", "buttons": [
            {"type": "URL", "text": "Track"}]}]}, (400, 100, None)),  # a URL button needs url
        ({"components": [BODY, {"type": "BUTTONS", "buttons": [
            {"type": "WEB_URL", "text": "x", "url": "https://x"}]}]}, (400, 100, None)),
        ({"name": ""}, (400, 100, None)),
        ({"language": None}, (400, 100, None)),
    ],
)  # fmt: skip
def test_create_refusals(
    sim: RunningSimulator, receiver: Receiver, change: dict[str, Any], expected: object
) -> None:
    response = create(sim, {**template(), **change})
    assert error_of(response) == expected
    assert response.json()["error"]["type"] == "OAuthException"
    assert listing(sim).json() == {"data": []} and receiver.posts == []


def test_other_buttons_are_accepted(sim: RunningSimulator) -> None:
    buttons = [
        {"type": "POSTBACK", "text": "Cancel", "payload": "CANCEL"},
        {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15105551234"},
        TRACK,
    ]
    body = template(components=[BODY, {"type": "BUTTONS", "buttons": buttons}])
    assert create(sim, body).status_code == 200


def test_same_name_and_language_twice_is_refused(sim: RunningSimulator) -> None:
    assert create(sim, template()).status_code == 200
    assert error_of(create(sim, template())) == (400, 100, None)
    assert create(sim, template(language="fr_FR")).status_code == 200


def test_a_page_token_is_needed(sim: RunningSimulator) -> None:
    assert error_of(create(sim, template(), token="nope")) == (400, 190, None)
    url = f"{sim.url}/{PAGE_ID}/message_templates"
    assert error_of(requests.get(url, timeout=5)) == (400, 190, None)
    other = requests.get(url, params={"access_token": "nope"}, timeout=5)
    assert error_of(other) == (400, 190, None)


def test_list_shape(sim: RunningSimulator) -> None:
    created = create(sim, template()).json()
    body = listing(sim).json()
    assert body["data"] == [
        {"id": created["id"], "name": "order_update", "language": "en_US",
         "status": "APPROVED", "category": "UTILITY", "components": template()["components"]}
    ]  # fmt: skip
    assert set(body["paging"]) == {"cursors"}  # the last page has no `next`
    assert set(body["paging"]["cursors"]) == {"before", "after"}
    assert listing(sim).json() == body  # by the Bearer header too:
    bearer = requests.get(
        f"{sim.url}/me/message_templates",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert bearer.json() == body


@pytest.mark.parametrize(
    ("count", "limit", "pages"),
    [(0, None, 0), (25, None, 1), (26, None, 2), (5, 2, 3), (4, 2, 2), (3, 1, 3)],
)
def test_paging_follows_next_until_the_last_page(
    sim: RunningSimulator, count: int, limit: int | None, pages: int
) -> None:
    for i in range(count):
        sim.control.add_template(f"t{i:02}", "Hello {{1}}")
    query = {} if limit is None else {"limit": limit}
    response = listing(sim, **query).json()
    seen, fetched = [], 0
    while True:
        seen.extend(t["name"] for t in response["data"])
        fetched += 1 if response["data"] else 0
        if "next" not in response.get("paging", {}):
            break
        assert response["paging"]["next"].startswith(f"{sim.url}/{PAGE_ID}/message_templates?")
        response = requests.get(response["paging"]["next"], timeout=5).json()
    assert seen == [f"t{i:02}" for i in range(count)]
    assert fetched == pages


def test_after_cursor_and_bad_paging_values(sim: RunningSimulator) -> None:
    for name in ("a", "b", "c"):
        sim.control.add_template(name, "Hi")
    first = listing(sim, limit=1).json()
    after = first["paging"]["cursors"]["after"]
    assert [t["name"] for t in listing(sim, limit=2, after=after).json()["data"]] == ["b", "c"]
    assert error_of(listing(sim, after="garbage")) == (400, 100, None)
    assert error_of(listing(sim, limit=0)) == (400, 100, None)
    assert error_of(listing(sim, limit="ten")) == (400, 100, None)


def test_status_change_posts_the_webhook(sim: RunningSimulator, receiver: Receiver) -> None:
    created = sim.control.add_template("order_update", "Your order {{1}} is {{2}}.")
    assert created["status"] == "APPROVED" and receiver.posts == []  # declared: no webhook
    changed = sim.control.set_template_status("PAUSED", name="order_update")
    assert changed["status"] == "PAUSED" and changed["webhook_status"] == 200
    assert status_change(signed_json(receiver)) == {
        "event": "PAUSED",
        "message_template_id": int(created["id"]),
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "reason": "NONE",
    }
    sim.control.set_template_status("REJECTED", template_id=created["id"], reason="ABUSIVE_CONTENT")
    assert status_change(signed_json(receiver))["reason"] == "ABUSIVE_CONTENT"
    assert [t["status"] for t in listing(sim).json()["data"]] == ["REJECTED"]
    assert [e["event"] for e in sim.control.template_events()] == ["PAUSED", "REJECTED"]


def test_status_control_refusals(sim: RunningSimulator) -> None:
    sim.control.add_template("order_update", "Hi {{1}}")
    with pytest.raises(RuntimeError, match="404"):
        sim.control.set_template_status("PAUSED", name="nope")
    with pytest.raises(RuntimeError, match="400"):
        sim.control.set_template_status("SLEEPING", name="order_update")
    with pytest.raises(RuntimeError, match="400"):
        sim.control.add_template("quick", "Hi", buttons=[{"type": "QUICK_REPLY", "text": "x"}])


def test_templates_declared_when_the_page_is_registered(receiver: Receiver) -> None:
    declared = [
        {"name": "order_update", "body": "Your order {{1}} is {{2}}.", "buttons": [TRACK]},
        {
            "name": "order_update",
            "language": "fr_FR",
            "body": "Commande {{1}}",
            "status": "PENDING",
        },
        {"id": "5550001", "name": "raw", "components": [BODY]},
    ]
    with running_simulator() as sim:
        sim.control.register_page(PAGE_ID, TOKEN, SECRET, receiver.url, templates=declared)
        data = listing(sim).json()["data"]
        assert [(t["name"], t["language"], t["status"]) for t in data] == [
            ("order_update", "en_US", "APPROVED"),
            ("order_update", "fr_FR", "PENDING"),
            ("raw", "en_US", "APPROVED"),
        ]
        assert data[0]["components"] == [BODY, {"type": "BUTTONS", "buttons": [TRACK]}]
        assert data[2]["id"] == "5550001"
        assert sim.control.templates() == data
        with pytest.raises(RuntimeError, match="400"):  # all or nothing
            sim.control.register_page("2", "t2", SECRET, receiver.url, templates=[{"name": "x"}])
        assert [p["page_id"] for p in sim.control.pages()] == [PAGE_ID]
    assert receiver.posts == []


def test_unreachable_webhook_does_not_fail_the_create(receiver: Receiver) -> None:
    with running_simulator() as sim:
        sim.control.register_page(PAGE_ID, TOKEN, SECRET, "http://127.0.0.1:9/webhook")
        assert create(sim, template()).status_code == 200
        deadline = time.monotonic() + 5
        while not sim.control.template_events():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        [event] = sim.control.template_events()
        assert event["event"] == "APPROVED" and event["webhook_status"] is None
