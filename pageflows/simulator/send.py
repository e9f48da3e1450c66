"""Facebook's Send API rules, implemented here and nowhere else in the simulator.

Written from /work/shared/messenger (policy.md, send-api.md, errors.md), not
from pageflows.engine.policy: if the engine's dated rule table is wrong, the
simulator refuses the send and the disagreement shows up in the e2e tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pageflows.simulator import errors, utility
from pageflows.simulator.dated import (
    AD_WINDOW,
    OPTIN_REQUEST_GAP,
    PRIVATE_REPLY_WINDOW,
    SEVEN_DAY_TAGS,
    STANDARD_WINDOW,
    TAG_WINDOW,
    live_tags,
    retired_tags,
    token_cap,
    tokens_allowed,
)
from pageflows.simulator.limits import validate_message
from pageflows.simulator.state import Contact, Page, SimState, new_mid

MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen", "react", "unreact")
DEFAULT_OPTIN_TITLE = "Updates and promotions"  # send-api.md §3


@dataclass
class Target:
    """Who a send reaches and through which door (PSID, private reply, token)."""

    contact: Contact
    via: str  # "id" | "comment_id" | "notification_messages_token"
    key: str


@dataclass
class Accepted:
    """The Graph response, and what the simulator's log adds about the send."""

    response: dict[str, Any]
    notes: dict[str, Any] = field(default_factory=dict)


def send(state: SimState, page: Page, body: dict[str, Any]) -> Accepted:
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
    if body.get("tag") in retired_tags(now):
        raise errors.retired_tag()  # whatever the messaging_type, even inside the window
    if message is not None and not (isinstance(message, dict) and "template" in message):
        metadata = body.get(
            "metadata", message.get("metadata") if isinstance(message, dict) else None
        )
        validate_message(message, metadata)
    template = utility.check_shape(body, message) if utility.check_pairing(body, message) else None
    optin_title = _optin_title(message)
    if optin_title is not None and not tokens_allowed(now, page.region):
        raise errors.marketing_unavailable()
    with state.lock:
        target = _resolve(state, page, recipient, now)
        owner = target.contact.owner_app_id
        if owner is not None and owner != page.app_id:
            raise errors.thread_owned_elsewhere()
        filled = None if template is None else utility.resolve(page, *template)
        if target.via == "id" and filled is None:
            _check_window(body, page, target.contact, now)
        if optin_title is not None:
            _check_optin_gap(state, page, target.contact, optin_title, now)
        _consume(state, target, now, optin_title)
    notes: dict[str, Any] = {"mode": _mode(body, target, action)}
    if target.via == "notification_messages_token":
        notes["token_title"] = state.tokens[target.key].topic  # the opt-in's title
    if filled is not None:
        notes["template"] = {"id": filled.template.template_id, "name": filled.template.name,
                             "language": filled.template.language}  # fmt: skip
        notes["shown"] = filled.shown()
    if action is not None:
        return Accepted({"recipient_id": target.contact.psid}, notes)
    return Accepted({"recipient_id": target.contact.psid, "message_id": new_mid()}, notes)


def _mode(body: dict[str, Any], target: Target, action: Any) -> str:
    """How the send got through: the log's one word for it."""
    if action is not None:
        return "sender_action"
    if target.via == "comment_id":
        return "private_reply"
    if target.via == "notification_messages_token":
        return "notification_token"
    kind = body.get("messaging_type", "RESPONSE")
    return {"UTILITY": "utility", "MESSAGE_TAG": "tag"}.get(kind, "window")


def _optin_title(message: Any) -> str | None:
    """The title of a marketing-messages opt-in request, or None for any other message."""
    attachment = message.get("attachment") if isinstance(message, dict) else None
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    if not isinstance(payload, dict) or payload.get("template_type") != "notification_messages":
        return None
    return str(payload.get("title") or DEFAULT_OPTIN_TITLE)


def _check_optin_gap(
    state: SimState, page: Page, contact: Contact, title: str, now: datetime
) -> None:
    """At most one opt-in request per title per person per 7 days (policy.md §3)."""
    last = state.optin_requests.get((page.page_id, contact.psid, title))
    if last is not None and now - last < OPTIN_REQUEST_GAP.length:
        raise errors.optin_request_too_soon()


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
    if now - comment.created_time > PRIVATE_REPLY_WINDOW.length:
        raise errors.outside_window()  # 10/2018278 chosen for "older than 7 days"
    contact = state.ensure_contact(page.page_id, comment.from_id, *_split(comment.from_name))
    return Target(contact, "comment_id", comment_id)


def _token_target(state: SimState, page: Page, token: str, now: datetime) -> Target:
    if not tokens_allowed(now, page.region):  # policy.md §3: gone for the whole Page
        raise errors.marketing_unavailable()
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


def window_open(page: Page, contact: Contact, now: datetime) -> bool:
    """24 h after the person's last message, or 7 days after one that followed an ad.

    The ad's 7 days count only where the Page turned `ad_window` on (policy.md §1a);
    whichever window ends later wins, so an ordinary message never shortens it.
    """
    ends = []
    if contact.last_message_at is not None:
        ends.append(contact.last_message_at + STANDARD_WINDOW.length)
    if page.ad_window and contact.ad_message_at is not None:
        ends.append(contact.ad_message_at + AD_WINDOW.length)
    return any(now < end for end in ends)


def _check_window(body: dict[str, Any], page: Page, contact: Contact, now: datetime) -> None:
    # A missing messaging_type is treated as RESPONSE (Facebook's enforcement is unconfirmed).
    kind = body.get("messaging_type", "RESPONSE")
    if kind not in MESSAGING_TYPES:
        raise errors.invalid_param(f"param messaging_type must be one of {list(MESSAGING_TYPES)}")
    if kind in ("RESPONSE", "UPDATE"):
        if "tag" in body:
            raise errors.invalid_param("param tag is only allowed with messaging_type MESSAGE_TAG")
        if not window_open(page, contact, now):
            raise errors.outside_window()
        return
    age = None if contact.last_message_at is None else now - contact.last_message_at
    _check_tag(body.get("tag"), age, now, page)


def _check_tag(tag: Any, age: timedelta | None, now: datetime, page: Page) -> None:
    allowed = live_tags(now)  # the retired ones were refused with 1893061 before this
    if tag not in allowed:  # missing or unknown
        raise errors.invalid_param(f"Param tag must be one of {{{', '.join(allowed)}}}")
    if tag == "HUMAN_AGENT" and not page.human_agent:  # policy.md §2: App Review first
        raise errors.human_agent_not_permitted()
    if age is None:  # a tag never reaches someone who has not written first
        raise errors.outside_window()
    if tag in SEVEN_DAY_TAGS and age >= TAG_WINDOW.length:
        raise errors.outside_window()


def _consume(state: SimState, target: Target, now: datetime, optin_title: str | None) -> None:
    """Use up the one-shot allowances (private reply slot, token's next eligible time...)."""
    if optin_title is not None:
        state.optin_requests[(target.contact.page_id, target.contact.psid, optin_title)] = now
    if target.via == "comment_id":
        state.comments[target.key].replied = True
    elif target.via == "notification_messages_token":
        state.tokens[target.key].last_sent_at = now


def _split(name: str) -> tuple[str, str]:
    first, _, last = name.partition(" ")
    return first, last
