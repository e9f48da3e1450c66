"""The 7-day window after a click-to-Messenger ad, where the Page turned it on (policy.md §1a)."""

from __future__ import annotations

import json

import pytest
import requests
from sim_helpers import PAGE_ID, Receiver, Send, error_of

from pageflows.simulator import RunningSimulator

WINDOW_ERROR = (400, 10, 2018278)
DAY = 86400
BOB = "bob"


def outcome(response: requests.Response) -> object:
    return 200 if response.status_code == 200 else error_of(response)


def test_the_ad_message_carries_facebooks_referral(
    sim: RunningSimulator, receiver: Receiver
) -> None:
    played = sim.control.say("Is this still available?", as_=BOB, ref="spring", from_ad=True)
    [(raw, _headers)] = receiver.posts  # one message webhook, no separate referral event
    item = json.loads(raw)["entry"][0]["messaging"][0]
    assert item["sender"]["id"] == played["psid"]
    assert item["message"]["text"] == "Is this still available?"
    referral = item["message"]["referral"]
    assert referral["source"] == "ADS" and referral["type"] == "OPEN_THREAD"
    assert referral["ref"] == "spring" and referral["ad_id"]
    assert referral["ads_context_data"]["post_id"].startswith(PAGE_ID + "_")


# (seconds after the ad message, ad_window on?, expected for a RESPONSE send)
EDGES = [
    (DAY - 1, False, 200),
    (DAY, False, WINDOW_ERROR),
    (DAY - 1, True, 200),
    (DAY, True, 200),
    (7 * DAY - 1, True, 200),
    (7 * DAY, True, WINDOW_ERROR),
]


@pytest.mark.parametrize(("after", "ad_window", "expected"), EDGES)
def test_window_after_an_ad_message(
    sim: RunningSimulator, send: Send, after: int, ad_window: bool, expected: object
) -> None:
    sim.control.configure_page(ad_window=ad_window)
    psid = sim.control.say("hi from the ad", as_=BOB, from_ad=True)["psid"]
    sim.control.advance(after)
    assert outcome(send(recipient={"id": psid}, messaging_type="RESPONSE")) == expected


def test_an_ordinary_message_never_shortens_the_ad_window(
    sim: RunningSimulator, send: Send
) -> None:
    sim.control.configure_page(ad_window=True)
    psid = sim.control.say("from the ad", as_=BOB, from_ad=True)["psid"]
    sim.control.advance(2 * DAY)
    sim.control.say("and a plain message", as_=BOB)  # its 24 h end before the ad's 7 days
    sim.control.advance(5 * DAY - 1)
    assert send(recipient={"id": psid}, messaging_type="UPDATE").status_code == 200
    sim.control.advance(1)
    assert outcome(send(recipient={"id": psid}, messaging_type="UPDATE")) == WINDOW_ERROR


def test_a_later_ordinary_message_can_outlast_the_ad_window(
    sim: RunningSimulator, send: Send
) -> None:
    sim.control.configure_page(ad_window=True)
    psid = sim.control.say("from the ad", as_=BOB, from_ad=True)["psid"]
    sim.control.advance(6 * DAY + 12 * 3600)
    sim.control.say("still there?", as_=BOB)  # 24 h from now end after the ad's 7 days
    sim.control.advance(DAY - 1)
    assert send(recipient={"id": psid}, messaging_type="RESPONSE").status_code == 200
    sim.control.advance(1)
    assert outcome(send(recipient={"id": psid}, messaging_type="RESPONSE")) == WINDOW_ERROR


def test_a_referral_event_alone_is_not_an_ad_message(sim: RunningSimulator, send: Send) -> None:
    """`--source ads` posts a referral then a message: only a message *carrying* it counts."""
    sim.control.configure_page(ad_window=True)
    psid = sim.control.say("hi", as_=BOB, ref="spring", source="ads")["psid"]
    sim.control.advance(DAY)
    assert outcome(send(recipient={"id": psid}, messaging_type="RESPONSE")) == WINDOW_ERROR


def test_turning_the_setting_on_later_counts_the_earlier_ad(
    sim: RunningSimulator, send: Send
) -> None:
    psid = sim.control.say("from the ad", as_=BOB, from_ad=True)["psid"]
    sim.control.advance(3 * DAY)
    assert outcome(send(recipient={"id": psid}, messaging_type="RESPONSE")) == WINDOW_ERROR
    assert sim.control.configure_page(ad_window=True)["ad_window"] is True
    assert send(recipient={"id": psid}, messaging_type="RESPONSE").status_code == 200


def test_seen_from_ad_without_a_webhook(
    sim: RunningSimulator, send: Send, receiver: Receiver
) -> None:
    sim.control.configure_page(ad_window=True)
    sim.control.add_contact("42", "Bob", "Ad")
    sim.control.seen("42", "2026-02-22T12:00:01Z", from_ad=True)  # fixture clock: 03-01T12:00
    assert send(recipient={"id": "42"}, messaging_type="RESPONSE").status_code == 200
    sim.control.advance(1)
    assert outcome(send(recipient={"id": "42"}, messaging_type="RESPONSE")) == WINDOW_ERROR
    assert receiver.posts == []


def test_tags_keep_counting_from_the_last_message(sim: RunningSimulator, send: Send) -> None:
    """The ad window is the standard window only: HUMAN_AGENT's 7 days are unchanged."""
    sim.control.configure_page(ad_window=True)
    psid = sim.control.say("from the ad", as_=BOB, from_ad=True)["psid"]
    sim.control.advance(7 * DAY)
    response = send(recipient={"id": psid}, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    assert outcome(response) == WINDOW_ERROR
