"""A webhook POST body in, typed inbox events (or the reason it is unusable) out.

Facebook answers nothing we return except the status code, retries bodies we fail
on, and disables the subscription after an hour of failures; so a bad body is a
value (`Malformed`, with a reason a developer can act on), never an exception.
Shapes we do not model are kept as `unknown` events instead of failing the batch:
Facebook adds event kinds without notice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from pageflows.engine.inbound import CommentEvent, InboxEvent, StandbyEvent, UnknownEvent
from pageflows.webhook.parse_kinds import (
    KINDS,
    Bad,
    Messaging,
    Obj,
    at,
    id_of,
    is_int,
    list_of,
    ms_of,
    obj,
    opt_id,
    opt_obj,
    opt_str,
    req_str,
)

MAX_BODY_BYTES = 1_000_000
# Facebook's documented sender-less items (policy enforcement; checkbox-plugin opt-ins,
# which identify the user by `user_ref`): kept as `unknown` rather than rejected.
SENDERLESS = ("policy_enforcement", "optin")


@dataclass(frozen=True)
class Parsed:
    events: list[InboxEvent]


@dataclass(frozen=True)
class Malformed:
    reason: str


ParseResult = Parsed | Malformed


def parse_body(raw: bytes, max_bytes: int = MAX_BODY_BYTES) -> ParseResult:
    """Parse one POST body. Never raises: every failure is a `Malformed` with a reason."""
    if len(raw) > max_bytes:
        return Malformed(f"body is {len(raw)} bytes, more than the {max_bytes} allowed")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return Malformed("body is not JSON (or not UTF-8)")
    try:
        return Parsed(_body(body))
    except Bad as bad:
        return Malformed(bad.reason)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return Malformed(f"unexpected value at {where}: {first['msg']}")
    except RecursionError:
        return Malformed("body is nested too deeply")
    except OverflowError:
        return Malformed("a time in the body is out of range")


def _body(body: object) -> list[InboxEvent]:
    if not isinstance(body, dict):
        raise Bad("body is not a JSON object")
    if body.get("object") != "page":
        raise Bad(f'"object" is {body.get("object")!r}, not "page" (not a Messenger Page webhook)')
    events: list[InboxEvent] = []
    for i, item in enumerate(list_of(body, "entry", "body", required=True)):
        events.extend(_entry(obj(item, f"entry[{i}]"), f"entry[{i}]"))
    return events


def _entry(entry: Obj, where: str) -> list[InboxEvent]:
    """An entry is one Page; it may hold messaging, standby and feed changes at once."""
    page_id = id_of(entry, "id", where)
    time = entry.get("time")
    events: list[InboxEvent] = []
    for i, item in enumerate(list_of(entry, "messaging", where)):
        events.append(
            _messaging(obj(item, f"{where}.messaging[{i}]"), page_id, f"{where}.messaging[{i}]")
        )
    for i, item in enumerate(list_of(entry, "standby", where)):
        inner = _messaging(obj(item, f"{where}.standby[{i}]"), page_id, f"{where}.standby[{i}]")
        events.append(StandbyEvent(event=inner))
    for i, item in enumerate(list_of(entry, "changes", where)):
        events.append(
            _change(obj(item, f"{where}.changes[{i}]"), page_id, time, f"{where}.changes[{i}]")
        )
    return events


def _messaging(item: Obj, page_id: str, where: str) -> Messaging:
    """Dispatch on the one payload key Facebook puts next to sender/recipient/timestamp."""
    sender = opt_obj(item, "sender", where)
    if sender is None or "id" not in sender:
        if any(key in item for key in SENDERLESS):
            return _unknown(item, page_id, "messaging", where)
        raise Bad(f"{where} has no sender.id")
    sender_id = id_of(sender, "id", f"{where}.sender")
    recipient = opt_obj(item, "recipient", where)
    recipient_id = opt_id(recipient, "id", f"{where}.recipient") if recipient else None
    if "delivery" in item and "timestamp" not in item:
        # Facebook's own delivery example has no timestamp; the watermark stands in.
        delivery = obj(item["delivery"], f"{where}.delivery")
        stamp = at(ms_of(delivery, "watermark", f"{where}.delivery"), f"{where}.delivery.watermark")
    else:
        stamp = at(ms_of(item, "timestamp", where), f"{where}.timestamp")
    key = next((k for k in KINDS if k in item), None)
    if key is None:
        return _unknown(item, page_id, "messaging", where, sender_id, stamp)
    if recipient_id is None:
        raise Bad(f"{where} has no recipient.id")
    common = {"page_id": page_id, "sender_id": sender_id, "recipient_id": recipient_id}
    return KINDS[key](
        obj(item[key], f"{where}.{key}"), common | {"timestamp": stamp}, f"{where}.{key}", key
    )


def _unknown(
    item: Obj,
    page_id: str,
    field: str,
    where: str,
    sender: str | None = None,
    stamp: datetime | None = None,
) -> UnknownEvent:
    recipient = opt_obj(item, "recipient", where) if field == "messaging" else None
    return UnknownEvent(
        page_id=page_id,
        field=field,
        sender_id=sender,
        recipient_id=opt_id(recipient, "id", f"{where}.recipient") if recipient else None,
        timestamp=stamp,
        raw=item,
    )


def _change(change: Obj, page_id: str, entry_time: object, where: str) -> InboxEvent:
    """Feed changes: only comments are modelled; posts, likes, labels... stay unknown."""
    field = opt_str(change, "field", where) or ""
    value = opt_obj(change, "value", where)
    w = f"{where}.value"
    sender = opt_obj(value, "from", w) if value and value.get("item") == "comment" else None
    if field != "feed" or value is None or sender is None or "id" not in sender:
        # Posts, likes, labels... and comments whose `from` Facebook left out (no one
        # to answer) are kept raw, stamped with the entry's time.
        stamp = _feed_time(None, entry_time, f"{where}.time") if is_int(entry_time) else None
        return _unknown(change, page_id, f"changes:{field}", where, stamp=stamp)
    return CommentEvent(
        page_id=page_id,
        sender_id=id_of(sender, "id", f"{w}.from"),
        recipient_id=page_id,
        timestamp=_feed_time(value.get("created_time"), entry_time, f"{w}.created_time"),
        verb=req_str(value, "verb", w),
        comment_id=id_of(value, "comment_id", w),
        post_id=id_of(value, "post_id", w),
        parent_id=opt_id(value, "parent_id", w),
        message=opt_str(value, "message", w),
        from_name=opt_str(sender, "name", f"{w}.from"),
    )


def _feed_time(created: object, entry_time: object, where: str) -> datetime:
    """Feed `created_time` is epoch seconds (one Facebook fixture has an ISO string).

    Without it (removals may omit it) the entry's `time` stands in.
    """
    if isinstance(created, str):
        try:
            moment = datetime.fromisoformat(created)
        except ValueError:
            raise Bad(f"{where} is not a time") from None
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    if created is not None and not is_int(created):
        raise Bad(f"{where} is not epoch seconds")
    for value in (created, entry_time):
        if is_int(value):
            # Feed entry times are seconds, messaging ones ms; 1e11 s is the year 5138.
            return at(value if value > 10**11 else value * 1000, where)
    raise Bad(f"{where} is missing and the entry has no time")
