"""Who is signed in to the console: a signed session cookie, and a CSRF token per session.

The cookie is Flask's signed session (itsdangerous): it holds who signed in
and the session's CSRF token; Flask refuses one whose signature is older than
SESSION_HOURS (wall time, refreshed on each request: an idle session ends,
whatever the sandbox's moved clock says); it is HttpOnly (no script reads it),
SameSite=Lax (another site's form posts go without it) and Secure outside
sandbox mode. Every gunicorn process must sign and read the same cookies, so
the key is derived from a setting they all share: PAGEFLOWS_SECRET_KEY, else
the admin token, else the app secret. Changing that setting signs everyone out.

Every form carries the session's CSRF token (`csrf_field()` in templates) and
a POST without the right one is refused before any route runs: a page on
another site cannot make a signed-in browser act.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import Flask, session

from pageflows.service.config import Settings

SESSION_HOURS = 12
CSRF_FIELD = "csrf_token"
_KEY_LABEL = b"pageflows console session v1"


class ConsoleOff(Exception):
    """Nothing to sign the cookies with: the console cannot sign anyone in."""


def session_key(settings: Settings) -> bytes:
    """The cookie-signing key every process derives alike; ConsoleOff if there is none."""
    root = settings.secret_key or settings.admin_token or settings.app_secret
    if not root:
        raise ConsoleOff(
            "the console is off: set PAGEFLOWS_ADMIN_TOKEN (or PAGEFLOWS_SECRET_KEY) and restart"
        )
    return hmac.new(root.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()


def configure(app: Flask, settings: Settings) -> None:
    """The app's cookie settings; without a key the console's pages say it is off."""
    try:
        app.secret_key = session_key(settings)
    except ConsoleOff:
        app.secret_key = None
    app.config.update(
        SESSION_COOKIE_NAME="pageflows_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Browsers keep Secure cookies on http://localhost too; sandbox runs on plain http
        # on any address, production behind TLS.
        SESSION_COOKIE_SECURE=not settings.sandbox,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )


def signed_in() -> str | None:
    """The signed-in person's name ("admin" for the admin token), or None."""
    who = session.get("who")
    return who if isinstance(who, str) else None


def sign_in(who: str) -> None:
    """A fresh session (a new CSRF token too: one seen before signing in is not reused)."""
    session.clear()
    session.permanent = True
    session["who"] = who
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def sign_out() -> None:
    session.clear()


def csrf_token() -> str:
    """The session's CSRF token, made on first use (the sign-in form needs one too)."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def csrf_ok(given: str | None) -> bool:
    expected = session.get(CSRF_FIELD)
    if not isinstance(expected, str) or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
