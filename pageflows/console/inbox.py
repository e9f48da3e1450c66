"""The Inbox: conversations newest first, each message with its status and why it was
allowed; a reply box that says how a reply would go before anyone types; take over and
hand back.

Everything comes from the service modules the API and the CLI share
(service/conversations.py for the list and the transcript, service/agent.py for
the reply's mode, the reply itself and handing back), so the console, GET
/api/contacts/<psid>/conversation and `pageflows conversation` agree. The open
conversation refreshes itself: a few lines of JS ask `/inbox/<psid>/thread`
(the transcript and the reply box as HTML) every few seconds and swap it in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from pageflows.api.context import ApiContext
from pageflows.engine.policy import Skip
from pageflows.service import agent
from pageflows.service.agent_draft import DraftError, parse_draft
from pageflows.service.config import PageConfig
from pageflows.service.conversations import (
    WINDOWS,
    ContactFilter,
    QueryError,
    contact_detail,
    conversation,
    get_contact,
    list_contacts,
)

NAV = ("console.inbox", "Inbox")
LIST_SIZE = 50
THREAD_SIZE = 100
# Words for the reasons a reply is refused (engine/policy.py decide_human_reply).
STATUS_WORDS = {
    "queued": "queued",
    "claimed": "sending",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "skipped": "not sent",
    "held": "held",
    "not_scheduled": "not scheduled",
    "cancelled": "did not run",
}


def _page(context: ApiContext) -> PageConfig:
    page = context.page(request.args.get("page") or request.form.get("page") or None)
    if page is None:
        abort(404, "No page with that id is configured here.")
    return page


def _filters() -> ContactFilter:
    window = request.args.get("window") or None
    return ContactFilter(
        q=(request.args.get("q") or "").strip() or None,
        tag=(request.args.get("tag") or "").strip() or None,
        window=window if window in WINDOWS else None,
    )


def _thread(
    context: ApiContext, page: PageConfig, psid: str, notice: str | None = None
) -> dict[str, Any]:
    """What the conversation pane shows: the contact, the transcript, the reply's mode."""
    row = get_contact(context.engine, page.id, psid)
    if row is None:
        abort(404, f"No contact {psid} has written to this page.")
    now = context.clock.now()
    contact = contact_detail(row, now, page.ad_window)
    items = conversation(context.engine, page.id, psid, limit=THREAD_SIZE).items
    mode = agent.reply_mode(context.engine, page, psid, now)
    return {
        "page": page,
        "contact": contact,
        "items": items,
        "mode": mode,
        "refused": isinstance(mode.decision, Skip),
        "automation": mode.window.automation_json(),
        "window": mode.window,
        "now": now,
        "status_words": STATUS_WORDS,
    }


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def register(blueprint: Blueprint, context: ApiContext) -> None:
    @blueprint.app_template_filter("when")
    def when(value: Any) -> str:
        if isinstance(value, str):
            try:
                return _when(datetime.fromisoformat(value))
            except ValueError:
                return value
        return _when(value) if isinstance(value, datetime) else ""

    @blueprint.app_template_filter("without_mode")
    def without_mode(because: str | None) -> str:
        """`RESPONSE: the 24 h window...` -> `the 24 h window...`: the mode is said beside it."""
        head, sep, rest = (because or "").partition(": ")
        return rest if sep and head.replace("_", "").isupper() else (because or "")

    @blueprint.get("/inbox")
    def inbox() -> str | tuple[str, int]:
        page = _page(context)
        filters = _filters()
        try:
            found = list_contacts(
                context.engine, page.id, context.clock.now(), filters, LIST_SIZE,
                request.args.get("after") or None, page.ad_window,
            )  # fmt: skip
        except QueryError as exc:
            return render_template("inbox.html", page=page, contacts=[], next=None,
                                   filters=filters, error=str(exc)), 400  # fmt: skip
        return render_template("inbox.html", page=page, contacts=found.items, next=found.next,
                               filters=filters, error=None)  # fmt: skip

    @blueprint.get("/inbox/<psid>")
    def contact(psid: str) -> str:
        page = _page(context)
        draft = session.pop("draft", "")
        return render_template("conversation.html", draft=draft, **_thread(context, page, psid))

    @blueprint.get("/inbox/<psid>/thread")
    def thread(psid: str) -> str:
        """The conversation pane alone, for the page's own refresh."""
        page = _page(context)
        return render_template("thread.html", **_thread(context, page, psid))

    @blueprint.post("/inbox/<psid>/reply")
    def reply(psid: str) -> Response:
        """Post, then redirect: a reload of the page never sends the reply again. What was
        said of it (queued as..., or why not, with the text kept to edit) rides in the
        session to the page the browser is sent back to."""
        page = _page(context)
        text = request.form.get("text", "")
        author = request.form.get("author") or None
        back = redirect(url_for("console.contact", psid=psid))
        try:
            draft = parse_draft({"text": text, **({"author": author} if author else {})})
        except DraftError as exc:
            flash("Not sent: " + "; ".join(exc.problems), "refused")
            session["draft"] = text[:4000]
            return back
        try:
            outcome = agent.send_reply(context.engine, page, psid, draft, context.clock.now())
        except agent.UnknownContact:
            abort(404, f"No contact {psid} has written to this page.")
        if isinstance(outcome, agent.ReplyMode):
            refusal = outcome.decision
            assert isinstance(refusal, Skip)
            flash(f"Not sent: {refusal.reason}: {refusal.detail}", "refused")
            session["draft"] = text[:4000]
            return back
        mode = outcome.delivery.tag or outcome.delivery.messaging_type
        flash(f"Queued as {mode}: {without_mode(outcome.delivery.because)}", "queued")
        return back

    @blueprint.post("/inbox/<psid>/take-over")
    def take_over(psid: str) -> Response:
        page = _page(context)
        try:
            agent.take_over(context.engine, page, psid, context.clock.now())
        except agent.UnknownContact:
            abort(404, f"No contact {psid} has written to this page.")
        return redirect(url_for("console.contact", psid=psid))

    @blueprint.post("/inbox/<psid>/hand-back")
    def hand_back(psid: str) -> Response:
        page = _page(context)
        try:
            agent.hand_back(context.engine, page, psid, context.clock.now())
        except agent.UnknownContact:
            abort(404, f"No contact {psid} has written to this page.")
        return redirect(url_for("console.contact", psid=psid))
