"""One name for how a broadcast message goes, the same for a preview and for a report.

The preview reads it from the core's decision, the report from the stored outbox
row; both pass through `mode_label`, so "what would go" and "what went" are
counted under the same words and a test can compare them.
"""

from __future__ import annotations

import re
from typing import Any

_TOPIC = re.compile(r'notification token "([^"]*)"')


def mode_label(
    messaging_type: str | None, tag: str | None, body: dict[str, Any], because: str | None
) -> str:
    """RESPONSE, UPDATE, MESSAGE_TAG <tag>, UTILITY template <name>, notification token <topic>."""
    recipient = body.get("recipient") or {}
    if isinstance(recipient, dict) and recipient.get("notification_messages_token"):
        found = _TOPIC.search(because or "")
        return f"notification token {found.group(1)}" if found else "notification token"
    if tag:
        return f"MESSAGE_TAG {tag}"
    message = body.get("message") or {}
    template = message.get("template") if isinstance(message, dict) else None
    if isinstance(template, dict):
        return f"UTILITY template {template.get('name', '')}".rstrip()
    return messaging_type or "RESPONSE"
