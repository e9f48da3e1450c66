"""One name for how a broadcast message goes, the same for a preview and for a report.

The preview reads it from the core's decision, the report from the stored outbox
row (its messaging type, tag and the rule that let it go, `because`, stored as
`rationale`); both pass through `mode_label`, so "what would go" and "what went"
are counted under the same words and a test can compare them. Reading the
rationale, not the request body, keeps a report over 100,000 rows cheap.
"""

from __future__ import annotations

import re

_TOPIC = re.compile(r'^notification token "([^"]*)"')
_TEMPLATE = re.compile(r"^UTILITY template (\S+)")


def mode_label(messaging_type: str | None, tag: str | None, because: str | None) -> str:
    """RESPONSE, UPDATE, MESSAGE_TAG <tag>, UTILITY template <name>, notification token <topic>."""
    because = because or ""
    if because.startswith("notification token"):
        topic = _TOPIC.match(because)
        return f"notification token {topic.group(1)}" if topic else "notification token"
    if tag:
        return f"MESSAGE_TAG {tag}"
    template = _TEMPLATE.match(because)
    if template:
        return f"UTILITY template {template.group(1)}"
    return messaging_type or "RESPONSE"
