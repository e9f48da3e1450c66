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

from pageflows.simulator import optins, screen
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
    """Tap a choice on the contact's screen by its title: a quick reply of the latest
    message, a postback button of a recent one, or "Get messages" under an opt-in request
    (screen.py). A title not on screen is refused with what is."""
    if payload is not None:
        return say(state, page, contact, title, quick_reply=payload)
    choice = screen.pick(state, page, contact, title)
    if isinstance(choice, str):
        raise ActionError(choice, 404)
    if choice.kind == "quick":
        return say(state, page, contact, choice.title, quick_reply=choice.payload)
    if choice.kind == "optin":
        return optin(state, page, contact, choice.payload, None, None)
    return postback(state, page, contact, choice.title, choice.payload)


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
    via: str = "request",
) -> Played:
    """Tap "Get messages" on an opt-in request on screen (or arrive through an m.me/rn link
    with `via="link"`), or STOP/RESUME a token the contact holds; does not open the window
    (policy.md §3). Without a request on screen there is nothing to tap: ActionError, 409."""
    wire_status = {"STOP": "STOP NOTIFICATIONS", "RESUME": "RESUME NOTIFICATIONS"}.get(
        (status or "").upper()
    )
    try:
        if wire_status is not None:
            found = optins.token_for(state, page, contact, topic, token)
            with state.lock:
                found.stopped = wire_status.startswith("STOP")
        elif via == "link":
            found = _new_token(state, page, contact, token, topic, "", from_link=True)
        else:
            request = optins.take_request(state, page, contact, topic)
            found = _new_token(state, page, contact, token, request.title, request.payload)
    except optins.NotOnScreen as refused:
        raise ActionError(str(refused), 409) from None
    with state.lock:
        now = state.clock.now()
    code = post_event(
        page, "optin", contact.psid, now, topic=found.topic, token=found.token,
        status=wire_status, payload=found.payload, from_link=found.from_link,
    )  # fmt: skip
    return Played(contact.psid, [code], {"token": found.token, "title": found.topic, "via": via})


def _new_token(
    state: SimState,
    page: Page,
    contact: Contact,
    token: str | None,
    title: str,
    payload: str,
    *,
    from_link: bool = False,
) -> NotificationToken:
    token = token or str(secrets.randbelow(9 * 10**18) + 10**18)
    found = NotificationToken(
        token, page.page_id, contact.psid, title, payload=payload, from_link=from_link
    )
    with state.lock:
        state.tokens[token] = found
    return found


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
