"""Facebook Login and webhook subscriptions, simulated (issue 11: the console's Pages page).

What a platform does to connect a Page, as Facebook answers it:

- `GET /dialog/oauth` (also under a version): the login dialog, a small page
  "Log in as Sandbox Admin" listing the pages the person administers, with
  Continue (to `redirect_uri?code=...&state=...`) and Cancel (to
  `redirect_uri?error=access_denied&error_reason=user_denied&state=...`);
- `GET /{version}/oauth/access_token`: a code for a short-lived user token,
  `grant_type=fb_exchange_token` for a long-lived one, with Facebook's error
  bodies for a wrong app, secret, code or redirect_uri;
- `GET /{version}/me/accounts`: the person's pages, each with a page token;
- `GET/POST/DELETE /{version}/{page-id}/subscribed_apps` (send-api.md section 7);
- `POST /_sim/pages/{page-id}/kill_token`: every token of the page dies, as when
  the person changes their password: the page's next call is a 190.

A code lives 10 minutes and works once; the simulator's clock is the judge.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, redirect, render_template_string, request
from werkzeug.wrappers import Response

from pageflows.simulator import errors
from pageflows.simulator.errors import GraphError
from pageflows.simulator.graph import VERSION, access_token, request_body
from pageflows.simulator.state import Page, SimState

PERSON = {"id": "100000000000099", "name": "Sandbox Admin"}  # who logs in to the dialog
CODE_LIFETIME = timedelta(minutes=10)
SHORT_LIVED = 5400  # seconds: about an hour and a half, as Facebook's are
LONG_LIVED = 5_184_000  # 60 days
TASKS = ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]
# The Page webhook fields an app may subscribe to (webhooks.md section 5, and feed).
FIELDS = (
    "messages", "message_echoes", "messaging_postbacks", "messaging_referrals",
    "messaging_optins", "message_deliveries", "message_reads", "message_reactions",
    "message_edits", "messaging_handovers", "standby", "messaging_policy_enforcement",
    "messaging_account_linking", "messaging_feedback", "response_feedback",
    "message_template_status_update", "messaging_customer_information", "inbox_labels",
    "feed",
)  # fmt: skip

DIALOG = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in with Facebook (simulated)</title>
<style>body{font:16px system-ui,sans-serif;background:#f0f2f5;margin:0}
main{max-width:420px;margin:2rem auto;background:#fff;border-radius:8px;padding:1.25rem}
button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #ccd0d5}
.go{background:#0866ff;color:#fff;border-color:#0866ff}.err{color:#c62828}</style></head>
<body><main>
{% if error %}
<h1>Facebook Login (simulated)</h1><p class="err">{{ error }}</p>
{% else %}
<h1>Log in as {{ person.name }}</h1>
<p>The app {{ client_id }} asks for: {{ scope or "public_profile" }}.</p>
<p>Pages {{ person.name }} administers:</p>
<ul>{% for page in pages %}<li>{{ page.name }} ({{ page.page_id }})</li>
{% else %}<li>none</li>{% endfor %}</ul>
<form method="post" action="{{ action }}">
{% for key, value in fields.items() %}
<input type="hidden" name="{{ key }}" value="{{ value }}">{% endfor %}
<button class="go" type="submit" name="choice" value="continue">
Continue as {{ person.name }}</button>
<button type="submit" name="choice" value="cancel">Cancel</button>
</form>
{% endif %}
</main></body></html>"""


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


def _app_page(state: SimState, client_id: str) -> Page | None:
    """A page of the app `client_id` (its secret is the app's secret)."""
    with state.lock:
        return next((p for p in state.pages.values() if p.app_id == client_id), None)


def _check_app(state: SimState, client_id: str, secret: str) -> None:
    if not client_id:
        raise GraphError(101, "Missing client_id parameter.")
    page = _app_page(state, client_id)
    if page is None:
        raise GraphError(101, "Error validating application. Invalid application ID.")
    if not secrets.compare_digest(secret, page.app_secret):
        # Facebook answers a wrong client_secret with code 1 (not a transient error here).
        raise GraphError(1, "Error validating client secret.", status=400)


