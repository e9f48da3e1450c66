"""A Page's message templates: created, listed and re-rated like Facebook's (policy.md §2a).

`POST /{page-id}/message_templates` creates a utility template that Facebook
approves "within seconds", so here at once; `GET` lists them with cursor
paging; a status change (here only through the control API: Facebook's review
is not ours to play) is told to the Page's webhook on the field
`message_template_status_update`. Sending one is utility.py's job.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlencode

from pageflows.simulator import errors
from pageflows.simulator.contact import post_body, template_status_body
from pageflows.simulator.state import Page, SimState, Template

STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL")
BUTTON_TYPES = ("POSTBACK", "URL", "PHONE_NUMBER")  # policy.md §2a
COMPONENT_TYPES = ("HEADER", "BODY", "FOOTER", "BUTTONS")
DEFAULT_LIMIT = 25


def validate_components(components: Any) -> list[dict[str, Any]]:
    """Facebook's template components, or the GraphError for a malformed or refused one."""
    if not isinstance(components, list) or not components:
        raise errors.invalid_param("param components must be a non-empty array")
    bodies = 0
    for i, component in enumerate(components):
        if not isinstance(component, dict) or component.get("type") not in COMPONENT_TYPES:
            raise errors.invalid_param(
                f"param components[{i}][type] must be one of {{{', '.join(COMPONENT_TYPES)}}}"
            )
        kind = component["type"]
        if kind == "BODY":
            bodies += 1
            if not isinstance(component.get("text"), str) or not component["text"]:
                raise errors.invalid_param(f"param components[{i}][text] must be non-empty")
        if kind == "BUTTONS":
            _validate_buttons(component.get("buttons"), f"components[{i}][buttons]")
    if bodies != 1:
        raise errors.invalid_param("param components must have exactly one BODY")
    return components


def _validate_buttons(buttons: Any, where: str) -> None:
    if not isinstance(buttons, list) or not buttons:
        raise errors.invalid_param(f"param {where} must be a non-empty array")
    for i, button in enumerate(buttons):
        if not isinstance(button, dict):
            raise errors.invalid_param(f"param {where}[{i}] must be a JSON object")
        kind = button.get("type")
        if kind == "QUICK_REPLY":
            # Subcode 2018416 from policy.md §2a (community report); code 100 and wording ours.
            raise errors.invalid_param(
                "Quick reply buttons are not supported in utility templates", 2018416
            )
        if kind not in BUTTON_TYPES:
            raise errors.invalid_param(
                f"param {where}[{i}][type] must be one of {{{', '.join(BUTTON_TYPES)}}}"
            )
        needed = {"URL": "url", "PHONE_NUMBER": "phone_number"}.get(str(kind))
        for key in ("text", needed):
            if key is not None and (not isinstance(button.get(key), str) or not button[key]):
                raise errors.invalid_param(f"param {where}[{i}][{key}] must be non-empty")


def declare(
    state: SimState,
    page: Page,
    *,
    name: str,
    language: str,
    components: list[dict[str, Any]],
    status: str = "APPROVED",
    category: str = "UTILITY",
    template_id: str | None = None,
) -> Template:
    """Add a template to the Page as it stands (no review, no webhook); checks its shape."""
    if status not in STATUSES:
        raise errors.invalid_param(f"param status must be one of {{{', '.join(STATUSES)}}}")
    validate_components(components)
    with state.lock:
        if page.template(name, language) is not None:
            # Invented wording: Facebook's answer to a duplicate is not in the shared notes.
            raise errors.invalid_param(
                f"Message template {name!r} already exists in language {language}"
            )
        template = Template(
            template_id or state.new_template_id(), name, language, status, category, components
        )
        page.templates[template.template_id] = template
    return template


def create(state: SimState, page: Page, body: dict[str, Any]) -> Template:
    """`POST /{page-id}/message_templates`: approved at once, as Facebook does for utility."""
    fields = {}
    for key in ("name", "language", "category"):
        value = body.get(key)
        if not isinstance(value, str) or not value:
            raise errors.invalid_param(f"The parameter {key} is required")
        fields[key] = value
    if fields["category"] != "UTILITY":
        # Messenger's Page-owned templates are utility templates (policy.md §2a); wording ours.
        raise errors.invalid_param("param category must be UTILITY")
    return declare(
        state, page, name=fields["name"], language=fields["language"],
        components=validate_components(body.get("components")), category="UTILITY",
    )  # fmt: skip


def listing(
    state: SimState, page: Page, args: dict[str, str], base_url: str, token: str
) -> dict[str, Any]:
    """One page of `GET /{page-id}/message_templates` (`limit`, default 25; `after` cursor)."""
    try:
        limit = int(args.get("limit", DEFAULT_LIMIT))
    except ValueError:
        limit = 0
    if limit < 1:
        raise errors.invalid_param("param limit must be a positive integer")
    with state.lock:
        every = [t.as_json() for t in page.templates.values()]
    start = 0
    if "after" in args:
        start = _position(every, args["after"]) + 1
    chunk = every[start : start + limit]
    if not chunk:
        return {"data": []}
    paging: dict[str, Any] = {
        "cursors": {"before": _cursor(chunk[0]["id"]), "after": _cursor(chunk[-1]["id"])}
    }
    if start + limit < len(every):
        query = {"access_token": token, "limit": limit, "after": paging["cursors"]["after"]}
        paging["next"] = f"{base_url}?{urlencode(query)}"
    return {"data": chunk, "paging": paging}


def _cursor(template_id: str) -> str:
    return base64.urlsafe_b64encode(f"template:{template_id}".encode()).decode().rstrip("=")


def _position(every: list[dict[str, Any]], cursor: str) -> int:
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    ids = [t["id"] for t in every]
    found = decoded.removeprefix("template:")
    if not decoded.startswith("template:") or found not in ids:
        raise errors.invalid_param("param after is not a valid cursor")
    return ids.index(found)


def find(
    state: SimState,
    page: Page,
    template_id: str | None,
    name: str | None,
    language: str,
) -> Template:
    """A template by id, or by name and language; LookupError (404) when there is none."""
    with state.lock:
        if template_id is not None:
            found = page.templates.get(template_id)
        else:
            found = page.template(name or "", language)
    if found is None:
        wanted = template_id or f"{name} ({language})"
        raise LookupError(f"page {page.page_id} has no template {wanted}")
    return found


def set_status(
    state: SimState, page: Page, template: Template, status: str, reason: str = "NONE"
) -> dict[str, Any]:
    """Change the status and say so on the webhook, as Facebook's review does."""
    if status not in STATUSES:
        raise errors.invalid_param(f"param status must be one of {{{', '.join(STATUSES)}}}")
    with state.lock:
        template.status = status
    return notify(state, page, template, reason)


def notify(state: SimState, page: Page, template: Template, reason: str = "NONE") -> dict[str, Any]:
    """POST the status webhook; record it (with its HTTP status) in `state.template_events`.

    Raises WebhookDeliveryError when the webhook cannot be reached; it is recorded
    first with `webhook_status` None.
    """
    with state.lock:
        now, status = state.clock.now(), template.status
    event: dict[str, Any] = {
        "at": now.isoformat(), "page_id": page.page_id, "template_id": template.template_id,
        "name": template.name, "language": template.language, "event": status,
        "reason": reason, "webhook_status": None,
    }  # fmt: skip
    with state.lock:
        state.template_events.append(event)
    code = post_body(page, template_status_body(page, now, template, status, reason))
    with state.lock:
        event["webhook_status"] = code
        return dict(event)
