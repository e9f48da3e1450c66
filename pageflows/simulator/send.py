"""Facebook's Send API rules, implemented here and nowhere else in the simulator.

Written from /work/shared/messenger (policy.md, send-api.md, errors.md), not
from pageflows.engine.policy: if the engine's dated rule table is wrong, the
simulator refuses the send and the disagreement shows up in the e2e tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pageflows.simulator import errors
from pageflows.simulator.limits import validate_message
from pageflows.simulator.state import Contact, Page, SimState, new_mid

WINDOW = timedelta(hours=24)  # open while now - last message < 24 h (strict)
TAG_WINDOW = timedelta(days=7)  # HUMAN_AGENT and CUSTOMER_FEEDBACK
PRIVATE_REPLY_WINDOW = timedelta(days=7)
TAGS_2026_LAST_DAY = date(2026, 4, 26)  # refused with error 100 from 2026-04-27 (UTC)
TOKEN_CAP_48H_FROM = datetime(2025, 9, 1, tzinfo=UTC)
SEVEN_DAY_TAGS = ("HUMAN_AGENT", "CUSTOMER_FEEDBACK")
RETIRING_TAGS = ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE")
RETIRED_2020_TAGS = (
    "BUSINESS_PRODUCTIVITY", "COMMUNITY_ALERT", "CONFIRMED_EVENT_REMINDER",
    "NON_PROMOTIONAL_SUBSCRIPTION", "PAIRING_UPDATE", "APPLICATION_UPDATE", "PAYMENT_UPDATE",
    "PERSONAL_FINANCE_UPDATE", "SHIPPING_UPDATE", "RESERVATION_UPDATE", "ISSUE_RESOLUTION",
    "APPOINTMENT_UPDATE", "GAME_EVENT", "TRANSPORTATION_UPDATE", "FEATURE_FUNCTIONALITY_UPDATE",
    "TICKET_UPDATE",
)  # fmt: skip
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen", "react", "unreact")


@dataclass
class Target:
    """Who a send reaches and through which door (PSID, private reply, token)."""

    contact: Contact
    via: str  # "id" | "comment_id" | "notification_messages_token"
    key: str


def send(state: SimState, page: Page, body: dict[str, Any]) -> dict[str, Any]:
    """Accept (returning the Graph response) or raise the GraphError Facebook would."""
    now = state.clock.now()
    recipient, message = body.get("recipient"), body.get("message")
    action = body.get("sender_action")
    if not isinstance(recipient, dict) or not recipient:
        raise errors.invalid_param("param recipient must be non-empty.")
    if message is not None and action is not None:
        raise errors.invalid_param("Message and sender_action cannot be sent together", 2018014)
    if message is None and action is None:
        raise errors.invalid_param("Must send either message or state")
    if action is not None and action not in SENDER_ACTIONS:
        raise errors.invalid_param(f"param sender_action must be one of {list(SENDER_ACTIONS)}")
    if message is not None:
        validate_message(message, body.get("metadata", message.get("metadata")))
    with state.lock:
        target = _resolve(state, page, recipient, now)
        owner = target.contact.owner_app_id
        if owner is not None and owner != page.app_id:
            raise errors.thread_owned_elsewhere()
        if target.via == "id":
            _check_window(body, target.contact, now)
        _consume(state, target, now)
    if action is not None:
        return {"recipient_id": target.contact.psid}
    return {"recipient_id": target.contact.psid, "message_id": new_mid()}


def _resolve(state: SimState, page: Page, recipient: dict[str, Any], now: datetime) -> Target:
    if "id" in recipient:
        contact = state.contact(page.page_id, str(recipient["id"]))
        if contact is None:
            raise errors.no_matching_user()
        return Target(contact, "id", contact.psid)
    if "comment_id" in recipient:
        return _private_reply_target(state, page, str(recipient["comment_id"]), now)
    if "notification_messages_token" in recipient:
        return _token_target(state, page, str(recipient["notification_messages_token"]), now)
    supported = "id, comment_id, notification_messages_token"
    raise errors.invalid_param(f"param recipient must have one of {{{supported}}} (simulator)")


def _private_reply_target(state: SimState, page: Page, comment_id: str, now: datetime) -> Target:
    comment = state.comments.get(comment_id)
    if comment is None or comment.page_id != page.page_id or comment.by_page:
        # 100/2534025 ("comment not valid for private reply", errors.md) for unknown
        # comments and for the Page's own comments: Facebook never lets a Page DM itself.
        raise errors.invalid_param("This comment is not valid for a private reply", 2534025)
    if comment.replied:
        raise errors.already_replied()
    if now - comment.created_time > PRIVATE_REPLY_WINDOW:
        raise errors.outside_window()  # 10/2018278 chosen for "older than 7 days"
    contact = state.ensure_contact(page.page_id, comment.from_id, *_split(comment.from_name))
    return Target(contact, "comment_id", comment_id)


def _token_target(state: SimState, page: Page, token: str, now: datetime) -> Target:
    found = state.tokens.get(token)
    if found is None or found.page_id != page.page_id:
        raise errors.invalid_param("Invalid notification_messages_token")
    if found.stopped:
        raise errors.token_stopped()
    cap = token_cap(now)
    if found.last_sent_at is not None and now - found.last_sent_at < cap:
        raise errors.token_too_soon()
    contact = state.ensure_contact(page.page_id, found.psid)
    return Target(contact, "notification_messages_token", token)


def token_cap(now: datetime) -> timedelta:
    """One marketing message per token per 24 h, 48 h from 2025-09-01 (policy.md §3)."""
    return timedelta(hours=48) if now >= TOKEN_CAP_48H_FROM else timedelta(hours=24)


def _check_window(body: dict[str, Any], contact: Contact, now: datetime) -> None:
    # A missing messaging_type is treated as RESPONSE (Facebook's enforcement is unconfirmed).
    kind = body.get("messaging_type", "RESPONSE")
    if kind not in MESSAGING_TYPES:
        raise errors.invalid_param(f"param messaging_type must be one of {list(MESSAGING_TYPES)}")
    age = None if contact.last_message_at is None else now - contact.last_message_at
    if kind in ("RESPONSE", "UPDATE"):
        if "tag" in body:
            raise errors.invalid_param("param tag is only allowed with messaging_type MESSAGE_TAG")
        if age is None or age >= WINDOW:
            raise errors.outside_window()
        return
    if kind == "UTILITY":
        raise errors.invalid_param("messaging_type UTILITY needs an approved utility template")
    _check_tag(body.get("tag"), age, now)


def _check_tag(tag: Any, age: timedelta | None, now: datetime) -> None:
    allowed = [*SEVEN_DAY_TAGS, *(RETIRING_TAGS if now.date() <= TAGS_2026_LAST_DAY else ())]
    if tag in RETIRING_TAGS and now.date() > TAGS_2026_LAST_DAY:
        raise errors.invalid_param(
            f"The tag {tag} is deprecated and can no longer be used since 2026-04-27. "
            f"Param tag must be one of {{{', '.join(allowed)}}}"
        )
    if tag not in allowed:  # missing, unknown, or one of the 16 retired in 2020
        raise errors.invalid_param(f"Param tag must be one of {{{', '.join(allowed)}}}")
    if age is None:  # a tag never reaches someone who has not written first
        raise errors.outside_window()
    if tag in SEVEN_DAY_TAGS and age >= TAG_WINDOW:
        raise errors.outside_window()


def _consume(state: SimState, target: Target, now: datetime) -> None:
    """Use up the one-shot allowances (private reply slot, token's next eligible time)."""
    if target.via == "comment_id":
        state.comments[target.key].replied = True
    elif target.via == "notification_messages_token":
        state.tokens[target.key].last_sent_at = now


def _split(name: str) -> tuple[str, str]:
    first, _, last = name.partition(" ")
    return first, last
