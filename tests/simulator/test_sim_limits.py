"""Message-shape limits refused with error 100; every send sample of the fact pack accepted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import PSID, Send, error_of

from pageflows.simulator import RunningSimulator

SAMPLES = Path(__file__).parent / "samples"


def qr(title: str = "Red", payload: str = "RED", **extra: Any) -> dict[str, Any]:
    return {"content_type": "text", "title": title, "payload": payload, **extra}


def button_template(text: str = "Next?", buttons: list[dict[str, Any]] | None = None) -> Any:
    if buttons is None:
        buttons = [{"type": "postback", "title": "Go", "payload": "GO"}]
    payload = {"template_type": "button", "text": text, "buttons": buttons}
    return {"attachment": {"type": "template", "payload": payload}}


def generic(elements: list[dict[str, Any]]) -> Any:
    payload = {"template_type": "generic", "elements": elements}
    return {"attachment": {"type": "template", "payload": payload}}


def pb(title: str = "Go", payload: str = "GO") -> dict[str, Any]:
    return {"type": "postback", "title": title, "payload": payload}


OK = [
    {"text": "x" * 2000},
    {"text": "pick", "quick_replies": [qr(f"c{i}", f"P{i}") for i in range(13)]},
    {"text": "pick", "quick_replies": [qr("x" * 20, "p" * 1000)]},
    button_template("t" * 640, [pb("a" * 20), pb("b"), pb("c")]),
    generic([{"title": "t" * 80, "subtitle": "s"} for _ in range(10)]),
]
REFUSED = [
    ({"text": "x" * 2001}, "message[text]"),
    ({"text": ""}, "message[text]"),
    ({}, "Message cannot be empty"),
    ({"text": "a", "attachment": {"type": "image", "payload": {"url": "u"}}}, "Only one"),
    ({"text": "pick", "quick_replies": [qr(f"c{i}") for i in range(14)]}, "at most 13"),
    ({"text": "pick", "quick_replies": [qr("x" * 21)]}, "[title]"),
    ({"text": "pick", "quick_replies": [qr(payload="p" * 1001)]}, "[payload]"),
    ({"text": "pick", "quick_replies": [{"content_type": "location"}]}, "Location Quick Reply"),
    (button_template("t" * 641), "[text]"),
    (button_template("t", []), "[buttons]"),
    (button_template("t", [pb(), pb(), pb(), pb()]), "at most 3"),
    (button_template("t", [pb("a" * 21)]), "[title]"),
    (button_template("t", [pb(payload="p" * 1001)]), "[payload]"),
    (generic([{"title": "t"} for _ in range(11)]), "at most 10"),
    (generic([{"title": "t" * 81}]), "[title]"),
    (generic([{"subtitle": "no title"}]), "[title]"),
    (generic([{"title": "t", "buttons": [pb(), pb(), pb(), pb()]}]), "at most 3"),
]


@pytest.mark.parametrize("message", OK)
def test_at_the_limit_is_accepted(send: Send, message: dict[str, Any]) -> None:
    assert send(messaging_type="RESPONSE", message=message).status_code == 200


@pytest.mark.parametrize(("message", "needle"), REFUSED)
def test_over_the_limit_is_error_100(send: Send, message: dict[str, Any], needle: str) -> None:
    response = send(messaging_type="RESPONSE", message=message)
    assert error_of(response)[:2] == (400, 100)
    error = response.json()["error"]
    assert error["message"].startswith("(#100) ") and needle in error["message"]


def test_metadata_limit(send: Send) -> None:
    assert error_of(send(message={"text": "x"}, metadata="m" * 1001))[:2] == (400, 100)


@pytest.mark.parametrize(
    "name",
    # Token and private-reply samples need a token or a real comment: their own files test them.
    sorted(
        p.name
        for p in SAMPLES.glob("send_*.json")
        if "notification_token" not in p.name and "private_reply" not in p.name
    ),
)
def test_fact_pack_send_samples_are_accepted(sim: RunningSimulator, send: Send, name: str) -> None:
    # The opt-in sample is a Paris Page: from 2026-02-10 opt-in requests need one of the
    # five regions (policy.md §3), and the fixture's clock is 2026-03-01.
    sim.control.configure_page(region="EU")
    request = json.loads((SAMPLES / name).read_text())["request"]["json"]
    request["recipient"] = {"id": PSID}
    response = send(**request)
    assert response.status_code == 200, response.json()
    assert response.json()["recipient_id"] == PSID
