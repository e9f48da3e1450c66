"""The `/_sim/` control API: how tests and the CLI drive the simulated Facebook.

Plain JSON in and out, validated with pydantic so a typo in a test fails with
a readable 400 rather than a silently ignored field. None of it exists on
Facebook; the Graph routes never depend on it except through shared state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from flask import Blueprint, request
from pydantic import BaseModel, ConfigDict, Field

from pageflows.simulator import actions, screen, templates
from pageflows.simulator.actions import ActionError
from pageflows.simulator.clock import parse_moment
from pageflows.simulator.errors import GraphError
from pageflows.simulator.send import window_open
from pageflows.simulator.state import (
    DEFAULT_APP_ID,
    PAGE_INBOX_APP_ID,
    Contact,
    MediaFile,
    Page,
    SimState,
    Template,
)

Reply = tuple[dict[str, Any], int]
M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Region = Literal["AU", "EU", "JP", "KR", "UK"]  # where tokens survive 2026-02-10 (policy.md §3)


class TemplateIn(_Body):
    """A template as the Page has it: `components` like Facebook's, or `body` (+ `buttons`)."""

    id: str | None = None
    name: str
    language: str = "en_US"
    status: str = "APPROVED"
    category: str = "UTILITY"
    components: list[dict[str, Any]] | None = None
    body: str | None = None  # shorthand: [{"type": "BODY", "text": body}]
    buttons: list[dict[str, Any]] | None = None  # shorthand: a BUTTONS component

    def facebook_components(self) -> list[dict[str, Any]]:
        if self.components is not None:
            if self.body is not None or self.buttons is not None:
                raise ActionError("give components, or body (and buttons), not both")
            return self.components
        if self.body is None:
            raise ActionError("a template needs components or body")
        found: list[dict[str, Any]] = [{"type": "BODY", "text": self.body}]
        if self.buttons:
            found.append({"type": "BUTTONS", "buttons": self.buttons})
        return found


class PageIn(_Body):
    page_id: str
    token: str
    app_secret: str
    webhook_url: str
    verify_token: str | None = None
    app_id: str = DEFAULT_APP_ID
    name: str = "Simulated Page"
    region: Region | None = None
    ad_window: bool = False
    human_agent: bool = False
    templates: list[TemplateIn] = []


class PageSettingsIn(_Body):
    """`PATCH /_sim/pages`: only the fields given change (`region: null` clears the region)."""

    page_id: str | None = None
    webhook_url: str | None = None
    region: Region | None = None
    ad_window: bool | None = None
    human_agent: bool | None = None


class PageTemplateIn(TemplateIn):
    page_id: str | None = None


class TemplateStatusIn(_Body):
    page_id: str | None = None
    template_id: str | None = None
    name: str | None = None  # with `language`, instead of template_id
    language: str = "en_US"
    status: str
    reason: str = "NONE"


class Who(_Body):
    page_id: str | None = None
    psid: str | None = None
    as_: str | None = Field(None, alias="as")


class SayIn(Who):
    text: str
    quick_reply: str | None = None
    ref: str | None = None
    source: str | None = None
    from_ad: bool = False  # the message follows a click-to-Messenger ad (message.referral)


class InboxReplyIn(Who):
    text: str


class TapIn(Who):
    title: str
    payload: str | None = None


class PostbackIn(Who):
    title: str = "Get Started"
    payload: str = "GET_STARTED"
    ref: str | None = None
    source: str | None = None


class ReferralIn(Who):
    ref: str | None = None
    source: str | None = None


class CommentIn(_Body):
    page_id: str | None = None
    text: str
    post_id: str | None = None
    from_id: str | None = None
    from_name: str | None = None
    as_: str | None = Field(None, alias="as")
    from_page: bool = False
    created_time: datetime | None = None


class OptinIn(Who):
    topic: str = "Updates and promotions"
    token: str | None = None
    status: str | None = None  # "STOP" | "RESUME"
    # "request": tap "Get messages" on a request on screen; "link": an m.me/rn link
    via: Literal["request", "link"] = "request"


class ContactIn(_Body):
    page_id: str | None = None
    psid: str
    first_name: str = "Alice"
    last_name: str = "Example"


class ClockIn(_Body):
    now: datetime | None = None
    advance_seconds: float | None = None
    real: bool = False


class FaultsIn(_Body):
    fail_next: int | None = None
    fail_for_seconds: float | None = None  # every call fails for this long (an outage, a burst)
    status: int | None = None
    code: int = 613
    subcode: int | None = None
    delay_seconds: float | None = None
    delay_next: int | None = None  # the delay applies to this many calls only
    scope: str | None = None


class ThreadIn(_Body):
    page_id: str | None = None
    owner_app_id: str | None = None
    notify: bool = False


class MediaIn(_Body):
    name: str
    content_type: str = "image/png"
    content_length: int = 1024


def _body(model: type[M]) -> M:
    return model.model_validate(request.get_json(silent=True) or {})


