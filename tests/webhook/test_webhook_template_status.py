"""`message_template_status_update` changes parse to typed events, or stay unknown, never a 400."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pageflows.engine.inbound import TemplateStatusEvent, UnknownEvent, to_core
from pageflows.webhook.fit import inbox_row
from pageflows.webhook.parse import Parsed, parse_body

PAGE = "104123456789012"
T0 = datetime(2026, 1, 1, tzinfo=UTC)  # 1767225600000 ms
VALUE = {
    "event": "APPROVED",
    "message_template_id": 1234567890,
    "message_template_name": "order_shipped",
    "message_template_language": "en_US",
    "reason": "NONE",
}


def body(value: Any, field: str = "message_template_status_update", **entry: Any) -> bytes:
    change = {"field": field, "value": value}
    return json.dumps(
        {
            "object": "page",
            "entry": [{"id": PAGE, "time": 1767225600000, **entry, "changes": [change]}],
        }
    ).encode()


def one(raw: bytes, received_at: datetime | None = None) -> Any:
    result = parse_body(raw, received_at=received_at)
    assert isinstance(result, Parsed), result
    (event,) = result.events
    return event


@pytest.mark.parametrize(
    "field", ["message_template_status_update", "messenger_template_status_update"]
)
def test_the_documented_shape_is_a_template_status_event(field: str) -> None:
    event = one(body(VALUE, field))
    assert event == TemplateStatusEvent(
        page_id=PAGE,
        timestamp=T0,
        event="APPROVED",
        name="order_shipped",
        language="en_US",
        template_id="1234567890",
        reason="NONE",
    )
    assert to_core(event) is None  # never a trigger
    row = inbox_row(event)
    assert (row["kind"], row["contact_id"], row["occurred_at"]) == ("template_status", None, T0)
    assert row["dedup_key"] == f"template_status:{PAGE}:1234567890:APPROVED:1767225600000"


def test_an_event_in_any_case_a_string_id_and_no_entry_time() -> None:
    received = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    value = {**VALUE, "event": "paused", "message_template_id": "987"}
    raw = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE,
                    "changes": [{"field": "message_template_status_update", "value": value}],
                }
            ],
        }
    ).encode()
    event = one(raw, received_at=received)
    assert (event.event, event.template_id, event.timestamp) == ("PAUSED", "987", received)
    assert one(raw).timestamp is None  # parsed without a receipt time: none invented


def test_a_redelivery_has_the_same_key_a_new_status_another() -> None:
    first, again = one(body(VALUE)), one(body(VALUE))
    paused = one(body({**VALUE, "event": "PAUSED"}))
    later = one(body(VALUE, time=1767225660000))
    assert first.dedup_key == again.dedup_key
    assert len({first.dedup_key, paused.dedup_key, later.dedup_key}) == 3


@pytest.mark.parametrize(
    "value",
    [
        None,
        "APPROVED",
        [],
        {},
        {**VALUE, "event": ""},
        {**VALUE, "event": 5},
        {k: v for k, v in VALUE.items() if k != "message_template_name"},
        {k: v for k, v in VALUE.items() if k != "message_template_language"},
        {**VALUE, "message_template_name": "n" * 513},
        {**VALUE, "message_template_language": "l" * 33},
        {**VALUE, "event": "E" * 33},
        {**VALUE, "message_template_id": 10**70},
        {**VALUE, "message_template_id": "../me"},
        {**VALUE, "message_template_id": True},
    ],
)
def test_a_value_that_cannot_be_stored_is_kept_unknown(value: Any) -> None:
    event = one(body(value))
    assert isinstance(event, UnknownEvent)
    assert (event.field, event.timestamp) == ("changes:message_template_status_update", T0)


def test_an_id_may_be_missing() -> None:
    value = {k: v for k, v in VALUE.items() if k != "message_template_id"}
    event = one(body(value))
    assert isinstance(event, TemplateStatusEvent) and event.template_id is None
    assert (
        event.dedup_key.startswith(f"template_status:{PAGE}:") and ":APPROVED:" in event.dedup_key
    )
