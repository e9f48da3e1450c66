"""Model nodes -> Send API message objects, with templates filled in.

Templates resolve only documented names (`contact.first_name`,
`contact.last_name`, `contact.<field>`, `ref`), looked up in plain dicts:
a template can never reach a Python attribute. An unknown or empty value
renders as its fallback, or as nothing.
"""

from __future__ import annotations

from typing import Any

from pageflows.engine.contact import ContactState
from pageflows.rules import model as m
from pageflows.rules.page_facts import TemplateInfo

PAYLOAD_PREFIX = "pf1|"
TITLE_MAX = 20  # quick reply and button titles (send-api.md §1): Facebook refuses longer
ELLIPSIS = "\u2026"
TOPIC_PREFIX = "pf-topic:"


def template_values(contact: ContactState) -> dict[str, str]:
    values = {f"contact.{k}": v for k, v in contact.fields.items()}
    if contact.first_name:
        values["contact.first_name"] = contact.first_name
    if contact.last_name:
        values["contact.last_name"] = contact.last_name
    if contact.ref:
        values["ref"] = contact.ref
    return values


def fill(text: m.Text, values: dict[str, str]) -> str:
    out = []
    for part in text.parts:
        if isinstance(part, m.Literal_):
            out.append(part.text)
        else:
            value = values.get(part.name, "").strip()
            out.append(value or (part.fallback or ""))
    return "".join(out)


def payload(root: str, path: tuple[int | str, ...]) -> str:
    """A postback or quick-reply payload naming the node to run when tapped."""
    return PAYLOAD_PREFIX + root + "|" + ".".join(str(p) for p in path)


def parse_payload(value: str) -> tuple[str, tuple[int | str, ...]] | None:
    if not value.startswith(PAYLOAD_PREFIX):
        return None
    try:
        root, path_text = value[len(PAYLOAD_PREFIX) :].rsplit("|", 1)
    except ValueError:
        return None
    path = tuple(int(p) if p.isdigit() else p for p in path_text.split(".") if p)
    return (root, path) if path else None


def button_json(
    button: m.Button,
    root: str,
    path: tuple[int | str, ...],
    values: dict[str, str] | None = None,
) -> dict[str, Any]:
    title = title_of(button, values or {})
    if isinstance(button, m.UrlButton):
        return {"type": "web_url", "url": button.url, "title": title}
    if isinstance(button, m.CallButton):
        return {"type": "phone_number", "title": title, "payload": button.phone}
    return {"type": "postback", "title": title, "payload": payload(root, path)}


def text_message(
    text: str,
    quick: tuple[m.QuickReply, ...],
    root: str,
    path: tuple[int | str, ...],
    values: dict[str, str] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"text": text}
    if quick:
        message["quick_replies"] = [
            {
                "content_type": "text",
                "title": title_of(q, values or {}),
                "payload": payload(root, (*path, "quick", i)),
            }
            for i, q in enumerate(quick)
        ]
    return message


def buttons_message(
    action: m.SendButtons, values: dict[str, str], root: str, path: tuple[int | str, ...]
) -> dict[str, Any]:
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": fill(action.text, values),
                "buttons": [
                    button_json(b, root, (*path, "button", i), values)
                    for i, b in enumerate(action.buttons)
                ],
            },
        }
    }


def cards_message(
    action: m.SendCards, values: dict[str, str], root: str, path: tuple[int | str, ...]
) -> dict[str, Any]:
    elements = []
    for c, card in enumerate(action.cards):
        element: dict[str, Any] = {"title": fill(card.title, values)}
        if card.subtitle:
            element["subtitle"] = fill(card.subtitle, values)
        if card.image:
            element["image_url"] = card.image
        if card.link:
            element["default_action"] = {"type": "web_url", "url": card.link}
        if card.buttons:
            element["buttons"] = [
                button_json(b, root, (*path, "card", c, "button", i), values)
                for i, b in enumerate(card.buttons)
            ]
        elements.append(element)
    return {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "generic", "elements": elements},
        }
    }


def media_message(action: m.SendMedia) -> dict[str, Any]:
    return {"attachment": {"type": action.media, "payload": {"url": action.url}}}


