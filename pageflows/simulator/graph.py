"""The Graph API surface: Send API, User Profile, Messenger Profile, handover.

Accepts what Facebook accepts (token as query/form field or Bearer header; JSON
bodies or form fields whose values are JSON strings) and refuses with
Facebook's error bodies, so the engine's HTTP client is tested as it will run.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request

from pageflows.simulator import errors, send, templates
from pageflows.simulator.contact import WebhookDeliveryError
from pageflows.simulator.errors import GraphError
from pageflows.simulator.profile import delete_profile, get_profile, set_profile
from pageflows.simulator.state import Page, SimState

VERSION = re.compile(r"v\d+\.\d+")
PROFILE_FIELDS = ("id", "name", "first_name", "last_name", "profile_pic", "locale", "timezone")


def request_body() -> dict[str, Any]:
    """JSON body, or form fields decoded from their JSON-string values."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise errors.invalid_param("Request body must be a JSON object")
        return data
    decoded: dict[str, Any] = {}
    for key, value in request.form.items():
        try:
            decoded[key] = json.loads(value) if value[:1] in "{[" else value
        except json.JSONDecodeError:
            decoded[key] = value
    return decoded


def access_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.args.get("access_token") or request.form.get("access_token")


def graph_blueprint(state: SimState) -> Blueprint:
    bp = Blueprint("graph", __name__)

    def page_for(version: str, node: str, scope: str) -> Page:
        """Authenticate, then apply injected faults (after auth, like Facebook's throttles)."""
        if not VERSION.fullmatch(version):
            raise GraphError(2500, f"Unknown path components: /{version}/{node}")
        page = state.page_for_token(access_token())
        if page is None or node not in ("me", page.page_id):
            raise errors.invalid_token()
        _apply_faults(state, scope)
        return page

    @bp.post("/<version>/<node>/messages")
    def messages(version: str, node: str) -> tuple[dict[str, Any], int]:
        # When the call arrived, before any injected delay: what a rate limit counts.
        arrived = state.clock.now().isoformat()
        body: dict[str, Any] = {}
        page_id = node
        try:
            body = request_body()
            page = page_for(version, node, "messages")
            page_id = page.page_id
            accepted = send.send(state, page, body)
        except GraphError as error:
            recipient = body.get("recipient")
            rid = recipient.get("id") if isinstance(recipient, dict) else None
            entry = _entry(state, page_id, body, False, error.status, rid, error.body())
            state.record({**entry, "received_at": arrived})
            raise
        result = accepted.response
        entry = _entry(state, page_id, body, True, 200, result["recipient_id"], result)
        entry["received_at"] = arrived
        state.record({**entry, **accepted.notes})
        return result, 200

    @bp.get("/<version>/<node>")
    def node_get(version: str, node: str) -> tuple[dict[str, Any], int]:
        page = page_for(version, "me", "read")
        if node in ("me", page.page_id):
            return {"id": page.page_id, "name": page.name}, 200
        contact = state.contact(page.page_id, node)
        if contact is None:
            raise errors.unknown_object(node)
        wanted = [f for f in request.args.get("fields", "id,name").split(",") if f]
        for name in wanted:
            if name not in PROFILE_FIELDS:
                raise errors.invalid_param(
                    f"Tried accessing nonexisting field ({name}) on node type (User)"
                )
        profile = contact.profile()
        return {"id": contact.psid, **{f: profile[f] for f in wanted}}, 200

    @bp.route("/<version>/<node>/messenger_profile", methods=["GET", "POST", "DELETE"])
    def messenger_profile(version: str, node: str) -> tuple[dict[str, Any], int]:
        page = page_for(version, node, "profile")
        if request.method == "GET":
            return get_profile(state, page, request.args.get("fields")), 200
        body = request_body()
        if request.method == "POST":
            return set_profile(state, page, body), 200
        fields = body.get("fields", request.args.get("fields"))
        return delete_profile(state, page, fields), 200

    @bp.post("/<version>/<node>/<action>_thread_control")
    def thread_control(version: str, node: str, action: str) -> tuple[dict[str, Any], int]:
        page = page_for(version, node, "handover")
        if action not in ("pass", "take", "release", "request"):
            raise errors.unknown_object(f"{action}_thread_control", "post")
        body = request_body()
        recipient = body.get("recipient")
        psid = str(recipient.get("id")) if isinstance(recipient, dict) else ""
        with state.lock:
            contact = state.contact(page.page_id, psid)
            if contact is None:
                raise errors.no_matching_user()
            previous = contact.owner_app_id
            if action == "pass":
                target = body.get("target_app_id")
                if not target:
                    raise errors.invalid_param("param target_app_id must be non-empty.")
                contact.owner_app_id = str(target)
            elif action == "take":
                contact.owner_app_id = page.app_id
            elif action == "release":
                contact.owner_app_id = None
            state.handovers.append(
                {
                    "action": action,
                    "page_id": page.page_id,
                    "psid": psid,
                    "previous_owner_app_id": previous,
                    "new_owner_app_id": contact.owner_app_id,
                    "metadata": body.get("metadata"),
                    "at": state.clock.now().isoformat(),
                }
            )
        return {"success": True}, 200

    @bp.post("/<version>/<node>/message_templates")
    def create_template(version: str, node: str) -> Response:
        page = page_for(version, node, "templates")
        template = templates.create(state, page, request_body())
        response = jsonify(
            {"id": template.template_id, "status": template.status, "category": template.category}
        )

        def approved() -> None:
            """The APPROVED webhook follows the answer, as Facebook's "within seconds" does."""
            # An unreachable webhook stays in state.template_events with webhook_status None.
            with contextlib.suppress(WebhookDeliveryError):
                templates.notify(state, page, template)

        response.call_on_close(approved)
        return response

    @bp.get("/<version>/<node>/message_templates")
    def list_templates(version: str, node: str) -> tuple[dict[str, Any], int]:
        page = page_for(version, node, "read")
        return templates.listing(
            state, page, dict(request.args), request.base_url, access_token() or ""
        ), 200

    @bp.get("/<version>/<node>/thread_owner")
    def thread_owner(version: str, node: str) -> tuple[dict[str, Any], int]:
        page = page_for(version, node, "handover")
        contact = state.contact(page.page_id, request.args.get("recipient", ""))
        if contact is None:
            raise errors.no_matching_user()
        owner = contact.owner_app_id
        return {"data": [] if owner is None else [{"thread_owner": {"app_id": owner}}]}, 200

    return bp