def _declare(state: SimState, page: Page, given: TemplateIn) -> Template:
    """Add a template through the control API; a refusal is a plain 400, not a Graph error."""
    try:
        return templates.declare(
            state, page, name=given.name, language=given.language,
            components=given.facebook_components(), status=given.status,
            category=given.category, template_id=given.id,
        )  # fmt: skip
    except GraphError as error:
        raise ActionError(error.message) from error


def control_blueprint(state: SimState) -> Blueprint:
    bp = Blueprint("sim_control", __name__)

    def who(body: Who) -> tuple[Page, Contact]:
        page = state.only_page(body.page_id)
        return page, actions.persona(state, page, body.psid, body.as_)

    @bp.post("/pages")
    def register_page() -> Reply:
        body = _body(PageIn)
        page = Page(**body.model_dump(exclude={"templates"}))
        for given in body.templates:  # before the page is visible: all or nothing
            _declare(state, page, given)
        with state.lock:
            state.pages[page.page_id] = page
        return {"page_id": page.page_id, "app_id": page.app_id, **page.settings()}, 201

    @bp.route("/pages", methods=["GET", "PATCH"])
    def page_settings() -> Reply:
        """Read the pages' settings, or change one page's (the CLI's `--to` and `page`)."""
        if request.method == "GET":
            with state.lock:
                return {"data": [p.settings() for p in state.pages.values()]}, 200
        body = _body(PageSettingsIn)
        page = state.only_page(body.page_id)
        with state.lock:
            if body.webhook_url is not None:
                page.webhook_url = body.webhook_url
            if "region" in body.model_fields_set:
                page.region = body.region
            if body.ad_window is not None:
                page.ad_window = body.ad_window
            if body.human_agent is not None:
                page.human_agent = body.human_agent
            return page.settings(), 200

    @bp.route("/templates", methods=["GET", "POST"])
    def page_templates() -> Reply:
        """List a page's templates, or declare one as Facebook already has it (no webhook)."""
        if request.method == "GET":
            page = state.only_page(request.args.get("page_id"))
            with state.lock:
                return {"data": [t.as_json() for t in page.templates.values()]}, 200
        body = _body(PageTemplateIn)
        page = state.only_page(body.page_id)
        return _declare(state, page, body).as_json(), 201

    @bp.post("/templates/status")
    def template_status() -> Reply:
        """Facebook's review changes a template: set its status and post the webhook."""
        body = _body(TemplateStatusIn)
        if body.template_id is None and body.name is None:
            raise ActionError("give template_id, or name (and language)")
        page = state.only_page(body.page_id)
        found = templates.find(state, page, body.template_id, body.name, body.language)
        try:
            event = templates.set_status(state, page, found, body.status, body.reason)
        except GraphError as error:
            raise ActionError(error.message) from error
        return {**found.as_json(), "webhook_status": event["webhook_status"]}, 200

    @bp.get("/template_events")
    def template_events() -> Reply:
        with state.lock:
            return {"data": [dict(e) for e in state.template_events]}, 200

    @bp.route("/clock", methods=["GET", "POST"])
    def clock() -> Reply:
        if request.method == "POST":
            body = _body(ClockIn)
            if body.real:
                state.clock.unfreeze()
            if body.now is not None:
                state.clock.set(parse_moment(body.now.isoformat()))
            if body.advance_seconds is not None:
                state.clock.advance(body.advance_seconds)
        return {
            "now": state.clock.now().isoformat(),
            "frozen": state.clock.frozen,
            "offset_seconds": state.clock.offset_seconds(),
        }, 200

    @bp.route("/faults", methods=["GET", "POST"])
    def faults() -> Reply:
        if request.method == "POST":
            body = _body(FaultsIn)
            if body.status == 429:
                raise ActionError(
                    "Facebook never answers 429: throttling is HTTP 400 + code 4/32/613"
                )
            with state.lock:
                f = state.faults
                if body.fail_next is not None or body.fail_for_seconds is not None:
                    f.code, f.subcode, f.status = body.code, body.subcode, body.status
                if body.fail_next is not None:
                    f.fail_next = body.fail_next
                if body.fail_for_seconds is not None:
                    f.fail_until = state.clock.now() + timedelta(seconds=body.fail_for_seconds)
                if body.delay_seconds is not None:
                    f.delay_seconds = body.delay_seconds
                    f.delay_next = body.delay_next or 0
                if body.scope is not None:
                    f.scope = body.scope
        with state.lock:
            return dict(vars(state.faults)), 200

    @bp.route("/messages", methods=["GET", "DELETE"])
    def messages() -> Reply:
        with state.lock:
            if request.method == "DELETE":
                state.log.clear()
                return {"deleted": True}, 200
            psid, after = request.args.get("psid"), int(request.args.get("after", 0))
            found = [
                e for e in state.log
                if e["seq"] > after and (psid is None or e["recipient_id"] == psid)
            ]  # fmt: skip
            return {"data": found}, 200

    @bp.get("/handovers")
    def handovers() -> Reply:
        with state.lock:
            return {"data": list(state.handovers)}, 200

    @bp.post("/contacts")
    def add_contact() -> Reply:
        body = _body(ContactIn)
        page = state.only_page(body.page_id)
        contact = state.ensure_contact(page.page_id, body.psid, body.first_name, body.last_name)
        return {"psid": contact.psid}, 201

    @bp.get("/contacts/<psid>")
    def contact_facts(psid: str) -> Reply:
        """What Facebook knows of a contact that decides what reaches them: the thread's
        owner and the 24 h window (the CLI says so when the bot stays silent)."""
        page = state.only_page(request.args.get("page_id"))
        contact = state.contact(page.page_id, psid)
        if contact is None:
            raise ActionError(f"unknown contact {psid}", 404)
        with state.lock:
            owner = contact.owner_app_id
            return {
                "psid": psid,
                "owner_app_id": owner,
                "thread_elsewhere": owner is not None and owner != page.app_id,
                "owner_is_page_inbox": owner == PAGE_INBOX_APP_ID,
                "window_open": window_open(page, contact, state.clock.now()),
            }, 200

    @bp.get("/contacts/<psid>/choices")
    def contact_choices(psid: str) -> Reply:
        """What the contact can tap now, newest first (screen.py): quick replies of the
        last message, buttons of recent ones, "Get messages" under an opt-in request."""
        page = state.only_page(request.args.get("page_id"))
        contact = state.contact(page.page_id, psid)
        if contact is None:
            raise ActionError(f"unknown contact {psid}", 404)
        listed = screen.choices(state, page, contact)
        return {"psid": psid, "choices": [vars(c) for c in listed]}, 200

    @bp.post("/contacts/<psid>/<action>")
    def contact_action(psid: str, action: str) -> Reply:
        raw = request.get_json(silent=True) or {}
        page = state.only_page(raw.get("page_id"))
        contact = state.contact(page.page_id, psid)
        if contact is None:
            raise ActionError(f"unknown contact {psid}", 404)
        if action == "seen":
            at = raw.get("at")
            with state.lock:
                contact.last_message_at = parse_moment(at) if at else state.clock.now()
                if raw.get("from_ad"):  # that message followed a click-to-Messenger ad
                    contact.ad_message_at = contact.last_message_at
            return {"psid": psid, "last_message_at": contact.last_message_at.isoformat()}, 200
        if action == "deliver":
            return actions.deliver(state, page, contact).as_json(), 200
        if action == "read":
            return actions.read(state, page, contact).as_json(), 200
        raise ActionError(f"unknown contact action {action!r}", 404)

    @bp.post("/threads/<psid>")
    def thread(psid: str) -> Reply:
        body = _body(ThreadIn)
        page = state.only_page(body.page_id)
        contact = state.ensure_contact(page.page_id, psid)
        return actions.set_owner(
            state, page, contact, body.owner_app_id, body.notify
        ).as_json(), 200

    @bp.post("/say")
    def say() -> Reply:
        b = _body(SayIn)
        page, contact = who(b)
        return actions.say(
            state, page, contact, b.text, b.quick_reply, b.ref, b.source, from_ad=b.from_ad
        ).as_json(), 200

    @bp.post("/inbox/reply")
    def inbox_reply() -> Reply:
        """A person answers in Facebook's Page inbox: the inbox takes the thread and our
        webhook gets the echo (app_id 263902037430900)."""
        b = _body(InboxReplyIn)
        page, contact = who(b)
        return actions.inbox_reply(state, page, contact, b.text).as_json(), 200

    @bp.post("/tap")
    def tap() -> Reply:
        b = _body(TapIn)
        page, contact = who(b)
        return actions.tap(state, page, contact, b.title, b.payload).as_json(), 200

    @bp.post("/postback")
    def postback() -> Reply:
        b = _body(PostbackIn)
        page, contact = who(b)
        played = actions.postback(state, page, contact, b.title, b.payload, b.ref, b.source)
        return played.as_json(), 200

    @bp.post("/referral")
    def referral() -> Reply:
        b = _body(ReferralIn)
        page, contact = who(b)
        return actions.referral(state, page, contact, b.ref, b.source).as_json(), 200

    @bp.post("/comment")
    def comment() -> Reply:
        b = _body(CommentIn)
        page = state.only_page(b.page_id)
        created = None if b.created_time is None else parse_moment(b.created_time.isoformat())
        played = actions.comment(
            state, page, text=b.text, post_id=b.post_id, from_id=b.from_id,
            from_name=b.from_name or (b.as_.title() if b.as_ else None),
            from_page=b.from_page, created=created,
        )  # fmt: skip
        return played.as_json(), 200

    @bp.post("/optin")
    def optin() -> Reply:
        b = _body(OptinIn)
        page, contact = who(b)
        played = actions.optin(state, page, contact, b.topic, b.token, b.status, b.via)
        return played.as_json(), 200

    @bp.post("/media")
    def media() -> Reply:
        b = _body(MediaIn)
        with state.lock:
            state.media[b.name] = MediaFile(b.content_type, b.content_length)
        return {"url": f"{request.host_url}media/{b.name}"}, 201

    return bp