def _user(state: SimState, token: str | None) -> dict[str, Any]:
    """The user token's record, or the 190 Facebook gives for a token it cannot use."""
    with state.lock:
        found = state.user_tokens.get(token or "")
        if found is None or token in state.dead_tokens:
            if state.page_for_token(token) is not None:
                raise GraphError(
                    100, "(#100) Tried accessing nonexisting field (accounts) on node type (Page)"
                )
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")
        return found


def oauth_blueprint(state: SimState) -> Blueprint:
    bp = Blueprint("sim_oauth", __name__)

    def dialog(version: str | None = None) -> tuple[str, int] | str:
        args = request.args
        client_id, redirect_uri = args.get("client_id", ""), args.get("redirect_uri", "")
        shown: dict[str, Any] = {"person": PERSON, "error": None}
        if _app_page(state, client_id) is None:
            shown["error"] = (
                "Invalid App ID: the provided app ID does not look like a valid app ID."
            )
            return render_template_string(DIALOG, **shown), 400
        if not urlsplit(redirect_uri).scheme:
            shown["error"] = "URL blocked: this redirect failed because redirect_uri is missing."
            return render_template_string(DIALOG, **shown), 400
        with state.lock:
            pages = list(state.pages.values())
        fields = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": args.get("state", ""),
            "scope": args.get("scope", ""),
        }
        return render_template_string(
            DIALOG,
            **shown,
            pages=pages,
            client_id=client_id,
            scope=fields["scope"],
            fields=fields,
            action=request.path,
        )

    def decide(version: str | None = None) -> Response:
        form = request.form
        redirect_uri, given_state = form.get("redirect_uri", ""), form.get("state", "")
        if form.get("choice") != "continue":
            return redirect(
                _with_query(
                    redirect_uri,
                    {
                        "error": "access_denied",
                        "error_code": "200",
                        "error_description": "Permissions error",
                        "error_reason": "user_denied",
                        "state": given_state,
                    },
                )
            )
        code = secrets.token_urlsafe(48)
        with state.lock:
            state.oauth_codes[code] = {
                "client_id": form.get("client_id", ""),
                "redirect_uri": redirect_uri,
                "scope": form.get("scope", ""),
                "at": state.clock.now(),
                "used": False,
            }
        return redirect(_with_query(redirect_uri, {"code": code, "state": given_state}))

    bp.add_url_rule("/dialog/oauth", "dialog", dialog, methods=["GET"])
    bp.add_url_rule("/<version>/dialog/oauth", "dialog_versioned", dialog, methods=["GET"])
    bp.add_url_rule("/dialog/oauth", "decide", decide, methods=["POST"])
    bp.add_url_rule("/<version>/dialog/oauth", "decide_versioned", decide, methods=["POST"])

    @bp.route("/<version>/oauth/access_token", methods=["GET", "POST"])
    def access_token_route(version: str) -> tuple[dict[str, Any], int]:
        if not VERSION.fullmatch(version):
            raise GraphError(2500, f"Unknown path components: /{version}/oauth/access_token")
        given = {**request.args.to_dict(), **request.form.to_dict()}
        client_id = given.get("client_id", "")
        _check_app(state, client_id, given.get("client_secret", ""))
        if given.get("grant_type") == "fb_exchange_token":
            old = _user(state, given.get("fb_exchange_token"))
            return _mint_user(state, old["client_id"], old["scope"], long=True), 200
        code = given.get("code", "")
        with state.lock:
            found = state.oauth_codes.get(code)
            if found is None:
                raise GraphError(100, "Invalid verification code format.")
            if found["used"]:
                raise GraphError(100, "This authorization code has been used.", 36009)
            if state.clock.now() - found["at"] > CODE_LIFETIME:
                raise GraphError(100, "This authorization code has expired.", 36007)
            if (
                found["redirect_uri"] != given.get("redirect_uri")
                or found["client_id"] != client_id
            ):
                raise GraphError(
                    100,
                    "Error validating verification code. Please make sure your redirect_uri is"
                    " identical to the one you used in the OAuth dialog request",
                    36008,
                )
            found["used"] = True
        return _mint_user(state, client_id, found["scope"], long=False), 200

    @bp.get("/<version>/me/accounts")
    def accounts(version: str) -> tuple[dict[str, Any], int]:
        user = _user(state, access_token())
        if "pages_show_list" not in user["scope"].split(","):
            return {"data": []}, 200  # Facebook lists no page without pages_show_list
        data = []
        with state.lock:
            for page in state.pages.values():
                token = user["page_tokens"].get(page.page_id)
                if token is None or token in state.dead_tokens:
                    token = "EAAsim" + secrets.token_urlsafe(40)
                    user["page_tokens"][page.page_id] = token
                    page.issued_tokens.add(token)
                data.append(
                    {
                        "access_token": token,
                        "category": "Restaurant",
                        "category_list": [{"id": "273819889375819", "name": "Restaurant"}],
                        "name": page.name,
                        "id": page.page_id,
                        "tasks": TASKS,
                    }
                )
        return {"data": data, "paging": {"cursors": {"before": "QVFI", "after": "QVFI"}}}, 200

    @bp.route("/<version>/<node>/subscribed_apps", methods=["GET", "POST", "DELETE"])
    def subscribed_apps(version: str, node: str) -> tuple[dict[str, Any], int]:
        page = state.page_for_token(access_token())
        if page is None or node not in ("me", page.page_id):
            raise errors.invalid_token()
        if request.method == "GET":
            with state.lock:
                fields = list(page.subscribed_fields)
            if not fields:
                return {"data": []}, 200
            app = {"category": "Business", "link": "https://pageflows.example/",
                   "name": "pageflows", "id": page.app_id, "subscribed_fields": fields}  # fmt: skip
            return {"data": [app]}, 200
        if request.method == "DELETE":
            with state.lock:
                page.subscribed_fields = []
            return {"success": True}, 200
        raw = request.args.get("subscribed_fields") or request_body().get("subscribed_fields")
        if isinstance(raw, list):
            raw = ",".join(str(f) for f in raw)
        if not raw:
            raise errors.invalid_param("The parameter subscribed_fields is required.")
        wanted = [f.strip() for f in str(raw).split(",") if f.strip()]
        for n, name in enumerate(wanted):
            if name not in FIELDS:
                raise errors.invalid_param(
                    f"Param subscribed_fields[{n}] must be one of"
                    f' {{{", ".join(FIELDS)}}} - got "{name}"'
                )
        with state.lock:
            page.subscribed_fields = list(dict.fromkeys(wanted))
        return {"success": True}, 200

    @bp.post("/_sim/pages/<page_id>/kill_token")
    def kill_token(page_id: str) -> tuple[dict[str, Any], int]:
        """Tokens die as when the person changes their password: the one given, or all."""
        body = request.get_json(silent=True) or {}
        page = state.only_page(page_id)
        with state.lock:
            chosen = body.get("token")
            doomed = {chosen} if chosen else {page.token, *page.issued_tokens}
            state.dead_tokens |= doomed
        return {"killed": len(doomed)}, 200

    return bp


def _mint_user(state: SimState, client_id: str, scope: str, *, long: bool) -> dict[str, Any]:
    token = "EAAuser" + secrets.token_urlsafe(40)
    with state.lock:
        state.user_tokens[token] = {
            "client_id": client_id,
            "scope": scope,
            "long": long,
            "person": PERSON["id"],
            "page_tokens": {},
        }
    lifetime = LONG_LIVED if long else SHORT_LIVED
    return {"access_token": token, "token_type": "bearer", "expires_in": lifetime}
