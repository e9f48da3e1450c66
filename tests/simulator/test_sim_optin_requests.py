"""A contact opts in only by tapping "Get messages" under a request on screen (or through
an m.me/rn link): the control API refuses what Messenger would not show, and says what
is on screen instead (policy.md §3)."""

from __future__ import annotations

from typing import Any

import requests
from sim_helpers import PSID, Receiver, Send

from pageflows.simulator import RunningSimulator


def request(title: str | None, payload: str) -> dict[str, Any]:
    shown: dict[str, Any] = {"template_type": "notification_messages", "payload": payload}
    if title is not None:
        shown["title"] = title
    return {"attachment": {"type": "template", "payload": shown}}


def tap(sim: RunningSimulator, topic: str, **extra: Any) -> requests.Response:
    body = {"topic": topic, "psid": PSID, **extra}
    return requests.post(f"{sim.root}/_sim/optin", json=body, timeout=10)


def test_no_request_on_screen_no_opt_in(sim: RunningSimulator, receiver: Receiver) -> None:
    refused = tap(sim, "deals")
    assert refused.status_code == 409
    assert refused.json()["error"] == (
        'no opt-in request for "deals" is on screen: Messenger shows "Get messages" only under'
        " an opt-in request the Page sent to this contact (inside the 24 h window, one per"
        " title per week), and none is waiting to be tapped"
    )
    assert receiver.posts == []  # no webhook: nothing happened on Facebook's side


def test_tap_a_request_by_title_or_payload_once(
    sim: RunningSimulator, receiver: Receiver, send: Send
) -> None:
    sim.control.configure_page(region="EU")  # opt-in requests outlive 2026-02-10 there
    assert send(message=request("Weekly deals", "pf-topic:deals")).status_code == 200
    assert send(message=request(None, "NEWS")).status_code == 200
    wrong = tap(sim, "recipes")
    assert wrong.status_code == 409
    assert wrong.json()["error"] == (
        'no opt-in request for "recipes" is on screen; waiting to be tapped:'
        ' "Weekly deals" (pf-topic:deals), "Updates and promotions" (NEWS)'
    )
    accepted = tap(sim, "deals")  # the payload's last part, as a bot's topic
    assert accepted.status_code == 200 and accepted.json()["title"] == "Weekly deals"
    optin = receiver.posts[-1][0].decode()
    assert '"title":"Weekly deals","payload":"pf-topic:deals"' in optin
    again = tap(sim, "Weekly deals")
    assert again.json()["error"].endswith('waiting to be tapped: "Updates and promotions" (NEWS)')
    assert tap(sim, "updates and promotions").status_code == 200  # the title, any case


def test_a_refused_request_is_not_on_screen(sim: RunningSimulator, send: Send) -> None:
    sim.control.configure_page(region="EU")
    sim.control.advance(25 * 3600)  # the window closed: Facebook refuses the request
    assert send(message=request("Weekly deals", "DEALS")).status_code == 400
    assert tap(sim, "Weekly deals").status_code == 409


def test_stop_needs_a_token_and_a_link_needs_no_request(sim: RunningSimulator) -> None:
    stop = tap(sim, "deals", status="STOP")
    assert stop.status_code == 409
    assert stop.json()["error"] == (
        f'Peter ({PSID}) has no notification token for "deals" to stop or resume'
        " (their tokens: none)"
    )
    linked = tap(sim, "deals", via="link")
    assert linked.status_code == 200 and linked.json()["via"] == "link"
    assert tap(sim, "deals", status="STOP").status_code == 200
