"""One builder per `messaging[]` payload key, on typed field readers that fail with a path.

Used by `webhook.parse` (split out for size): a wrong type anywhere raises
`Bad("entry[0].messaging[0]...")`, which `parse_body` turns into a `Malformed` value.
IDs are strings in Facebook's JSON, but some (echo `app_id`, ids inside template
payloads) arrive as numbers: both are accepted and kept as strings, the form the
Send API wants.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeGuard

from pageflows.engine.inbound import (
    DeliveryEvent,
    EchoEvent,
    HandoverAction,
    HandoverEvent,
    MessageEvent,
    OptinEvent,
    PostbackEvent,
    ReactionEvent,
    ReadEvent,
    ReferralEvent,
    ReferralInfo,
    UnknownEvent,
    WebhookAttachment,
    from_ms,
)
from pageflows.webhook.fit import CONTACT_ID_MAX
from pageflows.webhook.times import OutOfRange, epoch_ms

Obj = dict[str, Any]
# Facebook's ids are digits (comment ids join two with "_"). An id that names a
# contact or a Page becomes a column and a Graph API path: anything else is refused.
ID_FORM = re.compile(r"[0-9A-Za-z_-]+")
HANDOVER_KEYS: tuple[HandoverAction, ...] = (
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
)
# What a `messaging[]` or `standby[]` item can become.
Messaging = (
    MessageEvent
    | EchoEvent
    | PostbackEvent
    | ReferralEvent
    | OptinEvent
    | DeliveryEvent
    | ReadEvent
    | ReactionEvent
    | HandoverEvent
    | UnknownEvent
)


class Bad(Exception):
    """A body Facebook would not send: stops the parse with a short reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_int(value: object) -> TypeGuard[int]:
    # JSON true/false load as bool, which Python counts as int.
    return isinstance(value, int) and not isinstance(value, bool)


def obj(value: object, where: str) -> Obj:
    if not isinstance(value, dict):
        raise Bad(f"{where} is not an object")
    return value


def opt_obj(parent: Obj, key: str, where: str) -> Obj | None:
    value = parent.get(key)
    return None if value is None else obj(value, f"{where}.{key}")


def list_of(parent: Obj, key: str, where: str, required: bool = False) -> list[Any]:
    value = parent.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise Bad(f"{where}.{key} is {'missing' if value is None else 'not a list'}")
    return value


def opt_str(parent: Obj, key: str, where: str) -> str | None:
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    raise Bad(f"{where}.{key} is not a string")


def req_str(parent: Obj, key: str, where: str) -> str:
    value = opt_str(parent, key, where)
    if value is None:
        raise Bad(f"{where}.{key} is missing")
    return value


def opt_bool(parent: Obj, key: str, where: str) -> bool:
    value = parent.get(key, False)
    if not isinstance(value, bool):
        raise Bad(f"{where}.{key} is not true/false")
    return value


def opt_id(parent: Obj, key: str, where: str) -> str | None:
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    if is_int(value):
        return str(value)
    raise Bad(f"{where}.{key} is not an id (string or number)")


def id_of(parent: Obj, key: str, where: str) -> str:
    value = opt_id(parent, key, where)
    if not value:
        raise Bad(f"{where}.{key} is missing")
    return value


def column_id(parent: Obj, key: str, where: str, longest: int = CONTACT_ID_MAX) -> str:
    """A Page, contact or comment id: present, at most `longest` characters, Facebook's form."""
    value = id_of(parent, key, where)
    if len(value) > longest:
        raise Bad(f"{where}.{key} is {len(value)} characters long; an id has at most {longest}")
    if not ID_FORM.fullmatch(value):
        raise Bad(f"{where}.{key} is not an id (digits, letters, '_' or '-')")
    return value


def opt_column_id(parent: Obj, key: str, where: str) -> str | None:
    return None if parent.get(key) is None else column_id(parent, key, where)


def ms_of(parent: Obj, key: str, where: str) -> int:
    """Epoch milliseconds, from milliseconds or seconds (see `webhook.times`)."""
    value = parent.get(key)
    if value is None:
        raise Bad(f"{where}.{key} is missing")
    if not is_int(value):
        raise Bad(f"{where}.{key} is not an integer (epoch milliseconds)")
    try:
        return epoch_ms(value)
    except OutOfRange:
        raise Bad(f"{where}.{key} is out of range (not a time from 1970 to 3000)") from None


def time_of(parent: Obj, key: str, where: str) -> datetime:
    return from_ms(ms_of(parent, key, where))


def _message(m: Obj, common: dict[str, Any], where: str, _key: str) -> MessageEvent | EchoEvent:
    is_echo, is_deleted = opt_bool(m, "is_echo", where), opt_bool(m, "is_deleted", where)
    attachments = tuple(
        _attachment(obj(a, f"{where}.attachments[{i}]"), f"{where}.attachments[{i}]")
        for i, a in enumerate(list_of(m, "attachments", where))
    )
    mid, text = opt_str(m, "mid", where), opt_str(m, "text", where)
    if is_echo:
        return EchoEvent(
            **common,
            mid=mid,
            text=text,
            app_id=opt_id(m, "app_id", where),
            metadata=opt_str(m, "metadata", where),
            attachments=attachments,
        )
    quick_reply = opt_obj(m, "quick_reply", where)
    reply_to = opt_obj(m, "reply_to", where)
    return MessageEvent(
        **common,
        mid=mid,
        text=text,
        quick_reply=opt_str(quick_reply, "payload", f"{where}.quick_reply")
        if quick_reply
        else None,
        attachments=attachments,
        reply_to=opt_str(reply_to, "mid", f"{where}.reply_to") if reply_to else None,
        referral=_referral_info(m, where),
        is_deleted=is_deleted,
    )


