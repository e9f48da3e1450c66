"""Signing in and out, and the gate every console page and form passes first.

Two ways in: the admin token (PAGEFLOWS_ADMIN_TOKEN; `serve --sandbox` prints a
link carrying this run's token, which signs the browser in and drops the token
from the address), or a `[[users]]` name and password (service/users.py). A
page asked for without a session redirects to the sign-in form and back; a
form posted without a session, or without its CSRF token, is refused.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

from pageflows.api.auth import token_matches
from pageflows.api.context import ApiContext
from pageflows.console.session import (
    CSRF_FIELD,
    csrf_ok,
    sign_in,
    sign_out,
    signed_in,
)

log = logging.getLogger("pageflows.console")
OPEN_ENDPOINTS = {"console.signin", "console.signin_form", "console.static"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# A hash to check against when the name is unknown, so a wrong name costs what a
# wrong password does and the time taken does not tell which names exist.
_DUMMY_HASH = (
    "scrypt:32768:8:1$VRh5QkZSewIGki3S$559cdab311154e30851f7d2901077657a7837d19b74729370f9e9d3eb53"
    "d43b7ac7cea274a86e9369b5e85bf37a8b50680c697dca2352c58c12f56cc7e962103"
)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another host."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def check_user(context: ApiContext, name: str, password: str) -> bool:
    user = next((u for u in context.settings.users if u.name == name), None)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    try:
        return check_password_hash(user.password_hash, password)
    except ValueError:  # a hash werkzeug cannot read (edited by hand): no way in, said once
        log.warning(
            "the password_hash of console user %s is unreadable: run `pageflows users"
            " hash %s` again",
            name,
            name,
        )
        return False


def register(blueprint: Blueprint, context: ApiContext) -> None:
    @blueprint.before_request
    def gate() -> Response | tuple[str, int] | None:
        if not current_app.secret_key:  # nothing to sign sessions with: say how to turn it on
            return render_template("off.html"), 404
        if request.method in UNSAFE_METHODS and not csrf_ok(request.form.get(CSRF_FIELD)):
            return render_template("refused.html", why="csrf"), 403
        if request.endpoint in OPEN_ENDPOINTS:
            return None
        token = request.args.get("token")
        if request.method == "GET" and token and token_matches(token, context.admin_token):
            sign_in("admin")  # the link `serve` prints; the token leaves the address bar
            rest = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "token"])
            return redirect(request.path + (f"?{rest}" if rest else ""))
        if signed_in() is not None:
            return None
        if request.method == "GET":
            return redirect(url_for("console.signin_form", next=request.full_path.rstrip("?")))
        return render_template("refused.html", why="signed_out"), 401

    @blueprint.get("/signin")
    def signin_form() -> str:
        return render_template(
            "signin.html", next=safe_next(request.args.get("next")), error=None, name=""
        )

    @blueprint.post("/signin")
    def signin() -> Response | tuple[str, int]:
        name = request.form.get("name", "").strip()
        secret = request.form.get("password", "")
        target = safe_next(request.form.get("next"))
        if name and check_user(context, name, secret):
            sign_in(name)
            return redirect(target)
        if not name and token_matches(secret, context.admin_token):
            sign_in("admin")
            return redirect(target)
        error = "wrong name or password" if name else "that is not the admin token"
        return render_template("signin.html", next=target, error=error, name=name), 401

    @blueprint.post("/signout")
    def signout() -> Response:
        sign_out()
        return redirect(url_for("console.signin_form"))
