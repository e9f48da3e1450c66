"""Bodies Facebook would not send come back as `Malformed` with a reason; new kinds as `unknown`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pageflows.engine.inbound import CommentEvent, UnknownEvent
from pageflows.webhook.parse import Malformed, Parsed, parse_body

SAMPLES = Path(__file__).parent / "samples"


def body(name: str = "wh_text_message") -> Any:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def item(b: Any) -> Any:
    return b["entry"][0]["messaging"][0]


def parse(b: Any) -> Parsed | Malformed:
    return parse_body(json.dumps(b).encode())


def reason(b: Any) -> str:
    result = parse(b)
    assert isinstance(result, Malformed), result
    return result.reason


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"object":"instagram","entry":[]}', 'not "page"'),
        (b'{"object":"page"}', "entry is missing"),
        (b'{"object":"page","entry":{}}', "entry is not a list"),
        (b'{"object":"page","entry":[1]}', "entry[0] is not an object"),
        (b'{"object":"page","entry":[{"time":1}]}', "entry[0].id is missing"),
        (b'{"object":"page","entry":[{"id":"1","messaging":{}}]}', "messaging is not a list"),
        (b"[" * 100_000, "JSON"),
    ],
)
def test_envelope_problems(raw: bytes, words: str) -> None:
    result = parse_body(raw)
    assert isinstance(result, Malformed)
    assert words in result.reason


def test_too_large() -> None:
    result = parse_body(b" " * 11, max_bytes=10)
    assert isinstance(result, Malformed) and "11 bytes" in result.reason


def test_an_empty_entry_list_is_fine() -> None:
    assert parse_body(b'{"object":"page","entry":[]}') == Parsed(events=[])


def test_item_problems_name_the_place() -> None:
    b = body()
    del item(b)["sender"]
    assert reason(b) == "entry[0].messaging[0] has no sender.id"
    b = body()
    del item(b)["timestamp"]
    assert reason(b) == "entry[0].messaging[0].timestamp is missing"
    b = body()
    item(b)["timestamp"] = "1767225600000"
    assert "timestamp is not an integer" in reason(b)
    b = body()
    item(b)["timestamp"] = True
    assert "timestamp is not an integer" in reason(b)
    b = body()
    item(b)["timestamp"] = 10**30
    assert "out of range" in reason(b)
    b = body()
    item(b)["message"]["text"] = 42
    assert reason(b) == "entry[0].messaging[0].message.text is not a string"
    b = body()
    item(b)["message"]["attachments"] = [{"payload": {}}]
    assert reason(b) == "entry[0].messaging[0].message.attachments[0].type is missing"
    b = body()
    del item(b)["recipient"]
    assert "recipient.id" in reason(b)
    b = body("wh_message_delivery")
    item(b)["delivery"]["mids"] = [1]
    assert "mids" in reason(b)


def test_one_bad_item_rejects_the_body() -> None:
    b = body("wh_batched_multi_entry")
    b["entry"][1]["messaging"][0]["sender"] = "6543210987654321"
    assert reason(b) == "entry[1].messaging[0].sender is not an object"


def test_unknown_kinds_are_kept_raw() -> None:
    b = body()
    edit = {"mid": "m_x", "text": "fixed typo", "num_edit": 1}
    del item(b)["message"]
    item(b)["message_edit"] = edit
    result = parse(b)
    assert isinstance(result, Parsed)
    (event,) = result.events
    assert isinstance(event, UnknownEvent)
    assert event.raw["message_edit"] == edit
    assert (event.field, event.sender_id, event.contact_id) == (
        "messaging",
        *(["6543210987654321"] * 2),
    )
    assert event.timestamp is not None


def test_documented_senderless_items_are_unknown_not_malformed() -> None:
    enforcement = {
        "recipient": {"id": "104123456789012"},
        "timestamp": 1,
        "policy_enforcement": {"action": "block", "reason": "spam"},
    }
    checkbox = {
        "recipient": {"id": "104123456789012"},
        "timestamp": 1,
        "optin": {"ref": "cart", "user_ref": "u-123"},
    }
    b = {
        "object": "page",
        "entry": [{"id": "104123456789012", "messaging": [enforcement, checkbox]}],
    }
    result = parse(b)
    assert isinstance(result, Parsed)
    assert [(e.kind, e.contact_id) for e in result.events] == [("unknown", None)] * 2


def test_delivery_without_timestamp_uses_the_watermark() -> None:
    b = body("wh_message_delivery")
    del item(b)["timestamp"]
    result = parse(b)
    assert isinstance(result, Parsed)
    assert result.events[0].timestamp is not None


def test_feed_non_comments_and_anonymous_comments_are_unknown() -> None:
    b = body("wh_feed_comment_add")
    change = b["entry"][0]["changes"][0]
    post = {"field": "feed", "value": {"item": "post", "verb": "add", "post_id": "1_2"}}
    labels = {"field": "inbox_labels", "value": {"action": "add"}}
    anonymous = json.loads(json.dumps(change))
    del anonymous["value"]["from"]
    b["entry"][0]["changes"] = [post, labels, anonymous, change]
    result = parse(b)
    assert isinstance(result, Parsed)
    kinds = [(e.kind, getattr(e, "field", None)) for e in result.events]
    assert kinds == [
        ("unknown", "changes:feed"),
        ("unknown", "changes:inbox_labels"),
        ("unknown", "changes:feed"),
        ("comment", None),
    ]
    assert all(e.timestamp is not None for e in result.events)


def test_feed_comment_times() -> None:
    b = body("wh_feed_comment_add")
    value = b["entry"][0]["changes"][0]["value"]
    value["created_time"] = "2026-01-01T01:00:01+0100"
    result = parse(b)
    assert isinstance(result, Parsed)
    (event,) = result.events
    assert isinstance(event, CommentEvent)
    assert event.timestamp.isoformat() == "2026-01-01T00:00:01+00:00"
    del value["created_time"]
    result = parse(b)
    assert isinstance(result, Parsed)
    stamp = result.events[0].timestamp
    assert stamp is not None and stamp.isoformat() == "2026-01-01T00:00:01+00:00"  # entry.time
    value["created_time"] = [1]
    assert "created_time" in reason(b)
    value["created_time"] = "yesterday"
    assert "created_time is not a time" in reason(b)


def test_comment_from_the_page_itself() -> None:
    b = body("wh_feed_comment_add")
    b["entry"][0]["changes"][0]["value"]["from"] = {"id": "104123456789012", "name": "Shop"}
    result = parse(b)
    assert isinstance(result, Parsed)
    (event,) = result.events
    assert isinstance(event, CommentEvent) and event.from_page
