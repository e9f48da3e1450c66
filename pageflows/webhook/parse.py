"""A webhook POST body in, typed inbox events (or the reason it is unusable) out.

Facebook answers nothing we return except the status code, retries bodies we fail
on, and disables the subscription after an hour of failures; so a bad body is a
value (`Malformed`, with a reason a developer can act on), never an exception.
Shapes we do not model are kept as `unknown` events instead of failing the batch:
Facebook adds event kinds without notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from pageflows.engine.inbound import CommentEvent, InboxEvent, StandbyEvent, UnknownEvent
from pageflows.engine.inbound_messaging import from_ms
from pageflows.webhook.clean import load_json
from pageflows.webhook.fit import COMMENT_ID_MAX, PAGE_ID_MAX
from pageflows.webhook.parse_kinds import (
    KINDS,
    Bad,
    Messaging,
    Obj,
    column_id,
    id_of,
    is_int,
    list_of,
    obj,
    opt_column_id,
    opt_id,
    opt_obj,
    opt_str,
    req_str,
    time_of,
)
from pageflows.webhook.parse_templates import TEMPLATE_FIELDS, template_status
from pageflows.webhook.times import OutOfRange, epoch_ms, in_range

MAX_BODY_BYTES = 1_000_000


@dataclass(frozen=True)
class Parsed:
    events: list[InboxEvent]


@dataclass(frozen=True)
class Malformed:
    reason: str


ParseResult = Parsed | Malformed


def parse_body(
    raw: bytes, max_bytes: int = MAX_BODY_BYTES, received_at: datetime | None = None
) -> ParseResult:
    """Parse one POST body. Never raises: every failure is a `Malformed` with a reason.

    Text is cleaned first (`webhook.clean`), so every event holds only what the
    database can store. `received_at` stands in for the time of a comment that
    carries none (without it such a comment is kept as `unknown`).
    """
    if len(raw) > max_bytes:
        return Malformed(f"body is {len(raw)} bytes, more than the {max_bytes} allowed")
    try:
        return Parsed(_body(load_json(raw), received_at))
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


def _body(body: object, received_at: datetime | None) -> list[InboxEvent]:
    if not isinstance(body, dict):
        raise Bad("body is not a JSON object")
    if body.get("object") != "page":
        kind = str(body.get("object"))[:40]
        raise Bad(f'"object" is {kind!r}, not "page" (not a Messenger Page webhook)')
    events: list[InboxEvent] = []
    for i, item in enumerate(list_of(body, "entry", "body", required=True)):
        events.extend(_entry(obj(item, f"entry[{i}]"), f"entry[{i}]", received_at))
    return events


def _entry(entry: Obj, where: str, received_at: datetime | None) -> list[InboxEvent]:
    """An entry is one Page; it may hold messaging, standby and feed changes at once."""
    page_id = column_id(entry, "id", where, PAGE_ID_MAX)
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
            _change(
                obj(item, f"{where}.changes[{i}]"),
                page_id,
                time if time is not None else received_at,
                f"{where}.changes[{i}]",
            )
        )
    return events


def _messaging(item: Obj, page_id: str, where: str) -> Messaging:
    """Dispatch on the one payload key Facebook puts next to sender/recipient/timestamp."""
    sender = opt_obj(item, "sender", where)
    key = next((k for k in KINDS if k in item), None)
    if sender is None or sender.get("id") is None:
        if _senderless(key, sender):
            timed = item.get("timestamp") is not None
            stamp = time_of(item, "timestamp", where) if timed else None
            return _unknown(item, page_id, "messaging", where, stamp=stamp)
        raise Bad(f"{where} has no sender.id")
    sender_id = column_id(sender, "id", f"{where}.sender")
    recipient = opt_obj(item, "recipient", where)
    recipient_id = opt_column_id(recipient, "id", f"{where}.recipient") if recipient else None
    if "delivery" in item and "timestamp" not in item:
        # Facebook's own delivery example has no timestamp; the watermark stands in.
        delivery = obj(item["delivery"], f"{where}.delivery")
        stamp = time_of(delivery, "watermark", f"{where}.delivery")
    else:
        stamp = time_of(item, "timestamp", where)
    if key is None:
        return _unknown(item, page_id, "messaging", where, sender_id, stamp)
    if recipient_id is None:
        raise Bad(f"{where} has no recipient.id")
    common = {"page_id": page_id, "sender_id": sender_id, "recipient_id": recipient_id}
    return KINDS[key](
        obj(item[key], f"{where}.{key}"), common | {"timestamp": stamp}, f"{where}.{key}", key
    )


def _senderless(key: str | None, sender: Obj | None) -> bool:
    """Items Facebook documents without `sender.id`, kept as `unknown` (no one to answer).

    `policy_enforcement` (spelled `policy-enforcement` in Facebook's own example),
    `app_roles` and any other key we do not model; checkbox-plugin opt-ins, which
    name the person by `optin.user_ref`; and messages of the retired chat plugin's
    guests, whose sender is a `user_ref`. A message or a tap without a sender is
    not a shape Facebook sends: it stays an error.
    """
    return key is None or key == "optin" or (sender is not None and "user_ref" in sender)


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
        raw=_documented_keys(item),
    )


def _documented_keys(item: Obj) -> Obj:
    """`policy-enforcement`, as Facebook's own example spells it, kept as `policy_enforcement`.

    The field is `messaging_policy_enforcement` and the reference names the key
    with an underscore; the worker reads that one (a block pauses the page), so
    a block in either spelling pauses it, and both spellings dedupe as one.
    """
    if "policy-enforcement" not in item or "policy_enforcement" in item:
        return item
    renamed = {k: v for k, v in item.items() if k != "policy-enforcement"}
    return renamed | {"policy_enforcement": item["policy-enforcement"]}


def _change(change: Obj, page_id: str, entry_time: object, where: str) -> InboxEvent:
    """Feed changes: only comments are modelled; posts, likes, labels... stay unknown.
    Template status changes are modelled; one that cannot be read is kept unknown too."""
    field = opt_str(change, "field", where) or ""
    if field in TEMPLATE_FIELDS:
        timed = is_int(entry_time) or isinstance(entry_time, datetime)
        stamp = _feed_time(None, entry_time, f"{where}.time") if timed else None
        event = template_status(change.get("value"), page_id, stamp)
        return event or _unknown(change, page_id, f"changes:{field}", where, stamp=stamp)
    value = opt_obj(change, "value", where)
    w = f"{where}.value"
    sender = opt_obj(value, "from", w) if value and value.get("item") == "comment" else None
    created = value.get("created_time") if value else None
    timeless = created is None and entry_time is None
    if field != "feed" or value is None or sender is None or "id" not in sender or timeless:
        # Posts, likes, labels... and comments whose `from` or time Facebook left out
        # (no one to answer, or no way to tell the reply window) are kept raw,
        # stamped with the entry's time when it has one.
        stamp = _feed_time(None, entry_time, f"{where}.time") if is_int(entry_time) else None
        return _unknown(change, page_id, f"changes:{field}", where, stamp=stamp)
    return CommentEvent(
        page_id=page_id,
        sender_id=column_id(sender, "id", f"{w}.from"),
        recipient_id=page_id,
        timestamp=_feed_time(created, entry_time, f"{w}.created_time"),
        verb=req_str(value, "verb", w),
        comment_id=column_id(value, "comment_id", w, COMMENT_ID_MAX),
        post_id=id_of(value, "post_id", w),
        parent_id=opt_id(value, "parent_id", w),
        message=opt_str(value, "message", w),
        from_name=opt_str(sender, "name", f"{w}.from"),
    )


def _feed_time(created: object, entry_time: object, where: str) -> datetime:
    """Feed `created_time` is epoch seconds (one Facebook fixture has an ISO string).

    Without it (removals may omit it) the entry's `time` stands in, and without
    that the time the webhook received the body (passed in as `entry_time`).
    """
    if isinstance(created, str):
        try:
            return in_range(datetime.fromisoformat(created))
        except ValueError:  # OutOfRange is a ValueError too
            raise Bad(f"{where} is not a time from 1970 to 3000") from None
    if created is not None and not is_int(created):
        raise Bad(f"{where} is not epoch seconds")
    for value in (created, entry_time):
        if isinstance(value, datetime):
            return value
        if is_int(value):
            try:
                return from_ms(epoch_ms(value))
            except OutOfRange:
                raise Bad(f"{where} is out of range (not a time from 1970 to 3000)") from None
    raise Bad(f"{where} is missing and the entry has no time")
