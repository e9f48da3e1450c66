"""The Pages page: connect a Facebook Page as platforms do, and keep it connected.

Connect runs Facebook Login (service/facebook_login.py): a form post (so a page
on another site cannot start it) redirects to the OAuth dialog with a `state`
tied to this session; the callback refuses any other state, exchanges the code
for a long-lived user token, and lists the pages the person administers. The
person picks one: its page token is stored sealed (service/connected_pages.py),
the app is subscribed to its webhooks, and the worker picks the token up within
seconds (serve.py). The user token waits between the two steps only sealed in
the signed session cookie, never in clear and never on the server.

A page paused because Facebook reports its token dead (190) shows "Refresh
permissions": the same login, after which the new token is stored and the page
resumes, as `pageflows pages resume` would. The greeting form sets the
Messenger profile as `pageflows profile sync` does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from pageflows.api.context import ApiContext
from pageflows.console.session import signed_in
from pageflows.service import connected_pages, facebook_login
from pageflows.service import pages as page_states
from pageflows.service.config import PageConfig
from pageflows.service.graph.client import Sent
from pageflows.service.graph.transport import RequestsTransport, Transport
from pageflows.service.token_crypto import (
    HOW_TO_MAKE_ONE,
    TokenBox,
    TokenKeyMissing,
    TokenUnreadable,
    box,
)

NAV = ("console.pages", "Pages")
STATE_KEY, REFRESH_KEY, USER_KEY = "fb_login_state", "fb_login_refresh", "fb_login_user"


@dataclass(frozen=True)
class PageRow:
    """One line of the page: a page pageflows runs or has connected, and its sending state."""

    id: str
    name: str
    configured: bool
    connected: connected_pages.Connected | None
    paused_reason: str | None
    paused_detail: str | None

    @property
    def token_dead(self) -> bool:
        return self.paused_reason in page_states.TOKEN_REASONS


def register(blueprint: Blueprint, context: ApiContext) -> None:
    settings = context.settings

    def transport() -> Transport:
        return RequestsTransport(settings.graph_url)

    def token_box() -> TokenBox | None:
        try:
            return box(settings.token_key)
        except TokenKeyMissing:
            return None

    def key_problem() -> str | None:
        """Why no page can be connected here, or None: no key, or no app to log in to."""
        try:
            box(settings.token_key)
        except TokenKeyMissing as exc:
            return str(exc)
        if not settings.app_id or not settings.app_secret:
            return (
                "PAGEFLOWS_APP_ID and PAGEFLOWS_APP_SECRET (the Meta app's id and secret)"
                " must both be set for Facebook Login; set them and restart"
            )
        return None

    def rows() -> list[PageRow]:
        connected = {c.page_id: c for c in connected_pages.listing(context.engine)}
        with Session(context.engine) as db:
            states = {s.page_id: s for s in page_states.statuses(db)}
        configured = {p.id: p for p in settings.pages}
        shown = []
        for page_id in [*configured, *(i for i in connected if i not in configured)]:
            link, state = connected.get(page_id), states.get(page_id)
            name = (link.name if link else "") or configured[page_id].name
            shown.append(
                PageRow(
                    page_id,
                    name or page_id,
                    page_id in configured,
                    link,
                    state.paused_reason if state else None,
                    state.paused_detail if state else None,
                )
            )
        return shown

    def page_config(page_id: str) -> PageConfig:
        return context.page(page_id) or PageConfig(id=page_id, token="")

    def connect(offered: facebook_login.OfferedPage, sealer: TokenBox) -> None:
        """Subscribe the app, store the sealed token, say what happened."""
        fields = facebook_login.subscribe(transport(), offered.id, offered.token)
        resumed = connected_pages.store(
            context.engine,
            sealer,
            page_id=offered.id,
            name=offered.name,
            token=offered.token,
            tasks=offered.tasks,
            subscribed_fields=[] if isinstance(fields, facebook_login.LoginFailed) else fields,
            who=signed_in() or "?",
            now=context.clock.now(),
        )
        flash(f"{offered.name} is connected; its token is stored encrypted.", "ok")
        if isinstance(fields, facebook_login.LoginFailed):
            flash(f"Subscribing to its webhooks failed: {fields.message}", "error")
        if offered.id in resumed:
            flash(f"{offered.name} had stopped sending for its old token: it sends again.", "ok")

    @blueprint.get("/pages")
    def pages() -> str:
        return render_template(
            "pages.html", rows=rows(), key_problem=key_problem(), how_to=HOW_TO_MAKE_ONE
        )

    @blueprint.post("/pages/connect")
    def pages_connect() -> Response | tuple[str, int]:
        if key_problem() is not None:
            flash(f"Nothing was connected: {key_problem()}", "error")
            return redirect(url_for("console.pages"))
        state = secrets.token_urlsafe(24)
        session[STATE_KEY] = state
        session[REFRESH_KEY] = request.form.get("refresh", "")
        callback = url_for("console.pages_callback", _external=True)
        return redirect(facebook_login.dialog_url(settings, callback, state))

    @blueprint.get("/pages/callback")
    def pages_callback() -> Response | str | tuple[str, int]:
        expected, refresh = session.pop(STATE_KEY, None), session.pop(REFRESH_KEY, "")
        given = request.args.get("state", "")
        if not isinstance(expected, str) or not secrets.compare_digest(given, expected):
            flash(
                "That Facebook Login answer does not belong to this session (an old tab, or"
                " a link from elsewhere): nothing was connected. Press Connect again.",
                "error",
            )
            return redirect(url_for("console.pages"))
        if request.args.get("error"):
            flash("Facebook Login was cancelled: nothing was connected.", "error")
            return redirect(url_for("console.pages"))
        sealer = token_box()
        if sealer is None:
            flash(f"Nothing was connected: {key_problem()}", "error")
            return redirect(url_for("console.pages"))
        callback = url_for("console.pages_callback", _external=True)
        user = facebook_login.user_token(
            transport(), settings, callback, request.args.get("code", "")
        )
        if isinstance(user, facebook_login.LoginFailed):
            flash(f"Facebook refused the login: {user.message}", "error")
            return redirect(url_for("console.pages"))
        offered = facebook_login.offered_pages(transport(), user)
        if isinstance(offered, facebook_login.LoginFailed):
            flash(f"Facebook did not list your pages: {offered.message}", "error")
            return redirect(url_for("console.pages"))
        again = next((p for p in offered if p.id == refresh), None)
        if again is not None:  # "Refresh permissions": the same page, its new token
            connect(again, sealer)
            return redirect(url_for("console.pages"))
        session[USER_KEY] = sealer.seal(user)
        return render_template("pages_pick.html", offered=offered)

    @blueprint.post("/pages/pick")
    def pages_pick() -> Response:
        sealer, sealed = token_box(), session.get(USER_KEY)
        if sealer is None or not isinstance(sealed, str):
            flash("The login is over: press Connect again.", "error")
            return redirect(url_for("console.pages"))
        try:
            user = sealer.open(sealed)
        except TokenUnreadable:
            flash("The login is over: press Connect again.", "error")
            return redirect(url_for("console.pages"))
        offered = facebook_login.offered_pages(transport(), user)
        if isinstance(offered, facebook_login.LoginFailed):
            flash(f"Facebook did not list your pages: {offered.message}", "error")
            return redirect(url_for("console.pages"))
        chosen = next((p for p in offered if p.id == request.form.get("page_id")), None)
        if chosen is None:
            flash("That page is not among the pages you administer.", "error")
            return redirect(url_for("console.pages"))
        session.pop(USER_KEY, None)
        connect(chosen, sealer)
        return redirect(url_for("console.pages"))

    @blueprint.post("/pages/<page_id>/greeting")
    def pages_greeting(page_id: str) -> Response:
        sealer = token_box()
        greeting = request.form.get("greeting", "").strip()
        if sealer is None:
            flash(f"The greeting was not set: {key_problem()}", "error")
            return redirect(url_for("console.pages"))
        try:
            token = connected_pages.token(context.engine, sealer, page_id)
        except (LookupError, TokenUnreadable) as exc:
            flash(f"The greeting was not set: {exc}", "error")
            return redirect(url_for("console.pages"))
        if len(greeting) > 160:
            flash("The greeting was not set: Messenger shows at most 160 characters.", "error")
            return redirect(url_for("console.pages"))
        outcome = facebook_login.set_greeting(transport(), page_config(page_id), token, greeting)
        if isinstance(outcome, Sent):
            flash(f"Greeting set: {greeting or '(none)'}", "ok")
        else:
            flash(f"Facebook refused the greeting: {outcome.message}", "error")
        return redirect(url_for("console.pages"))

    @blueprint.post("/pages/<page_id>/disconnect")
    def pages_disconnect(page_id: str) -> Response:
        if connected_pages.disconnect(context.engine, page_id):
            flash(
                f"Page {page_id} is disconnected here; its stored token is deleted. A page in"
                " pageflows.toml sends with its configured token again after a restart.",
                "ok",
            )
        return redirect(url_for("console.pages"))
