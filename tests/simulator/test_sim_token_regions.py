"""Notification tokens and opt-in requests from 2026-02-10 by the Page's region, and the
one-request-per-title-per-week limit, over HTTP (policy.md §3)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sim_helpers import PAGE_ID, PSID, SECRET, TOKEN, Receiver, Send, error_of

from pageflows.simulator import RunningSimulator, running_simulator

DISCONTINUED = (400, 10, None)
MESSAGE = "(#10) Marketing messages are not available for this Page's region."
REGIONS = ("AU", "EU", "JP", "KR", "UK")


def optin_request(title: str | None = "Weekly deals") -> dict[str, Any]:
    payload = {"template_type": "notification_messages", "payload": "OPTIN"}
    if title is not None:
        payload["title"] = title
    return {"attachment": {"type": "template", "payload": payload}}


def outcome(response: Any) -> object:
    return 200 if response.status_code == 200 else error_of(response)


# (simulator now, region, expected): the UTC day edge, each region and none.
EDGES = [
    *[("2026-02-09T23:59:59Z", region, 200) for region in (None, *REGIONS)],
    ("2026-02-10T00:00:00Z", None, DISCONTINUED),
    *[("2026-02-10T00:00:00Z", region, 200) for region in REGIONS],
    ("2026-09-01T00:00:00Z", None, DISCONTINUED),
    ("2026-09-01T00:00:00Z", "EU", 200),
]


@pytest.mark.parametrize(("now", "region", "expected"), EDGES)
def test_token_sends_by_region(
    sim: RunningSimulator, send: Send, now: str, region: str | None, expected: object
) -> None:
    sim.control.set_clock("2026-01-05T12:00:00Z")
    token = sim.control.optin("Weekly deals", psid=PSID, via="link")["token"]
    sim.control.configure_page(region=region)
    sim.control.set_clock(now)
    response = send(recipient={"notification_messages_token": token})
    assert outcome(response) == expected
    if expected == DISCONTINUED:
        assert response.json()["error"]["message"] == MESSAGE


@pytest.mark.parametrize(("now", "region", "expected"), EDGES)
def test_optin_requests_by_region(
    sim: RunningSimulator, send: Send, now: str, region: str | None, expected: object
) -> None:
    sim.control.configure_page(region=region)
    sim.control.set_clock(now)
    sim.control.seen(PSID)  # opt-in requests go inside the window
    response = send(messaging_type="RESPONSE", message=optin_request())
    assert outcome(response) == expected
    if expected == DISCONTINUED:
        assert response.json()["error"]["message"] == MESSAGE


def test_region_is_set_when_the_page_is_registered(receiver: Receiver) -> None:
    with running_simulator() as sim:
        registered = sim.control.register_page(PAGE_ID, TOKEN, SECRET, receiver.url, region="KR")
        assert registered["region"] == "KR" and registered["ad_window"] is False
        sim.control.add_contact(PSID)
        sim.control.set_clock("2026-03-01T12:00:00Z")
        token = sim.control.optin("Deals", psid=PSID, via="link")["token"]
        url = f"{sim.url}/{PAGE_ID}/messages"
        body = {"recipient": {"notification_messages_token": token}, "message": {"text": "x"}}
        accepted = requests.post(url, params={"access_token": TOKEN}, json=body, timeout=5)
        assert accepted.status_code == 200
        assert sim.control.configure_page(region=None)["region"] is None
        sim.control.advance(3 * 24 * 3600)
        refused = requests.post(url, params={"access_token": TOKEN}, json=body, timeout=5)
        assert error_of(refused) == DISCONTINUED


def test_default_region_is_none_and_unknown_regions_are_refused(sim: RunningSimulator) -> None:
    [page] = sim.control.pages()
    assert page["region"] is None and page["ad_window"] is False
    with pytest.raises(RuntimeError, match="400"):
        sim.control.configure_page(region="US")


# (time since the first request, expected): one request per title per person per 7 days.
GAPS = [
    (0, (400, 613, 1893016)),
    (6 * 86400 + 23 * 3600 + 59 * 60, (400, 613, 1893016)),
    (7 * 86400 - 1, (400, 613, 1893016)),
    (7 * 86400, 200),
    (30 * 86400, 200),
]


@pytest.mark.parametrize(("after", "expected"), GAPS)
def test_one_optin_request_per_title_per_week(
    sim: RunningSimulator, send: Send, after: int, expected: object
) -> None:
    sim.control.configure_page(region="UK")
    assert send(messaging_type="RESPONSE", message=optin_request()).status_code == 200
    sim.control.advance(after)
    sim.control.seen(PSID)  # the person wrote again: the window is open
    assert outcome(send(messaging_type="RESPONSE", message=optin_request())) == expected


def test_the_limit_is_per_title_and_per_person(sim: RunningSimulator, send: Send) -> None:
    sim.control.configure_page(region="AU")
    assert send(messaging_type="RESPONSE", message=optin_request()).status_code == 200
    assert send(messaging_type="RESPONSE", message=optin_request("Recipes")).status_code == 200
    assert send(messaging_type="RESPONSE", message=optin_request(None)).status_code == 200
    again = send(messaging_type="RESPONSE", message=optin_request(None))  # the default title
    assert error_of(again) == (400, 613, 1893016)
    sim.control.add_contact("42", "Bob", "Other")
    sim.control.seen("42")
    other = send(recipient={"id": "42"}, messaging_type="RESPONSE", message=optin_request())
    assert other.status_code == 200


def test_a_refused_request_does_not_count(sim: RunningSimulator, send: Send) -> None:
    sim.control.configure_page(region="EU")
    sim.control.advance(25 * 3600)  # the window closed: the request is refused
    assert error_of(send(messaging_type="RESPONSE", message=optin_request())) == (400, 10, 2018278)
    sim.control.seen(PSID)
    assert send(messaging_type="RESPONSE", message=optin_request()).status_code == 200
