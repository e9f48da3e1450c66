"""Private replies (once, within 7 days, never to the Page) and marketing-message tokens."""

from __future__ import annotations

from sim_helpers import PAGE_ID, PSID, Send, error_of

from pageflows.simulator import RunningSimulator


def test_private_reply_once(sim: RunningSimulator, send: Send) -> None:
    posted = sim.control.comment("How much is this?", as_="jane")
    comment_id = posted["comment_id"]
    first = send(recipient={"comment_id": comment_id}, message={"text": "29 EUR"})
    assert first.status_code == 200
    assert first.json()["recipient_id"] == posted["psid"]
    second = send(recipient={"comment_id": comment_id}, message={"text": "again"})
    assert error_of(second) == (400, 10900, None)
    assert second.json()["error"]["message"] == "(#10900) Activity already replied to"


def test_private_reply_within_7_days(sim: RunningSimulator, send: Send) -> None:
    old = sim.control.comment("still there?", as_="jane", created_time="2026-02-22T11:59:59Z")
    assert error_of(send(recipient={"comment_id": old["comment_id"]})) == (400, 10, 2018278)
    edge = sim.control.comment("edge", as_="jane", created_time="2026-02-22T12:00:00Z")
    assert send(recipient={"comment_id": edge["comment_id"]}).status_code == 200


def test_private_reply_never_to_the_page_or_unknown_comment(
    sim: RunningSimulator, send: Send
) -> None:
    own = sim.control.comment("Thanks all!", from_page=True)
    assert error_of(send(recipient={"comment_id": own["comment_id"]})) == (400, 100, 2534025)
    assert error_of(send(recipient={"comment_id": "1_2"})) == (400, 100, 2534025)


def test_comment_does_not_open_the_window(sim: RunningSimulator, send: Send) -> None:
    posted = sim.control.comment("hi", as_="jane")
    response = send(recipient={"id": posted["psid"]}, messaging_type="RESPONSE")
    assert error_of(response) == (400, 100, 2018001)  # a commenter is not yet a contact
    assert send(recipient={"comment_id": posted["comment_id"]}).status_code == 200
    response = send(recipient={"id": posted["psid"]}, messaging_type="RESPONSE")
    assert error_of(response) == (400, 10, 2018278)  # until they answer the private reply
    sim.control.say("yes please", psid=posted["psid"])
    assert send(recipient={"id": posted["psid"]}, messaging_type="RESPONSE").status_code == 200


def test_token_one_send_per_48h(sim: RunningSimulator, send: Send) -> None:
    sim.control.configure_page(region="EU")  # tokens outlive 2026-02-10 there only
    token = sim.control.optin("Weekly deals", psid=PSID, via="link")["token"]
    sim.control.advance(30 * 24 * 3600)  # far outside the 24 h window: tokens don't need it
    assert send(recipient={"notification_messages_token": token}).json()["recipient_id"] == PSID
    sim.control.advance(48 * 3600 - 1)
    assert error_of(send(recipient={"notification_messages_token": token})) == (400, 4, 2018354)
    sim.control.advance(1)
    assert send(recipient={"notification_messages_token": token}).status_code == 200


def test_token_cap_was_24h_before_2025_09_01(sim: RunningSimulator, send: Send) -> None:
    sim.control.set_clock("2025-08-30T00:00:00Z")
    token = sim.control.optin("Weekly deals", psid=PSID, via="link")["token"]
    assert send(recipient={"notification_messages_token": token}).status_code == 200
    sim.control.advance(24 * 3600)
    assert send(recipient={"notification_messages_token": token}).status_code == 200
    sim.control.advance(24 * 3600)  # now 2025-09-01: the 48 h cap applies
    assert error_of(send(recipient={"notification_messages_token": token})) == (400, 4, 2018354)


def test_stopped_and_unknown_tokens(sim: RunningSimulator, send: Send) -> None:
    sim.control.configure_page(region="JP")  # tokens outlive 2026-02-10 there only
    token = sim.control.optin("Weekly deals", psid=PSID, via="link")["token"]
    sim.control.optin("Weekly deals", psid=PSID, token=token, status="STOP")
    assert error_of(send(recipient={"notification_messages_token": token})) == (400, 10, 1893015)
    sim.control.optin("Weekly deals", psid=PSID, token=token, status="RESUME")
    assert send(recipient={"notification_messages_token": token}).status_code == 200
    assert error_of(send(recipient={"notification_messages_token": "nope"}))[:2] == (400, 100)


def test_unsupported_recipient_kind(send: Send) -> None:
    assert error_of(send(recipient={"user_ref": "x"}))[:2] == (400, 100)
    assert error_of(send(recipient={}))[:2] == (400, 100)


def test_page_id_constant(sim: RunningSimulator) -> None:
    assert sim.control.comment("x", as_="jane")["post_id"].startswith(PAGE_ID + "_")
