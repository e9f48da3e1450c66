"""What a contact can tap: the choices on their Messenger screen, newest first.

Quick replies belong to the latest message only (Messenger hides them once another
message arrives); postback buttons stay on the recent messages; "Get messages"
stays under an opt-in request until it is tapped (optins.py). `tap` plays one of
these and nothing else, and a wrong title is answered with this list, so a demo
or a test never taps a choice the person could not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pageflows.simulator import optins
from pageflows.simulator.state import Contact, Page, SimState

RECENT = 10  # the messages whose buttons count as still on screen
GET_MESSAGES = "Get messages"


@dataclass(frozen=True)
class Choice:
    kind: str  # "quick" | "postback" | "optin"
    title: str
    payload: str  # the quick reply's or button's payload; the request's title for "optin"

    def label(self) -> str:
        if self.kind == "optin":
            return f'"{self.title}" (under the opt-in request "{self.payload}")'
        return f'"{self.title}"'


def choices(state: SimState, page: Page, contact: Contact) -> list[Choice]:
    """Everything tappable now, newest first, one choice per title (the newest wins)."""
    with state.lock:
        shown = [
            e
            for e in state.sends_to(contact.psid)
            if e.get("page_id") == page.page_id and e["request"].get("message") is not None
        ][-RECENT:]
    found: list[Choice] = []
    for age, sent in enumerate(reversed(shown)):
        message = sent["request"]["message"]
        if age == 0:
            for reply in message.get("quick_replies") or []:
                if isinstance(reply, dict) and reply.get("title"):
                    found.append(Choice("quick", str(reply["title"]), str(reply.get("payload"))))
        for button in postback_buttons(message, sent.get("shown")):
            found.append(Choice("postback", str(button["title"]), str(button["payload"])))
    requests = optins.requests_shown(state, page, contact)
    if requests:
        found.append(Choice("optin", GET_MESSAGES, requests[-1].title))
    unique: dict[str, Choice] = {}
    for choice in found:
        unique.setdefault(choice.title.casefold(), choice)
    return list(unique.values())


def pick(state: SimState, page: Page, contact: Contact, title: str) -> Choice | str:
    """The choice titled `title` (any case), or a sentence naming what can be tapped."""
    offered = choices(state, page, contact)
    wanted = title.strip().casefold()
    for choice in offered:
        if choice.title.casefold() == wanted:
            return choice
    if not offered:
        return (
            f'nothing titled "{title}" to tap: the bot\'s last message has no quick replies'
            " and its recent messages no buttons"
        )
    listed = ", ".join(c.label() for c in offered)
    return f'no quick reply or button titled "{title}" on screen; you can tap: {listed}'


def postback_buttons(
    message: dict[str, Any], shown: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Postback buttons of one message: its own, or a utility template's (`shown`)."""
    payload = (message.get("attachment") or {}).get("payload") or {}
    buttons = list(payload.get("buttons") or [])
    for element in payload.get("elements") or []:
        buttons.extend(element.get("buttons") or [])
    found = [
        {"title": b.get("title", ""), "payload": b.get("payload", "")}
        for b in buttons
        if isinstance(b, dict) and b.get("type") == "postback" and b.get("title")
    ]
    for button in (shown or {}).get("buttons") or []:
        if button.get("type") == "POSTBACK":  # template buttons say `text`, not `title`
            found.append({"title": button.get("text", ""), "payload": button.get("payload", "")})
    return found
