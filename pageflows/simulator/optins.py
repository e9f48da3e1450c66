"""Opt-in requests on a contact's screen, and what tapping "Get messages" on one needs.

Messenger shows the "Get messages" button only under an opt-in request the Page
sent (policy.md §3, send-api.md §3); an m.me/rn link is the one other way in.
So the simulator lets a contact opt in only through a request it accepted for
that contact and that was not tapped yet, or through such a link, and a refusal
names the requests that are on screen: a test or a demo cannot opt a contact in
where Facebook would show nothing to tap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pageflows.simulator.state import Contact, NotificationToken, Page, SimState

DEFAULT_TITLE = "Updates and promotions"  # send-api.md §3


@dataclass(frozen=True)
class Request:
    """An accepted opt-in request: the log entry it came from, its title and payload."""

    seq: int
    title: str
    payload: str


class NotOnScreen(Exception):
    """No request (or no token) matches: the message says what is on screen instead."""


def matches(wanted: str, title: str, payload: str) -> bool:
    """A request is named by the title the person reads, by its payload, or by the payload's
    last `:`-separated part (a bot's own prefix, such as `pf-topic:deals`); any case."""
    key = wanted.strip().strip('"').casefold()
    names = (title, payload, payload.rsplit(":", 1)[-1])
    return bool(key) and key in (n.casefold() for n in names if n)


def requests_shown(state: SimState, page: Page, contact: Contact) -> list[Request]:
    """The requests this contact sees with a "Get messages" still to tap, oldest first."""
    found: list[Request] = []
    with state.lock:
        for entry in state.log:
            if not entry["ok"] or entry.get("page_id") != page.page_id:
                continue
            if entry.get("recipient_id") != contact.psid or entry["seq"] in state.optins_tapped:
                continue
            payload = _optin_payload(entry["request"])
            if payload is not None:
                found.append(
                    Request(
                        entry["seq"],
                        str(payload.get("title") or DEFAULT_TITLE),
                        str(payload.get("payload") or ""),
                    )
                )
    return found


def take_request(state: SimState, page: Page, contact: Contact, wanted: str) -> Request:
    """The newest request on screen that `wanted` names, marked tapped; else NotOnScreen."""
    shown = requests_shown(state, page, contact)
    for request in reversed(shown):
        if matches(wanted, request.title, request.payload):
            with state.lock:
                state.optins_tapped.add(request.seq)
            return request
    raise NotOnScreen(_not_shown(wanted, shown))


def token_for(
    state: SimState, page: Page, contact: Contact, wanted: str, token: str | None
) -> NotificationToken:
    """The contact's token for a topic (or the one given), to stop or resume it."""
    with state.lock:
        mine = [
            t for t in state.tokens.values() if t.page_id == page.page_id and t.psid == contact.psid
        ]
    for found in reversed(mine):
        if found.token == token or (token is None and matches(wanted, found.topic, found.payload)):
            return found
    held = ", ".join(f'"{t.topic}"' for t in mine) or "none"
    raise NotOnScreen(
        f'{contact.first_name} ({contact.psid}) has no notification token for "{wanted}"'
        f" to stop or resume (their tokens: {held})"
    )


def _not_shown(wanted: str, shown: list[Request]) -> str:
    if not shown:
        return (
            f'no opt-in request for "{wanted}" is on screen: Messenger shows "Get messages"'
            " only under an opt-in request the Page sent to this contact (inside the 24 h"
            " window, one per title per week), and none is waiting to be tapped"
        )
    waiting = ", ".join(f'"{r.title}"' + (f" ({r.payload})" if r.payload else "") for r in shown)
    return f'no opt-in request for "{wanted}" is on screen; waiting to be tapped: {waiting}'


def _optin_payload(body: dict[str, Any]) -> dict[str, Any] | None:
    message = body.get("message")
    attachment = message.get("attachment") if isinstance(message, dict) else None
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    if isinstance(payload, dict) and payload.get("template_type") == "notification_messages":
        return payload
    return None
