"""Message-shape limits of the Send API (send-api.md), refused with error 100.

These are checked here, independently of pageflows.rules' own limit checks, so
a flow the checker wrongly accepts fails against the simulator as it would
against Facebook. Wording follows Facebook's "Length of param ..." style.
"""

from __future__ import annotations

from typing import Any

from pageflows.simulator.errors import GraphError, invalid_param

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_QR_TITLE = 20
MAX_PAYLOAD = 1000
MAX_BUTTON_TEXT = 640
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ELEMENTS = 10
MAX_ELEMENT_TITLE = 80
MAX_METADATA = 1000
QR_TYPES = ("text", "user_phone_number", "user_email")
ATTACHMENT_TYPES = ("image", "audio", "video", "file", "template")


def _too_long(param: str, value: Any, limit: int) -> GraphError | None:
    if isinstance(value, str) and len(value) > limit:
        return invalid_param(f"Length of param {param} must be less than or equal to {limit}")
    return None


def _check(*errors: GraphError | None) -> None:
    for error in errors:
        if error is not None:
            raise error


def validate_message(message: Any, metadata: Any = None) -> None:
    """Raise the GraphError Facebook would answer for a malformed `message`."""
    if not isinstance(message, dict):
        raise invalid_param("param message must be a JSON object")
    _check(_too_long("metadata", metadata, MAX_METADATA))
    text, attachment = message.get("text"), message.get("attachment")
    if text is not None and attachment is not None:
        raise invalid_param("Only one of text or attachment may be sent in message")
    if text is None and attachment is None and "sticker_id" not in message:
        raise invalid_param("Message cannot be empty, must provide valid attachment or text")
    if text is not None:
        if not isinstance(text, str) or not text:
            raise invalid_param("param message[text] must be a non-empty UTF-8 encoded string")
        _check(_too_long("message[text]", text, MAX_TEXT))
    if attachment is not None:
        _validate_attachment(attachment)
    if "quick_replies" in message:
        _validate_quick_replies(message["quick_replies"])


def _validate_quick_replies(replies: Any) -> None:
    if not isinstance(replies, list) or not replies:
        raise invalid_param("param message[quick_replies] must be a non-empty array")
    if len(replies) > MAX_QUICK_REPLIES:
        raise invalid_param(
            f"param message[quick_replies] must have at most {MAX_QUICK_REPLIES} items"
        )
    for i, reply in enumerate(replies):
        where = f"message[quick_replies][{i}]"
        if not isinstance(reply, dict):
            raise invalid_param(f"param {where} must be a JSON object")
        kind = reply.get("content_type", "text")
        if kind == "location":
            raise invalid_param(
                "Location Quick Reply is now deprecated on API 4.0. "
                "Please refer to our Developer Documentation for more info."
            )
        if kind not in QR_TYPES:
            raise invalid_param(
                f"param {where}[content_type] must be one of {{{', '.join(QR_TYPES)}}}"
            )
        if kind == "text":
            if not reply.get("title") and not reply.get("image_url"):
                raise invalid_param(f"param {where}[title] must be non-empty")
            if not reply.get("payload"):
                raise invalid_param(f"param {where}[payload] must be non-empty")
        _check(
            _too_long(f"{where}[title]", reply.get("title"), MAX_QR_TITLE),
            _too_long(f"{where}[payload]", reply.get("payload"), MAX_PAYLOAD),
        )


def _validate_attachment(attachment: Any) -> None:
    if not isinstance(attachment, dict) or attachment.get("type") not in ATTACHMENT_TYPES:
        raise invalid_param(
            f"param message[attachment][type] must be one of {{{', '.join(ATTACHMENT_TYPES)}}}"
        )
    payload = attachment.get("payload")
    if not isinstance(payload, dict):
        raise invalid_param("param message[attachment][payload] must be a JSON object")
    if attachment["type"] != "template":
        if not payload.get("url") and not payload.get("attachment_id"):
            raise invalid_param("param message[attachment][payload] must have url or attachment_id")
        return
    kind = payload.get("template_type")
    where = "message[attachment][payload]"
    if kind == "utility":  # the WhatsApp-style wrapper; Messenger wants message.template (§2a)
        raise invalid_param("Invalid template type")
    if kind == "button":
        text = payload.get("text")
        if not isinstance(text, str) or not text:
            raise invalid_param(f"param {where}[text] must be non-empty")
        _check(_too_long(f"{where}[text]", text, MAX_BUTTON_TEXT))
        _validate_buttons(payload.get("buttons"), f"{where}[buttons]", minimum=1)
    elif kind == "generic":
        elements = payload.get("elements")
        if not isinstance(elements, list) or not elements:
            raise invalid_param(f"param {where}[elements] must be a non-empty array")
        if len(elements) > MAX_ELEMENTS:
            raise invalid_param(f"param {where}[elements] must have at most {MAX_ELEMENTS} items")
        for i, element in enumerate(elements):
            at = f"{where}[elements][{i}]"
            if not isinstance(element, dict) or not element.get("title"):
                raise invalid_param(f"param {at}[title] must be non-empty")
            _check(
                _too_long(f"{at}[title]", element.get("title"), MAX_ELEMENT_TITLE),
                _too_long(f"{at}[subtitle]", element.get("subtitle"), MAX_ELEMENT_TITLE),
            )
            if "buttons" in element:
                _validate_buttons(element["buttons"], f"{at}[buttons]", minimum=0)


def _validate_buttons(buttons: Any, where: str, minimum: int) -> None:
    if not isinstance(buttons, list) or len(buttons) < minimum:
        raise invalid_param(f"param {where} must be a non-empty array")
    if len(buttons) > MAX_BUTTONS:
        raise invalid_param(f"param {where} must have at most {MAX_BUTTONS} items")
    for i, button in enumerate(buttons):
        if not isinstance(button, dict) or not button.get("title"):
            raise invalid_param(f"param {where}[{i}][title] must be non-empty")
        _check(
            _too_long(f"{where}[{i}][title]", button.get("title"), MAX_BUTTON_TITLE),
            _too_long(f"{where}[{i}][payload]", button.get("payload"), MAX_PAYLOAD),
        )
        if button.get("type") == "postback" and not button.get("payload"):
            raise invalid_param(f"param {where}[{i}][payload] must be non-empty")
        if button.get("type") == "web_url" and not button.get("url"):
            raise invalid_param(f"param {where}[{i}][url] must be non-empty")
