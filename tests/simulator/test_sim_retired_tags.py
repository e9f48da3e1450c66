"""Retired message tags over HTTP: 100/1893061 from their date, in and out of the 24 h window."""

from __future__ import annotations

import pytest
from sim_helpers import PSID, Send, error_of

from pageflows.simulator import RunningSimulator

RETIRED = (400, 100, 1893061)
TAGS_2026 = ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE")
TAGS_2020 = ("SHIPPING_UPDATE", "ISSUE_RESOLUTION", "NON_PROMOTIONAL_SUBSCRIPTION", "GAME_EVENT")


@pytest.mark.parametrize("tag", TAGS_2026)
@pytest.mark.parametrize(
    ("now", "last_message", "expected"),
    [
        # The day before: accepted outside the 24 h window (no fixed limit for these tags).
        ("2026-04-26T23:59:59Z", "2026-04-20T08:00:00Z", 200),
        ("2026-04-26T00:00:00Z", "2026-04-25T08:00:00Z", 200),
        # From 2026-04-27 00:00 UTC: refused, outside and inside the window alike.
        ("2026-04-27T00:00:00Z", "2026-04-20T08:00:00Z", RETIRED),
        ("2026-04-27T00:00:00Z", "2026-04-26T23:00:00Z", RETIRED),
        ("2026-06-01T12:00:00Z", "2026-06-01T11:59:00Z", RETIRED),
    ],
)
def test_three_tags_retire_on_2026_04_27(
    sim: RunningSimulator, send: Send, tag: str, now: str, last_message: str, expected: object
) -> None:
    sim.control.set_clock(now)
    sim.control.seen(PSID, last_message)
    response = send(messaging_type="MESSAGE_TAG", tag=tag)
    got = response.status_code if response.status_code == 200 else error_of(response)
    assert got == expected


def test_the_refusal_is_facebooks_body(sim: RunningSimulator, send: Send) -> None:
    sim.control.set_clock("2026-04-27T09:00:00Z")
    sim.control.seen(PSID)
    error = send(messaging_type="MESSAGE_TAG", tag="ACCOUNT_UPDATE").json()["error"]
    assert error["message"] == "(#100) Invalid parameter"
    assert error["type"] == "OAuthException"
    assert (error["code"], error["error_subcode"]) == (100, 1893061)
    assert error["error_user_title"] == "Deprecated Message Tag Not Allowed"
    assert error["error_user_msg"] == "To send a utility message, use an approved utility template."
    assert error["fbtrace_id"]


@pytest.mark.parametrize("messaging_type", ["RESPONSE", "UPDATE", "MESSAGE_TAG", None])
def test_a_retired_tag_is_refused_whatever_the_messaging_type(
    sim: RunningSimulator, send: Send, messaging_type: str | None
) -> None:
    """chatwoot PR #14329: the tag in the payload is enough, even inside the window."""
    sim.control.set_clock("2026-05-02T10:00:00Z")
    sim.control.seen(PSID)  # the window is wide open
    response = send(messaging_type=messaging_type, tag="POST_PURCHASE_UPDATE")
    assert error_of(response) == RETIRED
    plain = "UPDATE" if messaging_type == "UPDATE" else "RESPONSE"
    assert send(messaging_type=plain).status_code == 200  # the same send without the tag


@pytest.mark.parametrize("tag", TAGS_2020)
def test_tags_retired_in_2020_get_the_same_refusal(send: Send, tag: str) -> None:
    assert error_of(send(messaging_type="MESSAGE_TAG", tag=tag)) == RETIRED
    assert error_of(send(messaging_type="RESPONSE", tag=tag)) == RETIRED


def test_human_agent_survives_2026_04_27(sim: RunningSimulator, send: Send) -> None:
    sim.control.set_clock("2026-04-27T00:00:00Z")
    sim.control.seen(PSID, "2026-04-25T08:00:00Z")
    assert send(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT").status_code == 200
    listed = send(messaging_type="MESSAGE_TAG", tag="NOPE").json()["error"]["message"]
    assert "HUMAN_AGENT" in listed and "ACCOUNT_UPDATE" not in listed


def test_refusals_are_logged_with_their_messaging_type(sim: RunningSimulator, send: Send) -> None:
    sim.control.set_clock("2026-04-27T09:00:00Z")
    send(messaging_type="MESSAGE_TAG", tag="CONFIRMED_EVENT_UPDATE")
    [entry] = sim.control.sent_messages(PSID)
    assert not entry["ok"] and entry["messaging_type"] == "MESSAGE_TAG"
    assert entry["error"]["error_subcode"] == 1893061
