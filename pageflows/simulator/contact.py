"""Plays the contact: builds Facebook-shaped webhook bodies, signs and POSTs them.

Bodies are compact JSON serialised once and signed over those exact bytes
(`X-Hub-Signature-256`), exactly as Facebook does, so the engine's signature
check is exercised on real wire bytes rather than a re-serialised dict.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import requests

from pageflows.simulator.clock import to_ms
from pageflows.simulator.state import Page, Template, new_mid

WEBHOOK_TIMEOUT = 10.0


class WebhookDeliveryError(Exception):
    """The page's webhook URL could not be reached at all (no HTTP status)."""


def sign(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    """Compact, ASCII-escaped JSON like Facebook's (webhooks.md §2 'Simulator tip')."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()


def messaging_body(page: Page, psid: str, now: datetime, event: dict[str, Any]) -> dict[str, Any]:
    """`{"object":"page","entry":[{id,time,messaging:[{sender,recipient,timestamp,...}]}]}`."""
    item = {
        "sender": {"id": psid},
        "recipient": {"id": page.page_id},
        "timestamp": to_ms(now),
        **event,
    }
    return {
        "object": "page",
        "entry": [{"id": page.page_id, "time": to_ms(now), "messaging": [item]}],
    }


def message_event(
    text: str | None = None,
    quick_reply: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    referral: dict[str, Any] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"mid": new_mid()}
    if text is not None:
        message["text"] = text
    if quick_reply is not None:
        message["quick_reply"] = {"payload": quick_reply}
    if attachments:
        message["attachments"] = attachments
    if referral:
        message["referral"] = referral
    return {"message": message}


def referral_info(ref: str | None, source: str | None = None) -> dict[str, Any]:
    """`{ref, source, type}`; `source` defaults to SHORTLINK (an m.me link)."""
    info: dict[str, Any] = {} if ref is None else {"ref": ref}
    info["source"] = (source or "SHORTLINK").upper()
    info["type"] = "OPEN_THREAD"
    return info


def postback_event(title: str, payload: str, referral: dict[str, Any] | None) -> dict[str, Any]:
    postback: dict[str, Any] = {"mid": new_mid(), "title": title, "payload": payload}
    if referral:
        postback["referral"] = referral
    return {"postback": postback}


def optin_event(
    topic: str,
    token: str,
    status: str | None = None,
    payload: str | None = None,
    from_link: bool = False,
) -> dict[str, Any]:
    """`messaging_optins` as a tap on a request sends it (its title and payload), or as an
    m.me/rn link does (the topic named, the payload empty; wh_optin_mme_rn_topic)."""
    optin: dict[str, Any] = {
        "type": "notification_messages",
        "title": topic,
        "payload": topic if payload is None else payload,
        "notification_messages_token": token,
        "notification_messages_timezone": "UTC",
        "user_token_status": "NOT_REFRESHED",
    }
    if from_link:
        optin.update(payload="", source="SHORTLINK", notification_messages_topic=topic)
    if status is not None:
        optin["notification_messages_status"] = status
    return {"optin": optin}


def feed_comment_body(
    page: Page,
    *,
    post_id: str,
    comment_id: str,
    text: str,
    from_id: str,
    from_name: str,
    created: datetime,
    parent_id: str | None = None,
) -> dict[str, Any]:
    """A Page `feed` change; `time` and `created_time` are epoch seconds here (webhooks.md §6)."""
    value = {
        "from": {"id": from_id, "name": from_name},
        "message": text,
        "post_id": post_id,
        "comment_id": comment_id,
        "created_time": int(created.timestamp()),
        "item": "comment",
        "parent_id": parent_id or post_id,
        "verb": "add",
    }
    entry = {
        "id": page.page_id,
        "time": int(created.timestamp()),
        "changes": [{"field": "feed", "value": value}],
    }
    return {"object": "page", "entry": [entry]}


def ad_referral(page: Page, ref: str | None) -> dict[str, Any]:
    """The `referral` a message carries when it follows a click-to-Messenger ad.

    Shaped like samples/wh_message_with_ads_referral.json: a first message after
    the ad carries the referral inside `message`, not as a separate event.
    """
    info: dict[str, Any] = {} if ref is None else {"ref": ref}
    info.update(
        ad_id="120212345678901234",
        source="ADS",
        type="OPEN_THREAD",
        ads_context_data={
            "ad_title": "Simulated ad",
            "photo_url": "https://scontent.xx.fbcdn.net/v/ad_photo.jpg",
            "post_id": f"{page.page_id}_778899001122334",
        },
    )
    return info


def template_status_body(
    page: Page, now: datetime, template: Template, event: str, reason: str
) -> dict[str, Any]:
    """The `message_template_status_update` change (policy.md §2a); the id is a number."""
    value = {
        "event": event,
        "message_template_id": int(template.template_id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        "reason": reason,
    }
    change = {"field": "message_template_status_update", "value": value}
    return {
        "object": "page",
        "entry": [{"id": page.page_id, "time": to_ms(now), "changes": [change]}],
    }


def build_event(page: Page, kind: str, psid: str, now: datetime, **f: Any) -> dict[str, Any]:
    """A whole webhook body for one contact action; `kind` names the webhook event."""
    if kind == "comment":
        return feed_comment_body(
            page,
            post_id=f["post_id"],
            comment_id=f["comment_id"],
            text=f["text"],
            from_id=psid,
            from_name=f["from_name"],
            created=now,
            parent_id=f.get("parent_id"),
        )
    event: dict[str, Any]
    if kind == "message":
        event = message_event(
            f.get("text"), f.get("quick_reply"), f.get("attachments"), f.get("referral")
        )
    elif kind == "postback":
        event = postback_event(f["title"], f["payload"], f.get("referral"))
    elif kind == "referral":
        event = {"referral": referral_info(f.get("ref"), f.get("source"))}
    elif kind == "optin":
        event = optin_event(
            f["topic"], f["token"], f.get("status"), f.get("payload"), f.get("from_link", False)
        )
    elif kind == "delivery":
        event = {"delivery": {"mids": f.get("mids", []), "watermark": to_ms(now)}}
    elif kind == "read":
        event = {"read": {"watermark": to_ms(now)}}
    elif kind in ("pass_thread_control", "take_thread_control"):
        event = {kind: {key: f.get(key) for key in HANDOVER_KEYS}}
    else:
        raise ValueError(f"unknown webhook event kind {kind!r}")
    return messaging_body(page, psid, now, event)


def echo_body(
    page: Page, psid: str, now: datetime, *, mid: str, app_id: str, text: str
) -> dict[str, Any]:
    """`message_echoes`: what the Page sent, sender the Page, recipient the contact; `app_id`
    a number as in every Facebook example (samples/wh_echo_from_page_inbox_human.json)."""
    item = {
        "sender": {"id": page.page_id},
        "recipient": {"id": psid},
        "timestamp": to_ms(now),
        "message": {"mid": mid, "is_echo": True, "app_id": int(app_id), "text": text},
    }
    return {
        "object": "page",
        "entry": [{"id": page.page_id, "time": to_ms(now), "messaging": [item]}],
    }


HANDOVER_KEYS = ("previous_owner_app_id", "new_owner_app_id", "metadata")


def post_event(page: Page, kind: str, psid: str, now: datetime, **fields: Any) -> int:
    """Build the `kind` webhook for `psid`, sign it and POST it; return the HTTP status."""
    return post_body(page, build_event(page, kind, psid, now, **fields))


def post_body(page: Page, body: dict[str, Any]) -> int:
    """POST a signed webhook body to the page's webhook URL; return the HTTP status."""
    raw = encode(body)
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(raw, page.app_secret),
        "User-Agent": "facebookexternalua",
    }
    try:
        response = requests.post(
            page.webhook_url, data=raw, headers=headers, timeout=WEBHOOK_TIMEOUT
        )
    except requests.RequestException as exc:
        raise WebhookDeliveryError(f"could not reach {page.webhook_url}: {exc}") from exc
    return response.status_code
