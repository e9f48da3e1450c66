"""What the database cannot hold is cleaned or refused at the edge, alike on SQLite and PostgreSQL.

Through the Flask app on a real database: NUL and lone surrogates are cleaned,
ids longer than their column and times outside 1970-3000 are a 400 with a
reason, long dedup keys are hashed, seconds are read as seconds, and
Facebook's documented events without a sender or a time are stored with the
message batched beside them. A dead database is a 503, never a 500.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from inbox_helpers import RECEIVED, Inbox, encode, sign
from sqlalchemy.exc import OperationalError

from pageflows.clock import FakeClock
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.inbox import Unstorable, store_batch
from pageflows.service.storage.migrate import upgrade
from pageflows.webhook.app import create_app

SAMPLES = Path(__file__).parent / "samples"
PAGE = "104123456789012"
PSID = "6543210987654321"
T0_MS = 1767225600000  # 2026-01-01 00:00 UTC
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def envelope(*items: dict[str, Any], time: int | None = T0_MS, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": PAGE, **extra}
    if items:
        entry["messaging"] = list(items)
    if time is not None:
        entry["time"] = time
    return {"object": "page", "entry": [entry]}


def message(text: str = "hi", mid: str = "m_1", timestamp: int = T0_MS) -> dict[str, Any]:
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE},
        "timestamp": timestamp,
        "message": {"mid": mid, "text": text},
    }


def refused(inbox: Inbox, body: Any, *words: str) -> str:
    answer = inbox.post(body)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    reason = answer.get_json()["error"]
    for word in words:
        assert word in reason
    assert inbox.rows() == []
    return str(reason)


# ------------------------------------------------------------ documented items without sender/time

CHECKBOX_OPTIN = {
    "recipient": {"id": PAGE},
    "timestamp": T0_MS,
    "optin": {"ref": "cart_page", "user_ref": "shop-user-8842"},
}
POLICY_BLOCK = {
    "recipient": {"id": PAGE},
    "timestamp": T0_MS,
    "policy_enforcement": {"action": "block", "reason": "spam"},
}
# Facebook's own example spells the key with a hyphen.
POLICY_HYPHEN = {
    "recipient": {"id": PAGE},
    "timestamp": T0_MS + 1,
    "policy-enforcement": {"action": "unblock"},
}
APP_ROLES = {
    "recipient": {"id": PAGE},
    "timestamp": T0_MS,
    "app_roles": {"987654321098765": ["primary_receiver"]},
}
FEED_POST = {"field": "feed", "value": {"item": "post", "verb": "add", "post_id": f"{PAGE}_1"}}


def test_senderless_items_and_the_message_beside_them_are_all_stored(inbox: Inbox) -> None:
    body = envelope(CHECKBOX_OPTIN, POLICY_BLOCK, POLICY_HYPHEN, APP_ROLES, message())
    answer = inbox.post(body)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"received": 5, "new": 5}
    rows = inbox.rows()
    assert [(r.kind, r.contact_id) for r in rows] == [("unknown", None)] * 4 + [("message", PSID)]
    # Facebook's example spelling is kept under the documented key, which the worker reads.
    assert rows[2].payload["raw"]["policy_enforcement"] == {"action": "unblock"}
    assert "policy-enforcement" not in rows[2].payload["raw"]
    assert all(r.occurred_at is not None for r in rows)
    assert inbox.post(body).get_json() == {"received": 5, "new": 0}  # a redelivery


def test_items_without_any_time_are_stored_with_no_time(inbox: Inbox) -> None:
    timeless_policy = {k: v for k, v in POLICY_BLOCK.items() if k != "timestamp"}
    body = envelope(timeless_policy, time=None, changes=[FEED_POST])
    assert inbox.post(body).status_code == 200
    rows = inbox.rows()
    assert [(r.kind, r.occurred_at) for r in rows] == [("unknown", None), ("unknown", None)]


def test_a_comment_without_any_time_is_stamped_when_it_was_received(inbox: Inbox) -> None:
    body = sample("wh_feed_comment_add")
    del body["entry"][0]["time"]
    del body["entry"][0]["changes"][0]["value"]["created_time"]
    assert inbox.post(body).status_code == 200
    (row,) = inbox.rows()
    assert (row.kind, row.occurred_at) == ("comment", RECEIVED)


# ------------------------------------------------------------ text the database cannot hold


def test_nul_and_lone_surrogates_become_the_replacement_character(
    inbox: Inbox,
) -> None:
    # JSON escapes written out: this is what arrives on the wire.
    raw = (
        b'{"object":"page","entry":[{"id":"104123456789012","time":1767225600000,"messaging":'
        b'[{"sender":{"id":"6543210987654321"},"recipient":{"id":"104123456789012"},'
        b'"timestamp":1767225600000,"message":{"mid":"m_\\u0000nul","text":'
        b'"pri\\u0000ce \\ud83d \\ud83d\\ude00 \\udc00!","attachments":[{"type":"file",'
        b'"payload":{"url":"https://x.example/a","k\\u0000ey\\udfff":["\\u0000"]}}]}}]}]}'
    )
    answer = inbox.post(raw)
    assert answer.status_code == 200, answer.get_json()
    (row,) = inbox.rows()
    assert row.payload["text"] == "pri\ufffdce \ufffd \U0001f600 \ufffd!"
    assert row.payload["mid"] == "m_\ufffdnul" and row.dedup_key == "mid:m_\ufffdnul"
    assert row.payload["attachments"][0]["payload"]["k\ufffdey\ufffd"] == ["\ufffd"]


def test_nul_and_surrogates_in_ids_are_refused_never_merged_with_another_id(
    inbox: Inbox,
) -> None:
    raw = json.dumps(envelope(message())).replace(PSID, "6543\\ud800").encode()
    refused(inbox, raw, "entry[0].messaging[0].sender.id", "not an id")
    raw = json.dumps(envelope(message())).replace(PSID, "6543\\u0000210987654321").encode()
    refused(inbox, raw, "entry[0].messaging[0].sender.id", "not an id")
    assert inbox.rows() == []


# ------------------------------------------------------------ lengths and numbers


def test_ids_longer_than_their_column_are_refused_with_the_place(inbox: Inbox) -> None:
    body = envelope(message())
    body["entry"][0]["id"] = "1" * 65
    refused(inbox, body, "entry[0].id", "65 characters", "at most 64")
    item = message()
    item["sender"]["id"] = 10**70  # a number larger than any bigint, and 71 digits
    refused(inbox, envelope(item), "entry[0].messaging[0].sender.id", "at most 64")
    comment = sample("wh_feed_comment_add")
    comment["entry"][0]["changes"][0]["value"]["comment_id"] = "7" * 129
    refused(inbox, comment, "value.comment_id", "at most 128")


def test_ids_sent_as_numbers_beyond_bigint_are_kept_as_text(inbox: Inbox) -> None:
    item = message()
    item["sender"]["id"] = 2**80
    item["message"]["attachments"] = [{"type": "image", "payload": {"sticker_id": 10**30}}]
    assert inbox.post(envelope(item)).status_code == 200
    (row,) = inbox.rows()
    assert row.contact_id == str(2**80)
    assert row.payload["attachments"][0]["payload"]["sticker_id"] == 10**30


def test_long_dedup_keys_are_hashed_and_still_recognise_a_redelivery(inbox: Inbox) -> None:
    long_a, long_b = "m_" + "a" * 600, "m_" + "a" * 599 + "b"
    body = envelope(message(mid=long_a), message(mid=long_b))
    assert inbox.post(body).get_json() == {"received": 2, "new": 2}
    assert inbox.post(body).get_json() == {"received": 2, "new": 0}
    keys = [r.dedup_key for r in inbox.rows()]
    assert all(len(k) <= 512 for k in keys) and keys[0] != keys[1]
    assert keys[0].startswith("mid:m_aaa") and "sha256:" in keys[0]
    assert inbox.rows()[0].payload["mid"] == long_a  # the payload keeps it whole


def test_a_long_kind_of_feed_field_and_long_texts_are_stored(inbox: Inbox) -> None:
    change = {"field": "x" * 300, "value": {"item": "status", "message": "y" * 100_000}}
    assert inbox.post(envelope(changes=[change])).status_code == 200
    (row,) = inbox.rows()
    assert row.kind == "unknown" and row.payload["field"] == "changes:" + "x" * 300


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"object":"page","entry":[{"id":"1","time":NaN}]}', "NaN"),
        (b'{"object":"page","entry":[{"id":"1","time":-Infinity}]}', "-Infinity"),
        (b'{"object":"page","entry":[{"id":"1","time":1e999}]}', "1e999"),
        (b'{"object":"page","entry":' + b"[" * 40 + b"]" * 40 + b"}", "nested more than 32"),
    ],
)
def test_numbers_json_cannot_hold_and_deep_nesting_are_refused(
    inbox: Inbox, raw: bytes, words: str
) -> None:
    refused(inbox, raw, words)


# ------------------------------------------------------------ times


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (T0_MS, T0),
        (T0_MS // 1000, T0),  # seconds where milliseconds were documented
        (1603059201, datetime(2020, 10, 18, 22, 13, 21, tzinfo=UTC)),
        (10**11, datetime(1973, 3, 3, 9, 46, 40, tzinfo=UTC)),  # the first value read as ms
    ],
)
def test_seconds_and_milliseconds_give_the_same_time(
    inbox: Inbox, timestamp: int, expected: datetime
) -> None:
    assert inbox.post(envelope(message(timestamp=timestamp))).status_code == 200
    assert [r.occurred_at for r in inbox.rows()] == [expected]


def test_a_watermark_in_seconds_is_kept_in_milliseconds(inbox: Inbox) -> None:
    body = sample("wh_message_read")
    body["entry"][0]["messaging"][0]["read"]["watermark"] = 1767225605
    assert inbox.post(body).status_code == 200
    (row,) = inbox.rows()
    assert row.payload["watermark"] == 1767225605000


@pytest.mark.parametrize("timestamp", [10**30, 2**63, -1, 32503680000000])
def test_times_outside_1970_to_3000_are_refused(inbox: Inbox, timestamp: int) -> None:
    refused(inbox, envelope(message(timestamp=timestamp)), "timestamp is out of range")


def test_an_iso_comment_time_out_of_range_is_refused(inbox: Inbox) -> None:
    body = sample("wh_feed_comment_add")
    body["entry"][0]["changes"][0]["value"]["created_time"] = "0001-01-01T00:00:00+05:00"
    refused(inbox, body, "created_time is not a time from 1970 to 3000")


# ------------------------------------------------------------ the database's own refusals


def test_store_batch_returns_unstorable_for_a_value_it_cannot_encode(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    row = {
        "page_id": PAGE,
        "contact_id": "\ud800",
        "kind": "message",
        "dedup_key": "k",
        "occurred_at": T0,
        "payload": {},
    }
    outcome = store_batch(engine, [row], RECEIVED)
    assert isinstance(outcome, Unstorable) and "encode" in outcome.reason
    engine.dispose()


@pytest.mark.parametrize(
    "url",
    ["postgresql://u:secret@127.0.0.1:1/x", "sqlite:////nonexistent-dir/for/pageflows.db"],
)
def test_a_dead_database_is_a_503_that_facebook_retries(url: str) -> None:
    engine = make_engine(url)
    app = create_app(engine=engine, app_secret="s", verify_token="v", clock=FakeClock(RECEIVED))
    raw = encode(envelope(message()))
    answer = app.test_client().post(
        "/webhook", data=raw, headers={"X-Hub-Signature-256": sign(raw, "s")}
    )
    assert answer.status_code == 503
    assert "database unavailable" in answer.get_json()["error"]
    assert "secret" not in answer.get_data(as_text=True)
    with pytest.raises(OperationalError):
        store_batch(engine, [{"page_id": "1"}], RECEIVED)
