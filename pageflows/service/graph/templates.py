"""A Page's message templates as Facebook lists them (`GET /{page-id}/message_templates`).

Each listed template becomes the `TemplateInfo` the rules read: the body is the
BODY component's text, its parameters the highest `{{n}}` in it, its buttons
the types in the BUTTONS component, upper case (QUICK_REPLY included, so the
checker can say Facebook refuses it in a utility template). Facebook's id and
components are kept beside it, as stored by `pageflows templates sync`. An item
without a name, language or status cannot be stored or matched: it is counted,
never guessed at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pageflows.rules.page_facts import TemplateInfo, count_placeholders

FIELDS = "id,name,language,status,category,components"
PAGE_SIZE = 100
MAX_PAGES = 100  # 10,000 templates: far beyond what a Page has; a loop ends here


@dataclass(frozen=True)
class ListedTemplate:
    info: TemplateInfo
    template_id: str | None
    components: str  # Facebook's components, as JSON text


@dataclass(frozen=True)
class TemplateList:
    templates: tuple[ListedTemplate, ...]
    unreadable: int = 0  # items left out: no name, language or status


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def read_template(item: object) -> ListedTemplate | None:
    """One item of the list's `data`, or None when it lacks what a template is known by."""
    if not isinstance(item, dict):
        return None
    name, language, status = (_text(item.get(k)) for k in ("name", "language", "status"))
    if name is None or language is None or status is None:
        return None
    components = item.get("components")
    parts = [c for c in components if isinstance(c, dict)] if isinstance(components, list) else []
    body = next((c.get("text") for c in parts if _kind(c) == "BODY"), None)
    body = body if isinstance(body, str) else ""
    buttons = tuple(
        str(button["type"]).strip().upper()
        for part in parts
        if _kind(part) == "BUTTONS" and isinstance(part.get("buttons"), list)
        for button in part["buttons"]
        if isinstance(button, dict) and _text(button.get("type"))
    )
    template_id = item.get("id")
    return ListedTemplate(
        info=TemplateInfo(
            name=name,
            language=language,
            status=status.upper(),
            category=(_text(item.get("category")) or "UTILITY").upper(),
            body=body,
            parameters=count_placeholders(body),
            buttons=buttons,
        ),
        template_id=str(template_id) if isinstance(template_id, str | int) else None,
        components=json.dumps(parts, ensure_ascii=False, separators=(",", ":")),
    )


def _kind(component: dict[str, Any]) -> str:
    kind = component.get("type")
    return kind.upper() if isinstance(kind, str) else ""


def next_cursor(body: dict[str, Any]) -> str | None:
    """The `after` cursor of the next page, or None on the last one (no `paging.next`).

    The cursor, not the `next` URL, is followed: the request stays on the configured
    Graph URL and carries the token once. A `next` without `cursors.after` gives its
    `after` query parameter.
    """
    paging = body.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = _text(cursors.get("after")) if isinstance(cursors, dict) else None
    if after is None and isinstance(paging["next"], str):
        after = _text((parse_qs(urlsplit(paging["next"]).query).get("after") or [""])[0])
    return after
