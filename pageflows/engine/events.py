"""Typed inbound events, as the core sees them.

The webhook parser (and the chat simulator) turn Facebook's payloads into
these; the core never sees JSON. Every event carries the timestamp Facebook
put on it: the 24 h window runs from the contact's own message, not from when
the webhook arrived.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Facebook's referral sources -> the words flows use (`on ref "x" from ads`).
SOURCE_WORDS = {
    "ADS": "ads",
    "SHORTLINK": "link",
    "MESSENGER_CODE": "qr",
    "CUSTOMER_CHAT_PLUGIN": "chat_plugin",
}

# Facebook reports a scanned m.me QR code as SHORTLINK, like a tapped link. So the
# QR codes pageflows makes (`pageflows qr`) carry this marker at the end of their ref
# (`?ref=spring_sale::qr`); `strip_qr_marker` takes it off before any flow sees the ref,
# so `on ref "spring_sale"` still matches a scan and `from qr` tells it from a link.
# `:` is one of the characters Facebook allows in a ref (a-z A-Z 0-9 + / = - . : _,
# 250 at most), and a flow's own ref hardly ends in two of them.
QR_MARKER = "::qr"


def strip_qr_marker(ref: str | None) -> tuple[str | None, bool]:
    """(the ref as flows see it, whether it came from one of our QR codes)."""
    if ref is not None and ref.endswith(QR_MARKER) and len(ref) > len(QR_MARKER):
        return ref[: -len(QR_MARKER)], True
    return ref, False


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    contact_id: str
    timestamp: AwareDatetime


class Referral(BaseModel):
    """`ref` may be missing: Facebook drops it for some EU users; `source` too."""

    model_config = ConfigDict(frozen=True)

    ref: str | None = None
    source: str | None = None
    ad_id: str | None = None
    scanned: bool = False  # the ref carried QR_MARKER: one of our QR codes was scanned

    @property
    def source_word(self) -> str | None:
        if self.scanned:
            return "qr"
        return SOURCE_WORDS.get(self.source or "")


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str
    url: str | None = None


class MessageIn(Event):
    kind: Literal["message"] = "message"
    mid: str | None = None
    text: str | None = None
    quick_reply: str | None = None
    attachments: tuple[Attachment, ...] = ()
    referral: Referral | None = None


class PostbackIn(Event):
    kind: Literal["postback"] = "postback"
    payload: str
    title: str | None = None
    referral: Referral | None = None


class ReferralIn(Event):
    kind: Literal["referral"] = "referral"
    referral: Referral


class CommentIn(Event):
    """A comment added on a Page post (feed webhook). `already_replied` comes from storage."""

    kind: Literal["comment"] = "comment"
    comment_id: str
    post_id: str
    text: str = ""
    from_name: str | None = None
    from_page: bool = False
    already_replied: bool = False


class OptinIn(Event):
    """A marketing-message opt-in (or stop/resume) for a topic."""

    kind: Literal["optin"] = "optin"
    topic: str
    token: str | None = None
    status: Literal["granted", "stopped", "resumed"] = "granted"


class FollowUpDue(Event):
    """A stored follow-up whose time has come; `timestamp` is when it was due."""

    kind: Literal["follow_up"] = "follow_up"
    root: str
    path: tuple[int | str, ...]
    created_at: AwareDatetime
    unless_replied: bool = False
    tag: str | None = None
    topic: str | None = None


class WindowClosingDue(Event):
    """`on window closing in 1h`: fires only if the contact has not written since."""

    kind: Literal["window_closing"] = "window_closing"
    root: str
    for_message_at: AwareDatetime


class BroadcastDue(Event):
    kind: Literal["broadcast"] = "broadcast"
    name: str
    # issue 12 (time): a recurring broadcast's occurrence, `weekly_menu@2026-12-04T08:00Z`:
    # what its messages are counted under (the run), while `name` finds its actions.
    run: str | None = None


class TimeoutDue(Event):
    """issue 12: a question's or a handoff's `for` ran out (`created_at`: when it began)."""

    kind: Literal["timeout"] = "timeout"
    purpose: Literal["ask_timeout", "handoff_timeout"]
    root: str
    path: tuple[int | str, ...] = ()
    created_at: AwareDatetime


InboundEvent = Annotated[
    MessageIn
    | PostbackIn
    | ReferralIn
    | CommentIn
    | OptinIn
    | FollowUpDue
    | WindowClosingDue
    | BroadcastDue
    | TimeoutDue,
    Field(discriminator="kind"),
]

# Events that are the contact's own action and so restart the 24 h window.
QUALIFYING = (MessageIn, PostbackIn, ReferralIn)
