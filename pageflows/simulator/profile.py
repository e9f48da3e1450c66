"""Messenger Profile API (`/me/messenger_profile`): stored per page, lightly validated.

Light on purpose: the engine only needs round trips and the limits it relies on
(greeting 160 chars, assumed; 4 ice breakers; 20 menu items with 30-char
titles; payloads <= 1000; a persistent menu needs a Get Started button).
"""

from __future__ import annotations

from typing import Any

from pageflows.simulator import errors
from pageflows.simulator.state import Page, SimState

PROPERTIES = (
    "get_started",
    "greeting",
    "ice_breakers",
    "persistent_menu",
    "whitelisted_domains",
    "account_linking_url",
    "commands",
)
MAX_GREETING = 160  # unconfirmed (send-api.md §6)
MAX_ICE_BREAKERS = 4
MAX_MENU_ITEMS = 20
MAX_MENU_TITLE = 30
MAX_PAYLOAD = 1000


def _field_list(fields: Any) -> list[str]:
    if isinstance(fields, str):
        return [f.strip() for f in fields.split(",") if f.strip()]
    if isinstance(fields, list):
        return [str(f) for f in fields]
    raise errors.invalid_param("The parameter fields is required")


def get_profile(state: SimState, page: Page, fields: Any) -> dict[str, Any]:
    wanted = _field_list(fields)
    for name in wanted:
        if name not in PROPERTIES and name != "subject_to_new_eu_privacy_rules":
            raise errors.invalid_param(
                f"Param fields[{name}] is not a valid messenger profile field"
            )
    with state.lock:
        found = {k: page.profile[k] for k in wanted if k in page.profile}
    if "subject_to_new_eu_privacy_rules" in wanted:
        found["subject_to_new_eu_privacy_rules"] = False
    return {"data": [found] if found else []}


def set_profile(state: SimState, page: Page, body: dict[str, Any]) -> dict[str, Any]:
    given = {k: v for k, v in body.items() if k != "access_token"}
    unknown = [k for k in given if k not in PROPERTIES]
    if unknown or not given:
        raise errors.invalid_param(f"Requires one of the params: {', '.join(PROPERTIES)}")
    _validate(given)
    with state.lock:
        if "persistent_menu" in given and "get_started" not in {**page.profile, **given}:
            raise errors.invalid_param(
                "You must set a Get Started button if you also wish to use persistent menu."
            )
        page.profile.update(given)
    return {"result": "success"}


def delete_profile(state: SimState, page: Page, fields: Any) -> dict[str, Any]:
    wanted = _field_list(fields)
    with state.lock:
        for name in wanted:
            page.profile.pop(name, None)
    return {"result": "success"}


def _validate(given: dict[str, Any]) -> None:
    for item in given.get("greeting", []) or []:
        text = item.get("text", "") if isinstance(item, dict) else ""
        if not text or len(text) > MAX_GREETING:
            raise errors.invalid_param(
                f"param greeting[text] must be 1 to {MAX_GREETING} characters long"
            )
    started = given.get("get_started")
    if started is not None:
        payload = started.get("payload") if isinstance(started, dict) else None
        if not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD:
            raise errors.invalid_param("param get_started[payload] must be 1 to 1000 characters")
    for locale in given.get("ice_breakers", []) or []:
        questions = locale.get("call_to_actions", []) if isinstance(locale, dict) else []
        if len(questions) > MAX_ICE_BREAKERS:
            raise errors.invalid_param(
                f"ice_breakers can have at most {MAX_ICE_BREAKERS} questions"
            )
    for locale in given.get("persistent_menu", []) or []:
        items = locale.get("call_to_actions", []) if isinstance(locale, dict) else []
        if len(items) > MAX_MENU_ITEMS:
            raise errors.invalid_param(
                f"param persistent_menu[call_to_actions] must have at most {MAX_MENU_ITEMS} items"
            )
        for item in items:
            title = item.get("title", "") if isinstance(item, dict) else ""
            if not title or len(title) > MAX_MENU_TITLE:
                raise errors.invalid_param(
                    f"param persistent_menu[call_to_actions][title] must be 1 to "
                    f"{MAX_MENU_TITLE} characters long"
                )