def _attachment(a: Obj, where: str) -> WebhookAttachment:
    """`url`/`title` sit in `payload`; legacy location attachments had them at the top."""
    payload = opt_obj(a, "payload", where)
    inner = payload or {}
    return WebhookAttachment(
        type=req_str(a, "type", where),
        url=opt_str(inner, "url", f"{where}.payload") or opt_str(a, "url", where),
        title=opt_str(inner, "title", f"{where}.payload") or opt_str(a, "title", where),
        payload=payload,
    )


def _referral_fields(r: Obj, where: str) -> dict[str, Any]:
    return {
        "ref": opt_str(r, "ref", where),
        "source": opt_str(r, "source", where),
        "type": opt_str(r, "type", where),
        "ad_id": opt_id(r, "ad_id", where),
        "referer_uri": opt_str(r, "referer_uri", where),
        "ads_context_data": opt_obj(r, "ads_context_data", where),
    }


def _referral_info(parent: Obj, where: str) -> ReferralInfo | None:
    r = opt_obj(parent, "referral", where)
    return ReferralInfo(**_referral_fields(r, f"{where}.referral")) if r is not None else None


def _postback(p: Obj, common: dict[str, Any], where: str, _key: str) -> PostbackEvent:
    return PostbackEvent(
        **common,
        mid=opt_str(p, "mid", where),
        title=opt_str(p, "title", where),
        payload=opt_str(p, "payload", where),
        referral=_referral_info(p, where),
    )


def _referral(r: Obj, common: dict[str, Any], where: str, _key: str) -> ReferralEvent:
    return ReferralEvent(**common, **_referral_fields(r, where))


def _optin(o: Obj, common: dict[str, Any], where: str, _key: str) -> OptinEvent:
    status = opt_str(o, "notification_messages_status", where)
    expiry = o.get("token_expiry_timestamp")
    return OptinEvent(
        **common,
        type=opt_str(o, "type", where),
        payload=opt_str(o, "payload", where),
        title=opt_str(o, "title", where),
        topic=opt_str(o, "notification_messages_topic", where),
        notification_messages_token=opt_id(o, "notification_messages_token", where),
        notification_messages_status=_status(status),
        notification_messages_timezone=opt_str(o, "notification_messages_timezone", where),
        token_expiry=None if expiry is None else time_of(o, "token_expiry_timestamp", where),
        user_token_status=opt_str(o, "user_token_status", where),
        user_ref=opt_id(o, "user_ref", where),
        ref=opt_str(o, "ref", where),
        source=opt_str(o, "source", where),
    )


def _status(status: str | None) -> Literal["STOP", "RESUME"] | None:
    """ "STOP NOTIFICATIONS" / "RESUME NOTIFICATIONS"; anything else is not a change we know."""
    word = (status or "").split(" ")[0].upper()
    return "STOP" if word == "STOP" else "RESUME" if word == "RESUME" else None


def _delivery(d: Obj, common: dict[str, Any], where: str, _key: str) -> DeliveryEvent:
    mids = list_of(d, "mids", where)
    if not all(isinstance(mid, str) for mid in mids):
        raise Bad(f"{where}.mids holds something other than strings")
    return DeliveryEvent(**common, watermark=ms_of(d, "watermark", where), mids=tuple(mids))


def _read(r: Obj, common: dict[str, Any], where: str, _key: str) -> ReadEvent:
    return ReadEvent(**common, watermark=ms_of(r, "watermark", where))


def _reaction(r: Obj, common: dict[str, Any], where: str, _key: str) -> ReactionEvent:
    return ReactionEvent(
        **common,
        mid=opt_str(r, "mid", where),
        action=opt_str(r, "action", where),
        emoji=opt_str(r, "emoji", where),
        reaction=opt_str(r, "reaction", where),
    )


def _handover(h: Obj, common: dict[str, Any], where: str, key: str) -> HandoverEvent:
    action = next(k for k in HANDOVER_KEYS if k == key)
    return HandoverEvent(
        **common,
        action=action,
        new_owner_app_id=opt_id(h, "new_owner_app_id", where),
        previous_owner_app_id=opt_id(h, "previous_owner_app_id", where),
        requested_owner_app_id=opt_id(h, "requested_owner_app_id", where),
        metadata=opt_str(h, "metadata", where),
    )


KINDS: dict[str, Callable[[Obj, dict[str, Any], str, str], Messaging]] = {
    "message": _message,
    "postback": _postback,
    "referral": _referral,
    "optin": _optin,
    "delivery": _delivery,
    "read": _read,
    "reaction": _reaction,
    **dict.fromkeys(HANDOVER_KEYS, _handover),
}
