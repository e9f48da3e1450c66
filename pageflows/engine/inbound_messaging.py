"""The `messaging[]` event kinds of `pageflows.engine.inbound` (split out for size).

Each `messaging[]` item carries `sender.id`, `recipient.id`, `timestamp` (epoch ms)
and exactly one payload key; these are the kinds we model. Import them from
`pageflows.engine.inbound`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, JsonValue

from pageflows.engine.events import Referral, strip_qr_marker

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The app id Facebook puts on echoes of messages a human typed in the Page Inbox.
PAGE_INBOX_APP_ID = "263902037430900"


def from_ms(ms: int) -> datetime:
    """Messaging timestamps and watermarks are epoch milliseconds; integer maths keeps them exact.

    Raises OverflowError for values outside what a datetime can hold.
    """
    return EPOCH + timedelta(milliseconds=ms)


def to_ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def digest(text: str) -> str:
    """A short stable hash for keys: the inbox indexes `dedup_key` as String(512)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReferralInfo(FrozenModel):
    """m.me / ad / QR referral. EU/EEA and Japan threads may lack `source`; `ref` is optional."""

    ref: str | None = None
    source: str | None = None
    type: str | None = None
    ad_id: str | None = None
    referer_uri: str | None = None
    ads_context_data: dict[str, JsonValue] | None = None

    def to_core(self) -> Referral:
        """The referral flows see: the QR marker of our QR codes taken off (events.py)."""
        ref, scanned = strip_qr_marker(self.ref)
        return Referral(ref=ref, source=self.source, ad_id=self.ad_id, scanned=scanned)


class WebhookAttachment(FrozenModel):
    """`url`/`title` are lifted from `payload` (or the legacy top level, as location had).

    `fallback` (shared link) attachments may come without any payload; stickers
    carry `sticker_id` in `payload`, which is kept whole.
    """

    type: str
    url: str | None = None
    title: str | None = None
    payload: dict[str, JsonValue] | None = None


class _Messaging(FrozenModel):
    """A `messaging[]` item from a user: sender is the PSID, recipient the Page."""

    page_id: str
    sender_id: str
    recipient_id: str
    timestamp: AwareDatetime

    @property
    def contact_id(self) -> str:
        return self.sender_id

    def _key(self, *parts: object) -> str:
        return ":".join(str(p) for p in parts)


class MessageEvent(_Messaging):
    """A user's message. `text` is absent for attachment-only messages.

    `is_deleted`: the person unsent a message; Facebook sends its `mid` again with
    no text. Kept (its own dedup key, so the original does not hide it), never answered.
    """

    kind: Literal["message"] = "message"
    mid: str | None = None
    text: str | None = None
    quick_reply: str | None = None
    attachments: tuple[WebhookAttachment, ...] = ()
    reply_to: str | None = None
    referral: ReferralInfo | None = None
    is_echo: Literal[False] = False
    is_deleted: bool = False

    @property
    def dedup_key(self) -> str:
        """A redelivered message carries the same `mid`; Facebook always sets one."""
        if self.mid:
            return self._key("deleted" if self.is_deleted else "mid", self.mid)
        return self._key("message", self.sender_id, to_ms(self.timestamp))


class EchoEvent(_Messaging):
    """A copy of what the Page sent (`is_echo: true`): sender is the Page, recipient the PSID.

    Echoes come from our own sends (with our `metadata`), other apps and humans in the
    Page Inbox (`app_id` 263902037430900). They never trigger flows: reacting to our
    own messages would loop. `app_id` is a number in every Facebook example.
    """

    kind: Literal["echo"] = "echo"
    mid: str | None = None
    app_id: str | None = None
    text: str | None = None
    metadata: str | None = None
    attachments: tuple[WebhookAttachment, ...] = ()
    is_echo: Literal[True] = True

    @property
    def contact_id(self) -> str:
        return self.recipient_id

    @property
    def from_page_inbox(self) -> bool:
        return self.app_id == PAGE_INBOX_APP_ID

    @property
    def dedup_key(self) -> str:
        if self.mid:
            return self._key("mid", self.mid)
        return self._key("echo", self.recipient_id, to_ms(self.timestamp))


