"""Webhooks the simulator posts: signed with the app secret, shaped like Facebook's samples."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from sim_helpers import PAGE_ID, PSID, SECRET, TOKEN, Receiver, Send

from pageflows.simulator import RunningSimulator
from pageflows.simulator.state import DEFAULT_APP_ID, PAGE_INBOX_APP_ID

SAMPLES = Path(__file__).parent / "samples"


def shape(value: Any) -> Any:
    """Keys and leaf types, so two bodies compare by structure and not by values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def sample(name: str) -> Any:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def posted(receiver: Receiver, index: int = -1) -> dict[str, Any]:
    """The body of a received webhook, after checking its signature over the raw bytes."""
    raw, headers = receiver.posts[index]
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature-256"], expected)
    assert headers["Content-Type"] == "application/json"
    body: dict[str, Any] = json.loads(raw)
    assert raw == json.dumps(body, separators=(",", ":")).encode()  # compact, ASCII
    return body


def test_say_posts_a_signed_text_message(sim: RunningSimulator, receiver: Receiver) -> None:
    result = sim.control.say("Hi, do you ship to Lyon? ä", psid=PSID)
    assert result["status"] == 200
    body = posted(receiver)
    assert shape(body) == shape(sample("wh_text_message"))
    event = body["entry"][0]["messaging"][0]
    assert body["entry"][0]["id"] == PAGE_ID and event["recipient"]["id"] == PAGE_ID
    assert event["sender"]["id"] == PSID and event["message"]["mid"].startswith("m_")
    assert event["timestamp"] == 1772366400000  # the simulated 2026-03-01T12:00Z, in ms
    assert b"\\u00e4" in receiver.posts[-1][0]


def test_say_with_ref_sends_a_referral_first(sim: RunningSimulator, receiver: Receiver) -> None:
    result = sim.control.say("hello", as_="alice", ref="spring_sale", source="shortlink")
    assert result["statuses"] == [200, 200]
    referral, message = posted(receiver, 0), posted(receiver, 1)
    assert shape(referral) == shape(sample("wh_referral_mme_shortlink"))
    assert referral["entry"][0]["messaging"][0]["referral"] == {
        "ref": "spring_sale", "source": "SHORTLINK", "type": "OPEN_THREAD"
    }  # fmt: skip
    assert message["entry"][0]["messaging"][0]["message"]["text"] == "hello"
    profile = requests.get(f"{sim.url}/{result['psid']}", timeout=5,
                           params={"access_token": TOKEN, "fields": "first_name"})  # fmt: skip
    assert profile.json()["first_name"] == "Alice"
    assert sim.control.say("again", as_="alice")["psid"] == result["psid"]  # same persona


def test_tap_quick_reply_and_postback_button(
    sim: RunningSimulator, receiver: Receiver, send: Send
) -> None:
    replies = [{"content_type": "text", "title": t, "payload": f"COLOR_{t.upper()}"}
               for t in ("Red", "Green")]  # fmt: skip
    send(messaging_type="RESPONSE", message={"text": "Pick", "quick_replies": replies})
    sim.control.tap("green", psid=PSID)
    body = posted(receiver)
    assert shape(body) == shape(sample("wh_quick_reply"))
    assert body["entry"][0]["messaging"][0]["message"]["quick_reply"] == {"payload": "COLOR_GREEN"}
    buttons = [{"type": "postback", "title": "Talk to a human", "payload": "HUMAN"}]
    template = {"template_type": "button", "text": "Next?", "buttons": buttons}
    send(messaging_type="RESPONSE", message={"attachment": {"type": "template",
                                                             "payload": template}})  # fmt: skip
    sim.control.tap("Talk to a human", psid=PSID)
    postback = posted(receiver)["entry"][0]["messaging"][0]["postback"]
    assert (postback["title"], postback["payload"]) == ("Talk to a human", "HUMAN")
    with pytest.raises(RuntimeError, match="404"):
        sim.control.tap("Red", psid=PSID)  # only the latest message's choices are on screen


