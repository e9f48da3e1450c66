"""What a simulated contact does: each action updates the state, then posts a webhook.

State changes (the contact's last-message time, a comment, a token) are
committed *before* the webhook is posted: the engine may answer through the
Send API while the webhook request is still open, and that reply must already
see the window the message opened. Nothing here holds the lock during I/O.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pageflows.simulator.contact import (
    ad_referral,
    echo_body,
    post_body,
    post_event,
    referral_info,
)
from pageflows.simulator.state import (
    PAGE_INBOX_APP_ID,
    Comment,
    Contact,
    NotificationToken,
    Page,
    SimState,
    new_mid,
    psid_for,
)


class ActionError(Exception):
    """A control request that cannot be played (unknown title, page, ...); HTTP 4xx."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Played:
    """What was posted: one webhook status per event, in order."""

    psid: str
    statuses: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        last = self.statuses[-1] if self.statuses else None
        return {"psid": self.psid, "status": last, "statuses": self.statuses, **self.extra}


def persona(state: SimState, page: Page, psid: str | None, name: str | None) -> Contact:
    """The contact for `psid`, or for a persona name (`--as alice` -> Alice, a stable PSID)."""
    if psid is None and name is None:
        raise ActionError("give psid or as")
    pid = psid or psid_for(name or "")
    first = (name or "").strip().title()
    return state.ensure_contact(page.page_id, pid, first, "Example" if first else "")


def _opened(state: SimState, contact: Contact) -> datetime:
    """A qualifying contact action: (re)opens the 24 h window at the simulated now."""
    with state.lock:
        now = state.clock.now()
        contact.last_message_at = now
        return now


def say(
    state: SimState,
    page: Page,
    contact: Contact,
    text: str,
    quick_reply: str | None = None,
    ref: str | None = None,
    source: str | None = None,
    *,
    from_ad: bool = False,
) -> Played:
    """The person types `text`; an m.me `ref`/`source` arrives first as its own referral.

    With `from_ad` the message is the first one after a click-to-Messenger ad: it
    carries the ad's referral inside `message` (samples/wh_message_with_ads_referral)
    and starts the ad's 7-day window where the Page turned it on (policy.md §1a).
    """
    played = Played(contact.psid)
    if from_ad:
        with state.lock:
            now = _opened(state, contact)
            contact.ad_message_at = now
        info = ad_referral(page, ref)
        played.statuses.append(
            post_event(page, "message", contact.psid, now, text=text, referral=info)
        )
        return played
    if ref is not None or source is not None:
        now = _opened(state, contact)
        played.statuses.append(
            post_event(page, "referral", contact.psid, now, ref=ref, source=source)
        )
    if not text and played.statuses:
        return played  # `say "" --ref x`: only open the chat from the link, type nothing
    now = _opened(state, contact)
    played.statuses.append(
        post_event(page, "message", contact.psid, now, text=text, quick_reply=quick_reply)
    )
    return played


def referral(
    state: SimState, page: Page, contact: Contact, ref: str | None, source: str | None
) -> Played:
    now = _opened(state, contact)
    return Played(
        contact.psid, [post_event(page, "referral", contact.psid, now, ref=ref, source=source)]
    )


def postback(
    state: SimState,
    page: Page,
    contact: Contact,
    title: str,
    payload: str,
    ref: str | None = None,
    source: str | None = None,
) -> Played:
    info = referral_info(ref, source) if ref is not None or source is not None else None
    now = _opened(state, contact)
    status = post_event(
        page, "postback", contact.psid, now, title=title, payload=payload, referral=info
    )
    return Played(contact.psid, [status])


def tap(state: SimState, page: Page, contact: Contact, title: str, payload: str | None) -> Played:
    """Tap a quick reply or a postback button of the bot's latest message, by its title."""
    if payload is not None:
        return say(state, page, contact, title, quick_reply=payload)
    for sent in reversed(state.sends_to(contact.psid)):
        message = sent["request"].get("message") or {}
        for reply in message.get("quick_replies") or []:
            if isinstance(reply, dict) and reply.get("title", "").lower() == title.lower():
                return say(state, page, contact, reply["title"], quick_reply=reply.get("payload"))
        for button in _postback_buttons(message, sent.get("shown")):
            if button.get("title", "").lower() == title.lower():
                return postback(state, page, contact, button["title"], button.get("payload", ""))
        if message:
            break  # only the latest message's choices are on screen
    raise ActionError(
        f"no quick reply or postback button titled {title!r} in the last message", 404
    )