class PostbackEvent(_Messaging):
    """A button tap. `mid` exists since Graph v11; standby postbacks omit `payload`."""

    kind: Literal["postback"] = "postback"
    mid: str | None = None
    title: str | None = None
    payload: str | None = None
    referral: ReferralInfo | None = None

    @property
    def dedup_key(self) -> str:
        if self.mid:
            return self._key("mid", self.mid)
        # Payloads run to 1000 chars; a digest keeps the key short enough to index.
        payload = digest(self.payload or "")
        return self._key("postback", self.sender_id, to_ms(self.timestamp), payload)


class _Timed(_Messaging):
    kind: str

    @property
    def dedup_key(self) -> str:
        """No `mid` on these: sender, kind and Facebook's own timestamp identify one."""
        return self._key(self.kind, self.sender_id, to_ms(self.timestamp))


class ReferralEvent(_Timed):
    """`messaging_referrals`: an existing thread reopened from m.me, an ad, a QR code."""

    kind: Literal["referral"] = "referral"
    ref: str | None = None
    source: str | None = None
    type: str | None = None
    ad_id: str | None = None
    referer_uri: str | None = None
    ads_context_data: dict[str, JsonValue] | None = None

    def info(self) -> ReferralInfo:
        return ReferralInfo(
            ref=self.ref,
            source=self.source,
            type=self.type,
            ad_id=self.ad_id,
            referer_uri=self.referer_uri,
            ads_context_data=self.ads_context_data,
        )


class OptinEvent(_Timed):
    """`messaging_optins`. Marketing messages use `type: notification_messages`.

    `notification_messages_status` is sent only on a change, as "STOP NOTIFICATIONS"
    or "RESUME NOTIFICATIONS"; it is kept here as STOP / RESUME. Plugin opt-ins carry
    `ref` (and `user_ref` for the checkbox plugin) instead.
    """

    kind: Literal["optin"] = "optin"
    type: str | None = None
    payload: str | None = None
    title: str | None = None
    topic: str | None = None
    notification_messages_token: str | None = None
    notification_messages_status: Literal["STOP", "RESUME"] | None = None
    notification_messages_timezone: str | None = None
    token_expiry: AwareDatetime | None = None
    user_token_status: str | None = None
    user_ref: str | None = None
    ref: str | None = None
    source: str | None = None


class DeliveryEvent(_Messaging):
    """All messages before `watermark` (ms) were delivered; `mids` is often absent."""

    kind: Literal["delivery"] = "delivery"
    watermark: int
    mids: tuple[str, ...] = ()

    @property
    def dedup_key(self) -> str:
        return self._key("delivery", self.sender_id, self.watermark)


class ReadEvent(_Messaging):
    """All messages at or before `watermark` (ms) were read."""

    kind: Literal["read"] = "read"
    watermark: int

    @property
    def dedup_key(self) -> str:
        return self._key("read", self.sender_id, self.watermark)


class ReactionEvent(_Timed):
    """`reaction` is one of smile/angry/sad/wow/love/like/dislike/other; `emoji` the glyph."""

    kind: Literal["reaction"] = "reaction"
    mid: str | None = None
    action: str | None = None
    emoji: str | None = None
    reaction: str | None = None

    @property
    def dedup_key(self) -> str:
        return self._key(super().dedup_key, self.mid or "")


HandoverAction = Literal["pass_thread_control", "take_thread_control", "request_thread_control"]


class HandoverEvent(_Timed):
    """Conversation routing. `previous_owner_app_id` is null when the thread was idle."""

    kind: Literal["handover"] = "handover"
    action: HandoverAction
    new_owner_app_id: str | None = None
    previous_owner_app_id: str | None = None
    requested_owner_app_id: str | None = None
    metadata: str | None = None

    @property
    def dedup_key(self) -> str:
        return self._key(self.action, self.sender_id, to_ms(self.timestamp))
