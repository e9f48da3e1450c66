"""What the inbox columns hold, and an event made into an inbox row that fits them.

The limits are read from the models, so the webhook and the schema never
disagree. SQLite ignores a VARCHAR length and PostgreSQL enforces it, so
checking here is what makes both databases answer the same.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import ColumnElement

from pageflows.engine.inbound import InboxEvent
from pageflows.service.storage.inbox import JsonText
from pageflows.service.storage.models import CommentReply, MessageTemplate
from pageflows.service.storage.models import InboxEvent as InboxRow


def _length(column: ColumnElement[Any]) -> int:
    length = getattr(column.type, "length", None)
    assert isinstance(length, int), column
    return length


PAGE_ID_MAX = _length(InboxRow.__table__.c.page_id)
# contact_id becomes contacts.psid and outbox.contact_id, of the same length.
CONTACT_ID_MAX = _length(InboxRow.__table__.c.contact_id)
COMMENT_ID_MAX = _length(CommentReply.__table__.c.comment_id)
DEDUP_KEY_MAX = _length(InboxRow.__table__.c.dedup_key)
# A template status webhook becomes a message_templates row (service/storage/templates.py).
TEMPLATE_NAME_MAX = _length(MessageTemplate.__table__.c.name)
TEMPLATE_LANGUAGE_MAX = _length(MessageTemplate.__table__.c.language)
TEMPLATE_STATUS_MAX = _length(MessageTemplate.__table__.c.status)
TEMPLATE_ID_MAX = _length(MessageTemplate.__table__.c.template_id)
_HASHED = "sha256:"


def fit_key(key: str) -> str:
    """`key`, or when longer than the column, its start and the SHA-256 of all of it.

    Keys carry what Facebook sent (a `mid`, a comment id), which has no length
    limit; the hash keeps two long keys that share a start apart, and the same
    redelivered key equal.
    """
    if len(key) <= DEDUP_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    keep = DEDUP_KEY_MAX - len(_HASHED) - len(digest) - 1
    return f"{key[:keep]}|{_HASHED}{digest}"


def inbox_row(event: InboxEvent) -> dict[str, Any]:
    """The inbox columns for one parsed event (ids were checked against their columns in parse)."""
    return {
        "page_id": event.page_id,
        "contact_id": event.contact_id,
        "kind": event.kind,
        "dedup_key": fit_key(event.dedup_key),
        "occurred_at": event.timestamp,
        "payload": JsonText(event.model_dump_json()),
    }