def _postback_buttons(
    message: dict[str, Any], shown: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Postback buttons on screen: the message's own, or a utility template's (`shown`)."""
    payload = (message.get("attachment") or {}).get("payload") or {}
    buttons = list(payload.get("buttons") or [])
    for element in payload.get("elements") or []:
        buttons.extend(element.get("buttons") or [])
    found = [b for b in buttons if isinstance(b, dict) and b.get("type") == "postback"]
    for button in (shown or {}).get("buttons") or []:
        if button.get("type") == "POSTBACK":  # template buttons say `text`, not `title`
            found.append({"title": button.get("text", ""), "payload": button.get("payload", "")})
    return found


def comment(
    state: SimState,
    page: Page,
    *,
    text: str,
    post_id: str | None,
    from_id: str | None,
    from_name: str | None,
    from_page: bool = False,
    created: datetime | None = None,
) -> Played:
    """A comment on a Page post: opens one private-reply slot, not the 24 h window."""
    if from_page:
        from_id, from_name = page.page_id, page.name
    if from_id is None:
        from_id = psid_for(from_name or "alice")
    name = from_name or "Alice Example"
    post = post_id or f"{page.page_id}_778899001122334"
    comment_id = f"{post.rsplit('_', 1)[-1]}_{secrets.randbelow(10**15) + 10**15}"
    with state.lock:
        at = created or state.clock.now()
        state.comments[comment_id] = Comment(
            comment_id, page.page_id, post, from_id, name, text, at, by_page=from_page
        )
    status = post_event(
        page, "comment", from_id, at, post_id=post, comment_id=comment_id, text=text, from_name=name
    )
    return Played(from_id, [status], {"comment_id": comment_id, "post_id": post})


def optin(
    state: SimState,
    page: Page,
    contact: Contact,
    topic: str,
    token: str | None,
    status: str | None,
) -> Played:
    """Marketing-message opt-in (or STOP/RESUME); does not open the window (policy.md §3)."""
    token = token or str(secrets.randbelow(9 * 10**18) + 10**18)
    wire_status = {"STOP": "STOP NOTIFICATIONS", "RESUME": "RESUME NOTIFICATIONS"}.get(
        (status or "").upper()
    )
    with state.lock:
        found = state.tokens.get(token)
        if found is None:
            found = NotificationToken(token, page.page_id, contact.psid, topic)
            state.tokens[token] = found
        if wire_status is not None:
            found.stopped = wire_status.startswith("STOP")
        now = state.clock.now()
    code = post_event(
        page, "optin", contact.psid, now, topic=topic, token=token, status=wire_status
    )
    return Played(contact.psid, [code], {"token": token})


def deliver(state: SimState, page: Page, contact: Contact) -> Played:
    """`message_deliveries` for every accepted send not yet reported delivered."""
    with state.lock:
        mids = [
            e["message_id"]
            for e in state.sends_to(contact.psid)
            if e.get("message_id") and e["message_id"] not in contact.delivered_mids
        ]
        contact.delivered_mids.extend(mids)
        now = state.clock.now()
    return Played(
        contact.psid, [post_event(page, "delivery", contact.psid, now, mids=mids)], {"mids": mids}
    )


def read(state: SimState, page: Page, contact: Contact) -> Played:
    with state.lock:
        now = state.clock.now()
    return Played(contact.psid, [post_event(page, "read", contact.psid, now)])


def inbox_reply(state: SimState, page: Page, contact: Contact, text: str) -> Played:
    """A person types `text` in the Page inbox: the contact gets it, the inbox takes control
    of the thread (send-api.md §5: replying from the inbox takes it automatically) and our
    webhook gets the echo with the inbox's app id."""
    mid = new_mid()
    with state.lock:
        now = state.clock.now()
        previous, contact.owner_app_id = contact.owner_app_id, PAGE_INBOX_APP_ID
        state.handovers.append(
            {"action": "inbox_reply", "page_id": page.page_id, "psid": contact.psid,
             "previous_owner_app_id": previous, "new_owner_app_id": PAGE_INBOX_APP_ID,
             "text": text, "mid": mid, "at": now.isoformat()}
        )  # fmt: skip
    body = echo_body(page, contact.psid, now, mid=mid, app_id=PAGE_INBOX_APP_ID, text=text)
    return Played(contact.psid, [post_body(page, body)], {"mid": mid})


def set_owner(
    state: SimState, page: Page, contact: Contact, owner: str | None, notify: bool
) -> Played:
    """Another app takes (or passes back) the thread; optionally tell our webhook."""
    with state.lock:
        previous, contact.owner_app_id = contact.owner_app_id, owner
        now = state.clock.now()
        state.handovers.append(
            {"action": "sim", "page_id": page.page_id, "psid": contact.psid,
             "previous_owner_app_id": previous, "new_owner_app_id": owner, "at": now.isoformat()}
        )  # fmt: skip
    played = Played(contact.psid)
    if notify:
        kind = "pass_thread_control" if owner == page.app_id else "take_thread_control"
        played.statuses.append(
            post_event(page, kind, contact.psid, now, previous_owner_app_id=previous,
                       new_owner_app_id=owner, metadata="")
        )  # fmt: skip
    return played
