"""Redeliveries are recognised; inbox events become the core's events, or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pageflows.engine.events import CommentIn, MessageIn, OptinIn, PostbackIn, ReferralIn
from pageflows.engine.inbound import InboxEvent, to_core
from pageflows.webhook.parse import Parsed, parse_body

SAMPLES = Path(__file__).parent / "samples"
NAMES = sorted(p.stem for p in SAMPLES.glob("wh_*.json"))


def events_of(raw: bytes) -> list[InboxEvent]:
    result = parse_body(raw)
    assert isinstance(result, Parsed), result
    return result.events


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.json").read_bytes()


def body(name: str) -> Any:
    return json.loads(sample(name))


def keys(b: Any) -> list[str]:
    return [e.dedup_key for e in events_of(json.dumps(b).encode())]


def one(name: str) -> InboxEvent:
    (event,) = events_of(sample(name))
    return event


@pytest.mark.parametrize("name", NAMES)
def test_a_redelivered_body_has_the_same_keys(name: str) -> None:
    first = [e.dedup_key for e in events_of(sample(name))]
    # Facebook's retry is the same body; re-serialised differently, it still matches.
    again = json.dumps(json.loads(sample(name)), indent=2, ensure_ascii=False).encode()
    assert first == [e.dedup_key for e in events_of(again)]


def test_every_sample_event_has_its_own_key() -> None:
    all_keys = [e.dedup_key for name in NAMES for e in events_of(sample(name))]
    # The three opt-in samples and three referral samples share sender and timestamp
    # (they are alternatives, never sent together); every other key is distinct.
    assert len(set(all_keys)) == len(all_keys) - 4


def test_message_keys_follow_the_mid() -> None:
    b = body("wh_text_message")
    first = keys(b)
    b["entry"][0]["messaging"][0]["message"]["mid"] = "m_other"
    assert keys(b) != first
    b["entry"][0]["messaging"][0]["timestamp"] += 1  # a retry never changes the mid
    assert keys(b) == ["mid:m_other"]


def test_postbacks_without_mid_use_sender_time_and_payload() -> None:
    b = body("wh_postback_get_started_with_referral")
    del b["entry"][0]["messaging"][0]["postback"]["mid"]
    (first,) = keys(b)
    b["entry"][0]["messaging"][0]["postback"]["payload"] = "OTHER"
    (other,) = keys(b)
    assert first != other and first.startswith("postback:6543210987654321:")


def test_comment_keys_tell_edits_apart() -> None:
    b = body("wh_feed_comment_add")
    value = b["entry"][0]["changes"][0]["value"]
    (added,) = keys(b)
    value["verb"] = "edited"
    (edit1,) = keys(b)
    value["message"] = "How much is this? (in EUR)"
    (edit2,) = keys(b)
    assert len({added, edit1, edit2}) == 3
    assert keys(b) == [edit2]


def test_reads_and_deliveries_follow_the_watermark() -> None:
    b = body("wh_message_read")
    (first,) = keys(b)
    b["entry"][0]["messaging"][0]["read"]["watermark"] += 1
    assert keys(b) != [first]
    d = body("wh_message_delivery")
    (delivery,) = keys(d)
    assert delivery.startswith("delivery:") and first.startswith("read:")


def test_timed_kinds_follow_the_timestamp() -> None:
    for name in ("wh_referral_ads", "wh_message_reaction", "wh_handover_pass_thread_control"):
        b = body(name)
        (first,) = keys(b)
        b["entry"][0]["messaging"][0]["timestamp"] += 1
        assert keys(b) != [first], name


def test_unknown_keys_hash_the_raw_item() -> None:
    b = body("wh_text_message")
    item = b["entry"][0]["messaging"][0]
    item["account_linking"] = item.pop("message") | {"status": "linked"}
    (first,) = keys(b)
    item["account_linking"]["status"] = "unlinked"
    assert keys(b) != [first] and first.startswith("unknown:")


def test_message_to_core() -> None:
    core = to_core(one("wh_message_with_ads_referral"))
    assert isinstance(core, MessageIn)
    assert core.contact_id == "6543210987654321" and core.text == "Is this still available?"
    assert core.referral is not None
    assert (core.referral.ref, core.referral.source_word, core.referral.ad_id) == (
        "adref_spring",
        "ads",
        "120212345678901234",
    )
    qr = to_core(one("wh_quick_reply"))
    assert isinstance(qr, MessageIn) and qr.quick_reply == "COLOR_GREEN"
    img = to_core(one("wh_attachments_image"))
    assert isinstance(img, MessageIn)
    assert [a.type for a in img.attachments] == ["image", "file"]
    assert img.attachments[0].url is not None


def test_postback_and_referral_to_core() -> None:
    pb = to_core(one("wh_postback_get_started_with_referral"))
    assert isinstance(pb, PostbackIn)
    assert (pb.payload, pb.title) == ("GET_STARTED", "Get Started")
    assert pb.referral is not None and pb.referral.source_word == "link"
    ref = to_core(one("wh_referral_mme_shortlink"))
    assert isinstance(ref, ReferralIn) and ref.referral.ref == "summer_coupon"


def test_comments_to_core() -> None:
    c = to_core(one("wh_feed_comment_add"))
    assert isinstance(c, CommentIn)
    assert (c.contact_id, c.comment_id, c.post_id, c.text) == (
        "7766554433221100",
        "778899001122334_1234567890123456",
        "104123456789012_778899001122334",
        "How much is this?",
    )
    assert (c.from_name, c.from_page) == ("Jane Doe", False)
    *_, removed = events_of(sample("wh_batched_multi_entry"))
    assert to_core(removed) is None
    b = body("wh_feed_comment_add")
    b["entry"][0]["changes"][0]["value"]["from"]["id"] = "104123456789012"
    (own,) = events_of(json.dumps(b).encode())
    own_core = to_core(own)
    assert isinstance(own_core, CommentIn) and own_core.from_page


def test_optins_to_core() -> None:
    grant = to_core(one("wh_optin_notification_messages"))
    assert isinstance(grant, OptinIn)
    assert (grant.topic, grant.token, grant.status) == (
        "OPTIN_WEEKLY_DEALS",
        "4410928371204915003",
        "granted",
    )
    stop = to_core(one("wh_optin_notification_stop"))
    assert isinstance(stop, OptinIn) and stop.status == "stopped"
    rn = to_core(one("wh_optin_mme_rn_topic"))
    assert isinstance(rn, OptinIn) and rn.topic == "weekly deals"
    b = body("wh_optin_notification_messages")
    optin = b["entry"][0]["messaging"][0]["optin"]
    optin["payload"] = "pf-topic:deals"
    optin["notification_messages_status"] = "RESUME NOTIFICATIONS"
    (ours,) = events_of(json.dumps(b).encode())
    core = to_core(ours)
    assert isinstance(core, OptinIn) and (core.topic, core.status) == ("deals", "resumed")


@pytest.mark.parametrize(
    "name",
    [
        "wh_echo_from_our_app",
        "wh_echo_from_page_inbox_human",
        "wh_standby_message",
        "wh_message_delivery",
        "wh_message_read",
        "wh_message_reaction",
        "wh_handover_pass_thread_control",
        "wh_handover_take_thread_control",
        "wh_handover_request_thread_control",
    ],
)
def test_bookkeeping_never_reaches_the_core(name: str) -> None:
    assert to_core(one(name)) is None


def test_payloadless_postbacks_and_plugin_optins_do_not_reach_the_core() -> None:
    b = body("wh_postback_get_started_with_referral")
    del b["entry"][0]["messaging"][0]["postback"]["payload"]
    (pb,) = events_of(json.dumps(b).encode())
    assert to_core(pb) is None
    b = body("wh_optin_notification_messages")
    b["entry"][0]["messaging"][0]["optin"] = {"ref": "plugin"}
    (plugin,) = events_of(json.dumps(b).encode())
    assert plugin.kind == "optin" and to_core(plugin) is None
