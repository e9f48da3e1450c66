"""`message_template_status_update` changes: a Page's template approved, paused, rejected...

Facebook sends, in an entry's `changes[]`:
`{"field": "message_template_status_update", "value": {"event": "APPROVED",
"message_template_id": 123, "message_template_name": "order_shipped",
"message_template_language": "en_US", "reason": "NONE"}}` (older documents spell the
field `messenger_template_status_update`). A value that lacks what the status is
stored by (the event, the template's name and language), or holds it in a form
or length the `message_templates` columns cannot take, is not refused: it is kept
as an `unknown` event, raw, like other changes we cannot use, so the rest of the
batch is stored and Facebook gets its 200.
"""

from __future__ import annotations

from datetime import datetime

from pageflows.engine.inbound import TemplateStatusEvent
from pageflows.webhook.fit import (
    TEMPLATE_ID_MAX,
    TEMPLATE_LANGUAGE_MAX,
    TEMPLATE_NAME_MAX,
    TEMPLATE_STATUS_MAX,
)
from pageflows.webhook.parse_kinds import ID_FORM, is_int

TEMPLATE_FIELDS = ("message_template_status_update", "messenger_template_status_update")
REASON_MAX = 1000


def _text(value: object, longest: int) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > longest:
        return None
    return value.strip()


def _template_id(value: object) -> str | None:
    """Facebook's id of the template: a number in its examples, maybe a string."""
    text = str(value) if is_int(value) else value if isinstance(value, str) else None
    if text is None or len(text) > TEMPLATE_ID_MAX or not ID_FORM.fullmatch(text):
        return None
    return text


def template_status(
    value: object, page_id: str, timestamp: datetime | None
) -> TemplateStatusEvent | None:
    """The change's value as a typed event, or None when it cannot be stored as a status."""
    if not isinstance(value, dict):
        return None
    event = _text(value.get("event"), TEMPLATE_STATUS_MAX)
    name = _text(value.get("message_template_name"), TEMPLATE_NAME_MAX)
    language = _text(value.get("message_template_language"), TEMPLATE_LANGUAGE_MAX)
    raw_id = value.get("message_template_id")
    template_id = None if raw_id is None else _template_id(raw_id)
    if event is None or name is None or language is None:
        return None
    if raw_id is not None and template_id is None:  # an id we cannot store: not a guess
        return None
    reason = value.get("reason")
    return TemplateStatusEvent(
        page_id=page_id,
        timestamp=timestamp,
        event=event.upper(),
        name=name,
        language=language,
        template_id=template_id,
        reason=reason[:REASON_MAX] if isinstance(reason, str) else None,
    )
