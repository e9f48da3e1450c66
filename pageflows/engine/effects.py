"""What the core decides: values the shell carries out (send, store, schedule).

Every outbound message is either a `Send` with the messaging type or tag it
will use, or a `Skipped` with its reason: never silently dropped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pageflows.engine.policy import Delivery
from pageflows.rules.source import Span


class Recipient(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str | None = None
    comment_id: str | None = None
    notification_messages_token: str | None = None

    def as_json(self) -> dict[str, str]:
        # The fields as `model_dump` gives them (plain strings, in order), without its
        # serialiser: one per outbox row (issue 13).
        return {k: v for k, v in self.__dict__.items() if v is not None}


class Outbound(BaseModel):
    """A message in the Send API's own shape, plus a one-line preview for people."""

    model_config = ConfigDict(frozen=True)

    recipient: Recipient
    message: dict[str, Any]
    preview: str
    origin: Span | None = None


class Send(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["send"] = "send"
    outbound: Outbound
    delivery: Delivery

    def request_body(self) -> dict[str, Any]:
        """The JSON body for POST /{page-id}/messages."""
        body: dict[str, Any] = {
            "recipient": self.outbound.recipient.as_json(),
            "message": self.outbound.message,
        }
        if self.delivery.notification_token is None and self.outbound.recipient.id:
            body["messaging_type"] = self.delivery.messaging_type
            if self.delivery.tag:
                body["tag"] = self.delivery.tag
        return body


class Skipped(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["skip"] = "skip"
    outbound: Outbound
    reason: str
    detail: str


class Cancelled(BaseModel):
    """A whole follow-up not run (the contact replied, or a human has the thread).

    One never scheduled (its stored date is missing, unreadable or past) carries a
    `key` made as a Schedule's is, so the shell records it once as a row of its own,
    and `due_at`, the time it would have had when one could be worked out."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["cancelled"] = "cancelled"
    reason: str
    detail: str
    origin: Span | None = None
    key: str | None = None  # issue 12: R, set when a follow-up is not scheduled at all
    due_at: AwareDatetime | None = None  # issue 12: R


class Schedule(BaseModel):
    """A follow-up to store; `key` makes scheduling idempotent."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["schedule"] = "schedule"
    key: str
    # issue 12: asks: `ask_timeout` (a question's `for`), `handoff_timeout` (a handoff's `for`)
    purpose: Literal["follow_up", "window_closing", "ask_timeout", "handoff_timeout"] = "follow_up"
    due_at: AwareDatetime
    root: str
    path: tuple[int | str, ...] = ()
    created_at: AwareDatetime
    unless_replied: bool = False
    tag: str | None = None
    topic: str | None = None
    origin: Span | None = None


class Changed(BaseModel):
    """A change to the contact, for logs and the chat simulator (the state is returned too)."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["changed"] = "changed"
    what: str


class HandOff(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["handoff"] = "handoff"
    reason: str | None = None


class TakeBack(BaseModel):
    """Take thread control back (Conversation Routing `take_thread_control`) before anything
    else goes: a person's pause ran out, and the Page inbox may still hold the thread."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["take_thread"] = "take_thread"
    reason: str


class NotifyOut(BaseModel):
    """POST the contact and the event as JSON to an outside system."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["notify"] = "notify"
    url: str
    payload: dict[str, Any]


class Note(BaseModel):
    """Why nothing happened (no trigger matched, own comment, ...): for logs and chat."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["note"] = "note"
    text: str


class Typing(BaseModel):
    """issue 12: D. Facebook's typing indicator (`sender_action: typing_on`), then a pause:
    the shell holds the contact's next message until ``pause`` has passed since the
    indicator went. A typing indicator is not a message: outside the window it is not
    sent (``skip_reason`` says why) and the next message goes without the pause."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["typing"] = "typing"
    recipient: Recipient
    pause: timedelta
    delivery: Delivery | None = None  # None when skipped
    skip_reason: str | None = None
    skip_detail: str = ""
    origin: Span | None = None

    def request_body(self) -> dict[str, Any]:
        """The JSON body for POST /{page-id}/messages: a sender action, never with a message
        (Facebook refuses the two together, 100/2018014) nor a messaging_type."""
        return {"recipient": self.recipient.as_json(), "sender_action": "typing_on"}


Effect = Annotated[
    Send
    | Skipped
    | Cancelled
    | Schedule
    | Changed
    | HandOff
    | TakeBack
    | NotifyOut
    | Note
    | Typing,
    Field(discriminator="kind"),
]