def test_postback_with_referral_shape(sim: RunningSimulator, receiver: Receiver) -> None:
    sim.control.postback("Get Started", "GET_STARTED", psid=PSID, ref="summer", source="shortlink")
    assert shape(posted(receiver)) == shape(sample("wh_postback_get_started_with_referral"))


def test_comment_shape(sim: RunningSimulator, receiver: Receiver) -> None:
    result = sim.control.comment("How much is this?", as_="jane",
                                 post_id=f"{PAGE_ID}_778899001122334")  # fmt: skip
    body = posted(receiver)
    assert shape(body) == shape(sample("wh_feed_comment_add"))
    value = body["entry"][0]["changes"][0]["value"]
    assert value["comment_id"] == result["comment_id"] and value["from"]["name"] == "Jane"
    assert value["created_time"] == 1772366400 and value["parent_id"] == value["post_id"]


def test_optin_delivery_read_and_handover_shapes(
    sim: RunningSimulator, receiver: Receiver, send: Send
) -> None:
    sim.control.configure_page(region="EU")  # opt-in requests outlive 2026-02-10 there
    request = {"template_type": "notification_messages", "title": "Weekly deals",
               "payload": "OPTIN_WEEKLY_DEALS"}  # fmt: skip
    message = {"attachment": {"type": "template", "payload": request}}
    asked = send(messaging_type="RESPONSE", message=message).json()["message_id"]
    token = sim.control.optin("Weekly deals", psid=PSID)["token"]
    optin = posted(receiver)["entry"][0]["messaging"][0]["optin"]
    sample_optin = sample("wh_optin_notification_messages")["entry"][0]["messaging"][0]["optin"]
    assert set(optin) <= set(sample_optin) and optin["notification_messages_token"] == token
    assert (optin["title"], optin["payload"]) == ("Weekly deals", "OPTIN_WEEKLY_DEALS")
    sim.control.optin("deals", psid=PSID, via="link")  # an m.me/rn link names the topic
    linked = posted(receiver)["entry"][0]["messaging"][0]["optin"]
    sample_link = sample("wh_optin_mme_rn_topic")["entry"][0]["messaging"][0]["optin"]
    assert set(linked) <= set(sample_link) and linked["notification_messages_topic"] == "deals"
    mid = send(messaging_type="RESPONSE").json()["message_id"]
    sim.control.deliver(PSID)
    delivery = posted(receiver)
    assert shape(delivery) == shape(sample("wh_message_delivery"))
    assert delivery["entry"][0]["messaging"][0]["delivery"]["mids"] == [asked, mid]
    sim.control.read(PSID)
    assert shape(posted(receiver)) == shape(sample("wh_message_read"))
    sim.control.set_thread_owner(PSID, DEFAULT_APP_ID)
    sim.control.set_thread_owner(PSID, PAGE_INBOX_APP_ID, notify=True)
    taken = posted(receiver)
    assert shape(taken) == shape(sample("wh_handover_take_thread_control"))


def test_receiver_status_and_unreachable_webhook(sim: RunningSimulator, receiver: Receiver) -> None:
    receiver.status = 500
    assert sim.control.say("hi", psid=PSID)["status"] == 500
    sim.control.call("PATCH", "pages", {"webhook_url": "http://127.0.0.1:9/nowhere"})
    with pytest.raises(RuntimeError, match="502"):
        sim.control.say("hi", psid=PSID)


def test_bot_can_answer_while_the_webhook_is_open(
    sim: RunningSimulator, receiver: Receiver
) -> None:
    """The engine may reply synchronously: the window must already be open, nothing locked."""
    sim.control.advance(3 * 24 * 3600)  # the old window is long closed
    answers: list[int] = []

    def reply(body: dict[str, Any]) -> None:
        sender = body["entry"][0]["messaging"][0]["sender"]["id"]
        answer = requests.post(f"{sim.url}/me/messages", params={"access_token": TOKEN}, timeout=5,
                               json={"recipient": {"id": sender}, "messaging_type": "RESPONSE",
                                     "message": {"text": "We ship to Lyon."}})  # fmt: skip
        answers.append(answer.status_code)

    receiver.on_post = reply
    sim.control.say("Do you ship to Lyon?", psid=PSID)
    assert answers == [200]