def optin_message(action: m.RequestNotifications, with_frequency: bool = True) -> dict[str, Any]:
    """The opt-in request; the frequency is sent only while Facebook still used it (legacy)."""
    payload: dict[str, Any] = {
        "template_type": "notification_messages",
        "title": action.title,
        "payload": TOPIC_PREFIX + action.topic,
    }
    if with_frequency:
        payload["notification_messages_frequency"] = action.frequency.upper()
    return {"attachment": {"type": "template", "payload": payload}}


def template_message(name: str, language: str, parameters: tuple[str, ...]) -> dict[str, Any]:
    """A utility template in the Send API's shape (policy.md §2a), parameters in order."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        body = [{"type": "text", "text": value} for value in parameters]
        template["components"] = [{"type": "body", "parameters": body}]
    else:
        template["components"] = []
    return {"template": template}


def template_preview(message: dict[str, Any], info: TemplateInfo | None) -> str:
    """What the contact reads: the template's body filled in, when the Page's copy is known."""
    template = message["template"]
    values = tuple(
        str(p.get("text", ""))
        for component in template.get("components", [])
        for p in component.get("parameters", [])
    )
    if info is not None and info.body:
        return f"<template {template['name']}> {info.fill(values)}"
    shown = ", ".join(values)
    return f"<template {template['name']}{': ' + shown if shown else ''}>"


def preview(message: dict[str, Any]) -> str:
    """One human line for a message, as the chat simulator shows it."""
    if "template" in message:
        return template_preview(message, None)
    if "text" in message:
        line = message["text"]
        quick = message.get("quick_replies")
        if quick:
            line += "  " + " ".join(f"[{q['title']}]" for q in quick)
        return str(line)
    attachment = message.get("attachment", {})
    body = attachment.get("payload", {})
    kind = attachment.get("type")
    if kind != "template":
        return f"({kind}) {body.get('url', '')}"
    template = body.get("template_type")
    if template == "button":
        buttons = " ".join(f"[{b['title']}]" for b in body["buttons"])
        return f"{body['text']}  {buttons}"
    if template == "generic":
        cards = []
        for element in body["elements"]:
            buttons = " ".join(f"[{b['title']}]" for b in element.get("buttons", []))
            cards.append(f"<card {element['title']}{' ' + buttons if buttons else ''}>")
        return " ".join(cards)
    if template == "notification_messages":
        return f"<opt-in: {body['title']}> [Get messages]"
    return f"<{template}>"


def title_of(item: m.QuickReply | m.Button, values: dict[str, str]) -> str:
    """A quick reply's or button's title as the contact sees it: filled in, then fitted.

    issue 12: B. Facebook refuses a title over 20 characters (error 100), and with
    it the whole message; a template in a title (`{contact.first_name}'s table`)
    can only be measured once filled in. So a long title is cut to 19 characters
    and an ellipsis: the message still goes, and the checker warns (PF414) where a
    value leaves little room. A title that fills in blank (the checker refuses one
    that can, PF123; a value of spaces still could) is an ellipsis, since Facebook
    refuses an empty one.
    """
    title = fill(item.title_text, values) if item.title_text is not None else item.title
    if not title.strip():
        return ELLIPSIS
    return fit_title(title)


def fit_title(title: str, limit: int = TITLE_MAX) -> str:
    """At most ``limit`` characters: a longer title ends in an ellipsis."""
    if len(title) <= limit:
        return title
    return title[: limit - 1].rstrip() + ELLIPSIS


def ask_message(
    text: str, choices: tuple[m.AskChoice, ...], root: str, path: tuple[int | str, ...]
) -> dict[str, Any]:
    """A question, with its answers to tap as quick replies (issue 12): a tap's payload
    names the answer, and its title is the text the question reads."""
    message: dict[str, Any] = {"text": text}
    if choices:
        message["quick_replies"] = [
            {
                "content_type": "text",
                "title": c.title,
                "payload": payload(root, (*path, "quick", i)),
            }
            for i, c in enumerate(choices)
        ]
    return message
