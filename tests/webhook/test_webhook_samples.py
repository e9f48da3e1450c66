"""Every real-shaped webhook body parses to the kind and fields Facebook documents.

The samples are copies of /work/shared/messenger/samples/wh_*.json (the one-line
shapes Facebook POSTs); the tests read only these copies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from pageflows.engine.inbound import (
    CommentEvent,
    DeliveryEvent,
    EchoEvent,
    HandoverEvent,
    InboxEvent,
    MessageEvent,
    OptinEvent,
    PostbackEvent,
    ReactionEvent,
    ReadEvent,
    ReferralEvent,
    StandbyEvent,
)
from pageflows.webhook.parse import Parsed, parse_body

SAMPLES = Path(__file__).parent / "samples"
PAGE = "104123456789012"
PSID = "6543210987654321"
T0 = datetime(2026, 1, 1, tzinfo=UTC)  # 1767225600000 ms


def events(name: str) -> list[InboxEvent]:
    result = parse_body((SAMPLES / f"{name}.json").read_bytes())
    assert isinstance(result, Parsed), result
    return result.events


def one(name: str) -> Any:
    (event,) = events(name)
    return event


KINDS = {
    "wh_attachment_location_LEGACY": "message",
    "wh_attachments_fallback_link": "message",
    "wh_attachments_image": "message",
    "wh_echo_from_our_app": "echo",
    "wh_echo_from_page_inbox_human": "echo",
    "wh_feed_comment_add": "comment",
    "wh_handover_pass_thread_control": "handover",
    "wh_handover_request_thread_control": "handover",
    "wh_handover_take_thread_control": "handover",
    "wh_message_delivery": "delivery",
    "wh_message_reaction": "reaction",
    "wh_message_read": "read",
    "wh_message_with_ads_referral": "message",
    "wh_optin_mme_rn_topic": "optin",
    "wh_optin_notification_messages": "optin",
    "wh_optin_notification_stop": "optin",
    "wh_postback_get_started_with_referral": "postback",
    "wh_quick_reply": "message",
    "wh_referral_ads": "referral",
    "wh_referral_chat_plugin_LEGACY": "referral",
    "wh_referral_mme_shortlink": "referral",
    "wh_reply_to": "message",
    "wh_standby_message": "standby",
    "wh_text_message": "message",
}


def test_every_sample_is_listed() -> None:
    names = {p.stem for p in SAMPLES.glob("wh_*.json")}
    assert names == set(KINDS) | {"wh_batched_multi_entry"}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_sample_kind_and_envelope(name: str) -> None:
    event = one(name)
    assert event.kind == KINDS[name]
    assert event.page_id == PAGE
    assert event.timestamp is not None and event.timestamp.utcoffset() is not None
    # Stored as JSON and read back, it is the same event (the union discriminates on kind).
    adapter: TypeAdapter[InboxEvent] = TypeAdapter(InboxEvent)
    assert adapter.validate_json(adapter.dump_json(event)) == event


def test_text_message() -> None:
    m = one("wh_text_message")
    assert isinstance(m, MessageEvent)
    assert (m.sender_id, m.recipient_id, m.contact_id) == (PSID, PAGE, PSID)
    assert m.timestamp == T0
    assert m.text == "Hi, do you ship to Lyon?"
    assert m.mid == "m_AbC1x9Qw2Ere3rTy4uIo5pLk6jHg7fDs8aSd9zXc0vBn"
    assert m.is_echo is False and m.attachments == () and m.quick_reply is None


def test_quick_reply_and_reply_to() -> None:
    assert one("wh_quick_reply").quick_reply == "COLOR_GREEN"
    m = one("wh_reply_to")
    assert m.reply_to == "m_PageMsg_previous_bot_question"
    assert m.text == "Yes, that one"


def test_attachments_lift_url_and_title() -> None:
    image, file = one("wh_attachments_image").attachments
    assert (image.type, file.type) == ("image", "file")
    assert image.url is not None and image.url.startswith("https://scontent.xx.fbcdn.net/")
    assert file.url is not None and file.url.endswith("oe=6A0B0C0D")
    m = one("wh_attachments_fallback_link")
    (link,) = m.attachments
    assert (link.type, link.title) == ("fallback", "TAHITI - Heaven on Earth")
    assert m.text is not None
    (loc,) = one("wh_attachment_location_LEGACY").attachments
    assert (loc.type, loc.title) == ("location", "Pinned Location")
    assert loc.url is not None and loc.url.startswith("https://l.facebook.com/")
    assert loc.payload == {"coordinates": {"lat": 45.764, "long": 4.8357}}


def test_message_with_ads_referral() -> None:
    ref = one("wh_message_with_ads_referral").referral
    assert (ref.ref, ref.source, ref.type, ref.ad_id) == (
        "adref_spring",
        "ADS",
        "OPEN_THREAD",
        "120212345678901234",
    )
    assert ref.ads_context_data["ad_title"] == "Spring sale"


def test_echoes_are_reversed_and_keep_app_id() -> None:
    ours = one("wh_echo_from_our_app")
    assert isinstance(ours, EchoEvent)
    assert (ours.sender_id, ours.recipient_id, ours.contact_id) == (PAGE, PSID, PSID)
    assert ours.app_id == "987654321098765"  # a number in the JSON
    assert ours.metadata == "flow=welcome;step=1"
    assert ours.is_echo is True and not ours.from_page_inbox
    human = one("wh_echo_from_page_inbox_human")
    assert human.from_page_inbox and human.text == "Hi, this is Marie from support."


def test_postback_with_referral() -> None:
    p = one("wh_postback_get_started_with_referral")
    assert isinstance(p, PostbackEvent)
    assert (p.mid, p.title, p.payload) == ("m_Pb8_getstarted", "Get Started", "GET_STARTED")
    assert p.referral is not None
    assert (p.referral.ref, p.referral.source) == ("summer_coupon", "SHORTLINK")


def test_referrals() -> None:
    ads = one("wh_referral_ads")
    assert isinstance(ads, ReferralEvent)
    assert (ads.ref, ads.source, ads.type, ads.ad_id) == (
        "adref_spring",
        "ADS",
        "OPEN_THREAD",
        "120212345678901234",
    )
    plugin = one("wh_referral_chat_plugin_LEGACY")
    assert plugin.referer_uri == "https://shop.example.com/pricing"
    assert plugin.source == "CUSTOMER_CHAT_PLUGIN"
    link = one("wh_referral_mme_shortlink")
    assert (link.ref, link.source, link.ad_id) == ("summer_coupon", "SHORTLINK", None)


def test_optins() -> None:
    grant = one("wh_optin_notification_messages")
    assert isinstance(grant, OptinEvent)
    assert grant.type == "notification_messages"
    assert grant.payload == "OPTIN_WEEKLY_DEALS"
    assert grant.notification_messages_token == "4410928371204915003"
    assert grant.notification_messages_status is None
    assert grant.token_expiry == datetime(2026, 7, 1, tzinfo=UTC)
    assert grant.title == "Weekly deals" and grant.topic is None
    assert one("wh_optin_notification_stop").notification_messages_status == "STOP"
    rn = one("wh_optin_mme_rn_topic")
    assert (rn.topic, rn.ref, rn.source, rn.payload) == (
        "weekly deals",
        "qr_store_42",
        "SHORTLINK",
        "",
    )


def test_delivery_read_reaction() -> None:
    d = one("wh_message_delivery")
    assert isinstance(d, DeliveryEvent)
    assert (d.mids, d.watermark) == (("m_Echo6_example",), 1767225605000)
    assert d.timestamp == datetime(2026, 1, 1, 0, 0, 6, tzinfo=UTC)
    r = one("wh_message_read")
    assert isinstance(r, ReadEvent) and r.watermark == 1767225605000
    x = one("wh_message_reaction")
    assert isinstance(x, ReactionEvent)
    assert (x.mid, x.action, x.reaction, x.emoji) == ("m_Echo6_example", "react", "love", "❤️")


def test_handovers() -> None:
    passed = one("wh_handover_pass_thread_control")
    assert isinstance(passed, HandoverEvent)
    assert passed.action == "pass_thread_control"
    assert (passed.previous_owner_app_id, passed.new_owner_app_id) == (
        "987654321098765",
        "263902037430900",
    )
    assert passed.metadata == "user asked for a human"
    took = one("wh_handover_take_thread_control")
    assert took.action == "take_thread_control" and took.metadata == ""
    asked = one("wh_handover_request_thread_control")
    assert asked.action == "request_thread_control"
    assert asked.requested_owner_app_id == "112233445566778"


def test_standby_keeps_the_inner_kind() -> None:
    s = one("wh_standby_message")
    assert isinstance(s, StandbyEvent)
    assert isinstance(s.event, MessageEvent) and s.event.text == "still there?"
    assert (s.page_id, s.sender_id, s.contact_id, s.timestamp) == (PAGE, PSID, PSID, T0)


def test_feed_comment() -> None:
    c = one("wh_feed_comment_add")
    assert isinstance(c, CommentEvent)
    assert (c.verb, c.comment_id, c.post_id, c.parent_id) == (
        "add",
        "778899001122334_1234567890123456",
        "104123456789012_778899001122334",
        "104123456789012_778899001122334",
    )
    assert (c.sender_id, c.contact_id, c.from_name) == ("7766554433221100",) * 2 + ("Jane Doe",)
    assert c.message == "How much is this?" and not c.from_page
    assert c.timestamp == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)  # created_time is seconds


def test_batched_entries_keep_order_and_pages() -> None:
    b1, b2, removed = events("wh_batched_multi_entry")
    assert isinstance(b1, MessageEvent) and isinstance(b2, MessageEvent)
    assert (b1.text, b1.page_id) == ("one", PAGE)
    assert (b2.text, b2.page_id, b2.recipient_id) == ("two", "204123456789013", "204123456789013")
    assert isinstance(removed, CommentEvent)
    assert removed.verb == "remove" and removed.message is None


def test_several_messaging_items_and_standby_in_one_entry() -> None:
    body = json.loads((SAMPLES / "wh_text_message.json").read_text())
    item = body["entry"][0]["messaging"][0]
    second = {**item, "message": {"mid": "m_2", "text": "again"}}
    body["entry"][0]["messaging"].append(second)
    body["entry"][0]["standby"] = [{**item, "read": {"watermark": 1}}]
    del body["entry"][0]["standby"][0]["message"]
    result = parse_body(json.dumps(body).encode())
    assert isinstance(result, Parsed)
    assert [e.kind for e in result.events] == ["message", "message", "standby"]
    standby = result.events[2]
    assert isinstance(standby, StandbyEvent) and standby.event.kind == "read"
