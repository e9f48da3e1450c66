"""The web console: the operator API's data as pages people read, on the same Flask app.

Server-rendered Jinja templates (templates/), one stylesheet (static/), no
front-end build step. Each page is a module that registers its routes on one
blueprint; `auth.py` guards them all (a session cookie, a CSRF token on every
form). The work is done by the service modules the API and the CLI share, so
the console, `pageflows status` and GET /api/status always agree.
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, render_template, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from pageflows.api.context import ApiContext
from pageflows.console import auth, flows, inbox, pages, preview, session, status
from pageflows.console import broadcasts as broadcasts_page
from pageflows.console import growth as growth_page
from pageflows.console.page import ConsolePage

# Each page module has `register(blueprint, context)` and `NAV = (endpoint, label)`; the
# navigation bar lists them in this order. Add a page: one module, one line here.
PAGE_MODULES: tuple[ConsolePage, ...] = (
    preview,
    inbox,
    flows,
    growth_page,
    broadcasts_page,
    pages,
    status,
)


def create_console(context: ApiContext) -> Blueprint:
    blueprint = Blueprint(
        "console",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/console-static",
    )
    auth.register(blueprint, context)

    @blueprint.get("/")
    def home() -> Response:
        return redirect(url_for("console.status"))

    for module in PAGE_MODULES:
        module.register(blueprint, context)

    @blueprint.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        """A page of the console, never the webhook's JSON: what was not found or refused,
        in words, with the navigation to go on from."""
        return render_template("error.html", error=exc), exc.code or 500

    @blueprint.app_context_processor
    def helpers() -> dict[str, object]:
        return {
            "csrf_token": session.csrf_token,
            "csrf_field_name": session.CSRF_FIELD,
            "who": session.signed_in,
            "sandbox": context.settings.sandbox,
            "nav_items": [module.NAV for module in PAGE_MODULES],
        }

    return blueprint


def install_console(app: Flask, context: ApiContext) -> None:
    """Register the console at / and set the app's session cookie (console/session.py)."""
    session.configure(app, context.settings)
    app.register_blueprint(create_console(context))


__all__ = ["create_console", "install_console"]
