"""The Preview: talk to your flows as a contact would, in a Messenger-like chat.

Through the real path: each action (arriving by a ref link or without one, a
message, a tap, a comment) is played by the simulator, which signs a webhook
to our /webhook as Facebook would; the worker decides, the sender sends to the
simulator. The chat shows what reached the contact (as the simulator received
it: quick replies, buttons, cards), how each message was sent (RESPONSE,
UPDATE, a tag, a utility template) or why it was not (our reason), and moving
the clock moves the simulator's, which every process follows in sandbox mode
(service/sandbox_clock.py), so follow-ups fall due and windows close.

Sandbox mode only: against Facebook there is no simulator to play a contact,
and the page says how to start one.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from pageflows.api.context import ApiContext
from pageflows.engine.events import QR_MARKER
from pageflows.service import links
from pageflows.service.config import PageConfig
from pageflows.service.conversations import conversation
from pageflows.service.storage.models import Contact
from pageflows.simulator.harness import SimControl, SimRefused

NAV = ("console.preview", "Preview")
PREFIX = "preview-"
# Steps of the clock a marketer checks: a follow-up at 20 h inside the window, the 24 h
# window closing, the 7-day human-agent window closing.
MOVES = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "20h": timedelta(hours=20),
         "25h": timedelta(hours=25), "8d": timedelta(days=8)}  # fmt: skip
ARRIVALS = ("ref", "no_ref", "message", "comment")


def _page(context: ApiContext) -> PageConfig:
    page = context.page(request.args.get("page") or request.form.get("page") or None)
    if page is None:
        abort(404, "No page with that id is configured here.")
    return page


def _simulator(context: ApiContext) -> SimControl | None:
    return SimControl(context.simulator_url, timeout=10) if context.simulator_url else None


def _arrivals(context: ApiContext, page: PageConfig) -> list[tuple[str, str]]:
    """(words, ref as Facebook sends it) for each door the flows' refs open: an m.me link,
    a QR code (the ref with QR_MARKER, as links.py encodes it), an ad."""
    program = context.programs().get(page.id)
    if program is None:
        return []
    found = []
    for flow_ref in links.flow_refs(program):
        if flow_ref.is_pattern:
            continue
        ways = flow_ref.sources or ("link",)
        for way in ways:
            if way == "qr":
                found.append((f'the QR code for "{flow_ref.ref}"', flow_ref.ref + QR_MARKER))
            elif way == "ads":
                found.append((f'an ad with ref "{flow_ref.ref}"', f"ads:{flow_ref.ref}"))
            else:
                found.append((f'the m.me link with ref "{flow_ref.ref}"', flow_ref.ref))
    return found


def _previewed(context: ApiContext, page: PageConfig) -> list[dict[str, Any]]:
    with Session(context.engine) as session:
        rows = session.scalars(
            select(Contact)
            .where(Contact.page_id == page.id, Contact.psid.startswith(PREFIX))
            .order_by(Contact.updated_at.desc())
            .limit(20)
        ).all()
        return [{"psid": r.psid, "name": " ".join(n for n in (r.first_name, r.last_name) if n)}
                for r in rows]  # fmt: skip


def _bubbles(sim: SimControl, psid: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our transcript, each sent message with what the simulator (Facebook) received."""
    received = {m.get("message_id"): m for m in sim.sent_messages(psid) if m.get("message_id")}
    out = []
    for item in items:
        shown = received.get(item.get("message_id")) if item["direction"] == "out" else None
        request_body = shown["request"] if shown else {}
        message = request_body.get("message") or {}
        attachment = message.get("attachment") or {}
        payload = attachment.get("payload") or {}
        out.append(
            {
                **item,
                "quick_replies": [q.get("title") for q in message.get("quick_replies") or []],
                "buttons": [b.get("title") for b in payload.get("buttons") or []],
                "cards": [e.get("title") for e in payload.get("elements") or []],
                "media": attachment.get("type") if attachment.get("type") != "template" else None,
                "how": request_body.get("tag") or request_body.get("messaging_type"),
            }
        )
    return out


def register(blueprint: Blueprint, context: ApiContext) -> None:
    @blueprint.get("/preview")
    def preview() -> str:
        page = _page(context)
        if _simulator(context) is None:
            return render_template("preview_off.html")
        return render_template(
            "preview.html", page=page, arrivals=_arrivals(context, page),
            contacts=_previewed(context, page),
        )  # fmt: skip

    @blueprint.post("/preview/start")
    def preview_start() -> Response:
        sim = _simulator(context)
        if sim is None:
            abort(404)
        name = (request.form.get("first_name") or "").strip()[:40] or "Alex"
        psid = PREFIX + secrets.token_hex(4)
        sim.add_contact(psid, first_name=name, last_name="Preview")
        how = request.form.get("arrive", "no_ref")
        text = (request.form.get("text") or "").strip()
        if how == "ref":
            ref = request.form.get("ref") or ""
            source = "ADS" if ref.startswith("ads:") else "SHORTLINK"
            sim.referral(ref.removeprefix("ads:") or None, psid=psid, source=source)
        elif how == "message":
            sim.say(text or "Hi", psid=psid)
        elif how == "comment":
            sim.comment(text or "How much is it?", from_id=psid, from_name=f"{name} Preview")
        else:  # the EU case: the link was opened but Facebook sent no ref
            sim.referral(None, psid=psid)
        return redirect(url_for("console.preview_chat", psid=psid))

    def chat_context(psid: str) -> dict[str, Any]:
        page, sim = _page(context), _simulator(context)
        if sim is None or not psid.startswith(PREFIX):
            abort(404, f"No preview contact {psid}: start a new one on the Preview page.")
        items = conversation(context.engine, page.id, psid, limit=100).items
        try:
            choices = sim.choices(psid)
        except SimRefused:  # the simulator does not know this contact (it was restarted)
            abort(
                404,
                f"The simulator does not know {psid} (it restarted): start a new contact.",
            )
        return {
            "page": page,
            "psid": psid,
            "bubbles": _bubbles(sim, psid, items),
            "choices": choices,
            "now": context.clock.now(),
            "moves": list(MOVES),
        }

    @blueprint.get("/preview/<psid>")
    def preview_chat(psid: str) -> str:
        return render_template("preview_chat.html", **chat_context(psid))

    @blueprint.get("/preview/<psid>/thread")
    def preview_thread(psid: str) -> str:
        return render_template("preview_thread.html", **chat_context(psid))

    @blueprint.post("/preview/<psid>/<action>")
    def preview_act(psid: str, action: str) -> Response:
        sim = _simulator(context)
        if sim is None or not psid.startswith(PREFIX):
            abort(404, f"No preview contact {psid}: start a new one on the Preview page.")
        value = (request.form.get("value") or "").strip()
        try:
            if action == "say" and value:
                sim.say(value[:2000], psid=psid)
            elif action == "tap" and value:
                sim.tap(value, psid=psid)
            elif action == "comment" and value:
                sim.comment(value[:8000], from_id=psid)
            elif action == "clock" and value in MOVES:
                sim.advance(MOVES[value].total_seconds())
                flash(f"The clock moved {value} ahead: follow-ups that fell due go now.", "queued")
            elif action not in ("say", "tap", "comment", "clock"):
                abort(404)
        except SimRefused as exc:  # the simulator refused it (e.g. a title not on screen)
            flash(exc.error, "refused")
        return redirect(url_for("console.preview_chat", psid=psid))