def _apply_faults(state: SimState, scope: str) -> None:
    with state.lock:
        faults = state.faults
        applies = faults.scope == "all" or scope == "messages"
        delay = faults.delay_seconds if applies else 0.0
        if applies and delay > 0 and faults.delay_next > 0:
            faults.delay_next -= 1
            if faults.delay_next == 0:
                faults.delay_seconds = 0.0
        failure = None
        if applies and faults.fail_next > 0:
            faults.fail_next -= 1
            failure = errors.fault(faults.code, faults.subcode, faults.status)
        elif applies and faults.fail_until is not None and state.clock.now() < faults.fail_until:
            failure = errors.fault(faults.code, faults.subcode, faults.status)
    if delay > 0:
        state.stopping.wait(delay)  # outside the lock: other requests keep flowing
    if failure is not None:
        raise failure


def _entry(
    state: SimState,
    page_id: str,
    body: dict[str, Any],
    ok: bool,
    status: int,
    recipient_id: Any,
    response: dict[str, Any],
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "at": state.clock.now().isoformat(),
        "page_id": page_id,
        "ok": ok,
        "status": status,
        "recipient_id": None if recipient_id is None else str(recipient_id),
        "messaging_type": body.get("messaging_type"),
        "request": body,
    }
    if ok:
        entry["message_id"] = response.get("message_id")
        entry["response"] = response
    else:
        entry["error"] = response["error"]
    return entry
