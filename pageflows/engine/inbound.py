"""Messenger webhook events as Facebook sent them, typed, before the core sees them.

Facebook has no "type" field: each `messaging[]` item carries exactly one payload
key (`message`, `postback`, ...), feed comments come as `changes[]`, and a thread
owned by another app arrives in `standby[]`. `webhook.parse` turns those shapes into
one model per kind, discriminated on `kind`, so storage, dedup and `to_core` can
dispatch on a value instead of probing dict keys. Unknown kinds are kept, raw.

Facebook retries a webhook "immediately a few more times" when it is not answered
in time, and cannot replay missed ones, so every event has a `dedup_key` that is
equal for a redelivery and different for a new event.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, JsonValue

from pageflows.engine.events import (
    Attachment,
    CommentIn,
    InboundEvent,
    MessageIn,
    OptinIn,
    PostbackIn,
    ReferralIn,
)
from pageflows.engine.inbound_messaging import (
    EPOCH,
    PAGE_INBOX_APP_ID,
    DeliveryEvent,
    EchoEvent,
    FrozenModel,
    HandoverAction,
    HandoverEvent,
    MessageEvent,
    OptinEvent,
    PostbackEvent,
    ReactionEvent,
    ReadEvent,
    ReferralEvent,
    ReferralInfo,
    WebhookAttachment,
    digest,
    from_ms,
    to_ms,
)
from pageflows.engine.render import TOPIC_PREFIX

__all__ = [
    "EPOCH",
    "PAGE_INBOX_APP_ID",
    "CommentEvent",
    "DeliveryEvent",
    "EchoEvent",
    "HandoverAction",
    "HandoverEvent",
    "InboxEvent",
    "MessageEvent",
    "OptinEvent",
    "PostbackEvent",
    "ReactionEvent",
    "ReadEvent",
    "ReferralEvent",
    "ReferralInfo",
    "StandbyEvent",
    "StandbyInner",
    "TemplateStatusEvent",
    "UnknownEvent",
    "WebhookAttachment",
    "from_ms",
    "optin_topic",
    "to_core",
    "to_ms",
]


class UnknownEvent(FrozenModel):
    """Anything we do not model (message_edit, account_linking, app_roles, non-comment feed
    items, ...): kept raw so it can be stored and looked at, then ignored.
    `policy_enforcement` has no `sender`, hence the optional ids."""

    kind: Literal["unknown"] = "unknown"
    page_id: str
    field: str
    sender_id: str | None = None
    recipient_id: str | None = None
    timestamp: AwareDatetime | None = None
    raw: dict[str, JsonValue]

    @property
    def contact_id(self) -> str | None:
        return self.sender_id

    @property
    def dedup_key(self) -> str:
        canonical = json.dumps(self.raw, sort_keys=True, separators=(",", ":"))
        return f"unknown:{self.page_id}:{self.field}:{digest(canonical)}"


StandbyInner = Annotated[
    MessageEvent
    | EchoEvent
    | PostbackEvent
    | ReferralEvent
    | OptinEvent
    | DeliveryEvent
    | ReadEvent
    | ReactionEvent
    | HandoverEvent
    | UnknownEvent,
    Field(discriminator="kind"),
]


class StandbyEvent(FrozenModel):
    """An event seen while another app (often the Page Inbox) owns the thread.

    Same shapes as `messaging[]`, delivered to apps that are not the thread owner;
    the inner kind is kept so a handover-aware shell can still log it. Never a trigger.
    """

    kind: Literal["standby"] = "standby"
    event: StandbyInner

    @property
    def page_id(self) -> str:
        return self.event.page_id

    @property
    def sender_id(self) -> str | None:
        return self.event.sender_id

    @property
    def recipient_id(self) -> str | None:
        return self.event.recipient_id

    @property
    def timestamp(self) -> datetime | None:
        return self.event.timestamp

    @property
    def contact_id(self) -> str | None:
        return self.event.contact_id

    @property
    def dedup_key(self) -> str:
        return "standby:" + self.event.dedup_key


class CommentEvent(FrozenModel):
    """A Page feed change with `item: comment`. `sender_id` is the commenter (`from.id`).

    Feed times are epoch seconds. Page replies also come back as comments; `from_page`
    lets the core ignore them. `parent_id` is the post for top-level comments.
    """

    kind: Literal["comment"] = "comment"
    page_id: str
    sender_id: str
    recipient_id: str
    timestamp: AwareDatetime
    verb: str
    comment_id: str
    post_id: str
    parent_id: str | None = None
    message: str | None = None
    from_name: str | None = None

    @property
    def contact_id(self) -> str:
        return self.sender_id

    @property
    def from_page(self) -> bool:
        return self.sender_id == self.page_id

    @property
    def dedup_key(self) -> str:
        """A comment can be edited many times, each edit a new event with the same verb."""
        key = f"comment:{self.comment_id}:{self.verb}"
        if self.verb in ("edited", "edit"):
            key += ":" + digest(self.message or "")
        return key


class TemplateStatusEvent(FrozenModel):
    """A `message_template_status_update` change: one of the Page's templates was approved,
    rejected, paused, disabled... Facebook's word on it, newer than any sync.

    Not a contact's event and never a trigger: the worker stores the status
    (`storage/templates.py`) and the engine reads it at its next decision. `event` is
    Facebook's, upper case (APPROVED, REJECTED, PAUSED, DISABLED, REINSTATED...).
    """

    kind: Literal["template_status"] = "template_status"
    page_id: str
    timestamp: AwareDatetime | None = None  # the entry's time
    event: str
    name: str
    language: str
    template_id: str | None = None
    reason: str | None = None

    @property
    def contact_id(self) -> None:
        return None

    @property
    def dedup_key(self) -> str:
        which = self.template_id or digest(f"{self.name}\x00{self.language}")
        when = to_ms(self.timestamp) if self.timestamp is not None else "-"
        return f"template_status:{self.page_id}:{which}:{self.event}:{when}"


InboxEvent = Annotated[
    MessageEvent
    | EchoEvent
    | PostbackEvent
    | ReferralEvent
    | OptinEvent
    | DeliveryEvent
    | ReadEvent
    | ReactionEvent
    | HandoverEvent
    | StandbyEvent
    | CommentEvent
    | TemplateStatusEvent
    | UnknownEvent,
    Field(discriminator="kind"),
]

_STATUS: dict[str | None, Literal["granted", "stopped", "resumed"]] = {
    None: "granted",
    "STOP": "stopped",
    "RESUME": "resumed",
}


def optin_topic(event: OptinEvent) -> str | None:
    """Our opt-in requests send `payload = "pf-topic:<topic>"`; m.me/rn links name a topic."""
    if event.payload and event.payload.startswith(TOPIC_PREFIX):
        return event.payload.removeprefix(TOPIC_PREFIX) or None
    return event.topic or event.payload or None


def to_core(event: InboxEvent, get_started_payload: str = "GET_STARTED") -> InboundEvent | None:
    """The core's view of an inbox event, or None when no flow should see it.

    Echoes, standby, deliveries, reads, reactions, handovers, unsent (`is_deleted`)
    messages and unknown kinds are bookkeeping, not contact actions; only comments
    with verb `add` are new. A postback
    without `payload` (the standby shape) cannot be matched. `get_started_payload`
    names the Get Started postback, the only one Facebook attaches a new thread's
    referral to; the core decides on it, so it is accepted here for symmetry with
    `core.handle` and does not change the mapping.
    """
    if isinstance(event, MessageEvent):
        if event.is_deleted:
            return None
        return MessageIn(
            contact_id=event.sender_id,
            timestamp=event.timestamp,
            mid=event.mid,
            text=event.text,
            quick_reply=event.quick_reply,
            attachments=tuple(Attachment(type=a.type, url=a.url) for a in event.attachments),
            referral=event.referral.to_core() if event.referral else None,
        )
    if isinstance(event, PostbackEvent):
        if event.payload is None:
            return None
        referral = event.referral.to_core() if event.referral else None
        return PostbackIn(
            contact_id=event.sender_id,
            timestamp=event.timestamp,
            payload=event.payload,
            title=event.title,
            referral=referral,
        )
    if isinstance(event, ReferralEvent):
        return ReferralIn(
            contact_id=event.sender_id,
            timestamp=event.timestamp,
            referral=event.info().to_core(),
        )
    if isinstance(event, CommentEvent):
        if event.verb != "add":
            return None
        return CommentIn(
            contact_id=event.sender_id,
            timestamp=event.timestamp,
            comment_id=event.comment_id,
            post_id=event.post_id,
            text=event.message or "",
            from_name=event.from_name,
            from_page=event.from_page,
        )
    if isinstance(event, OptinEvent) and event.type == "notification_messages":
        topic = optin_topic(event)
        if topic is None:
            return None
        return OptinIn(
            contact_id=event.sender_id,
            timestamp=event.timestamp,
            topic=topic,
            token=event.notification_messages_token,
            status=_STATUS[event.notification_messages_status],
        )
    return None
