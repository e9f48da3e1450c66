"""A person answers as the Page, and hands the conversation back to automation.

- `GET  /api/contacts/<psid>/reply-mode?page=`: how a reply typed now would go
  (RESPONSE | HUMAN_AGENT) or why it would be refused, the contact's windows and
  whether automation is paused: readable before typing.
- `POST /api/contacts/<psid>/messages`: `{"text", "attachment", "quick_replies",
  "author"}`; 202 with the queued message, 400 for a draft Facebook would refuse
  (every problem listed), 404 for an unknown contact or page, 422 for a reply
  the policy refuses now (`outside_window`, `human_agent_permission_missing`),
  with the reason, a sentence saying why and the window.
- `POST /api/contacts/<psid>/handback`: automation resumes for the contact.

All of it is `pageflows.service.agent`, which `pageflows reply` and
`pageflows contact resume` share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify

from pageflows.api.context import ApiContext, page_or_404
from pageflows.api.errors import ApiError, json_body
from pageflows.engine.policy import Skip
from pageflows.service import agent
from pageflows.service.agent_draft import DraftError, parse_draft
from pageflows.service.config import PageConfig

T = TypeVar("T")
REFUSED = 422  # well-formed, but Facebook's rules do not allow this reply now


def register(blueprint: Blueprint, context: ApiContext) -> None:
    @blueprint.get("/contacts/<psid>/reply-mode")
    def reply_mode(psid: str) -> Response:
        page = page_or_404(context)
        found = _found(lambda: agent.reply_mode(context.engine, page, psid, context.clock.now()))
        return jsonify(mode_json(page, psid, found))

    @blueprint.post("/contacts/<psid>/messages")
    def send_message(psid: str) -> tuple[Response, int]:
        page = page_or_404(context)
        try:
            draft = parse_draft(json_body())
        except DraftError as exc:
            raise ApiError(
                400, "this reply cannot be sent as it is", problems=exc.problems
            ) from None
        now = context.clock.now()
        outcome = _found(lambda: agent.send_reply(context.engine, page, psid, draft, now))
        if isinstance(outcome, agent.ReplyMode):
            assert isinstance(outcome.decision, Skip)
            raise ApiError(
                REFUSED,
                "Facebook's rules do not allow this reply now",
                reason=outcome.decision.reason,
                detail=outcome.decision.detail,
                window=outcome.window.as_json(),
                page=page.id,
                psid=psid,
            )
        delivery = outcome.delivery
        return jsonify(
            id=outcome.ids[0],
            ids=list(outcome.ids),
            page=page.id,
            psid=psid,
            mode=delivery.tag or delivery.messaging_type,
            messaging_type=delivery.messaging_type,
            tag=delivery.tag,
            because=delivery.because,
            status="queued",
            author=draft.author,
            took_thread=outcome.took_thread,
            window=outcome.window.as_json(),
            automation=outcome.window.automation_json(),
        ), 202

    @blueprint.post("/contacts/<psid>/handback")
    def handback(psid: str) -> Response:
        page = page_or_404(context)
        done = _found(lambda: agent.hand_back(context.engine, page, psid, context.clock.now()))
        return jsonify(
            page=page.id,
            psid=psid,
            was=done.was,
            automation="running",
            took_thread=done.took_thread,
            detail=(
                "automation was already running; nothing changed"
                if done.was == "running" and not done.took_thread
                else "automation resumes; the thread is taken back from the Page inbox first"
                if done.took_thread
                else "automation resumes"
            ),
        )


def mode_json(page: PageConfig, psid: str, found: agent.ReplyMode) -> dict[str, Any]:
    """The reply-mode answer: the mode or the refusal, the window, the automation state."""
    decision = found.decision
    answer: dict[str, Any] = {"page": page.id, "psid": psid, "human_agent": page.human_agent}
    if isinstance(decision, Skip):
        answer.update(allowed=False, mode=None, reason=decision.reason, detail=decision.detail)
    else:
        answer.update(
            allowed=True,
            mode=found.mode,
            messaging_type=decision.messaging_type,
            tag=decision.tag,
            because=decision.because,
        )
    answer["window"] = found.window.as_json()
    answer["automation"] = found.window.automation_json()
    return answer


def _found(call: Callable[[], T]) -> T:
    """The call's answer; an unknown contact is a 404 that names the page and the PSID."""
    try:
        return call()
    except agent.UnknownContact as exc:
        raise ApiError(404, str(exc), page=exc.page_id, psid=exc.psid) from None
