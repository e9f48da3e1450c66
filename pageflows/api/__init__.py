"""The operator API: JSON under /api, behind a bearer token, on the webhook's Flask app.

People (and the web console) read what pageflows did and act as the Page:
contacts and conversations with each message's status and the rule that let
it go (`contacts.py`), a person's replies and handing threads back
(`replies.py`), broadcasts (`broadcasts.py`), links, QR codes and per-step
numbers (`growth.py`) and the service's state (`status.py`). Each module
registers its routes on one blueprint; `auth.py` refuses every request
without the token before any of them runs. The work itself lives in
service modules the CLI shares (service/arrivals.py, links.py, step_stats.py,
status.py, ...), so a command and its route always agree.
"""

from __future__ import annotations

from flask import Blueprint

from pageflows.api import auth, broadcasts, contacts, errors, growth, replies, status
from pageflows.api.context import ApiContext

ROUTE_MODULES = (status, contacts, replies, broadcasts, growth)


def create_api(context: ApiContext) -> Blueprint:
    """The /api blueprint; register it on the webhook's app."""
    blueprint = Blueprint("api", __name__, url_prefix="/api")
    auth.protect(blueprint, context)
    errors.install(blueprint)
    for module in ROUTE_MODULES:
        module.register(blueprint, context)
    return blueprint


__all__ = ["ApiContext", "create_api"]
