"""Connecting a Facebook Page as platforms do: Facebook Login, the pages, the subscription.

The steps (Facebook's "Manual login flow" and the Pages API):
1. the OAuth dialog, `dialog_url`: the person logs in and allows our scopes;
2. the callback's code for a short-lived user token, then that for a long-lived
   one (`user_token`), with our app's id and secret;
3. `me/accounts` with it (`offered_pages`): the pages the person administers, each
   with a page token that does not expire (it comes from a long-lived user token);
4. `subscribed_apps` on the chosen page (`subscribe`): the webhook fields the engine
   reads, then what Facebook reports back.

Each step returns its value or a `LoginFailed` with Facebook's message, never an
exception: the console shows it to the person. In sandbox mode the simulator
plays every part (its dialog is under the simulator's root, not www.facebook.com).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

from pageflows.service.config import PageConfig, Settings
from pageflows.service.graph.client import GraphClient, Outcome
from pageflows.service.graph.transport import Request, Response, Transport, TransportError

SCOPES = ("pages_messaging", "pages_manage_metadata", "pages_show_list")
# The Page webhook fields the engine reads (webhooks.md section 5): messages and quick
# replies, echoes (a person answering in the Page inbox), postbacks, opt-ins, referrals
# (m.me links, ads), deliveries and reads (message status), reactions, handover and
# standby, Facebook's policy actions, template status, and feed for comments.
WEBHOOK_FIELDS = (
    "messages", "message_echoes", "messaging_postbacks", "messaging_optins",
    "messaging_referrals", "message_deliveries", "message_reads", "message_reactions",
    "messaging_handovers", "standby", "messaging_policy_enforcement",
    "message_template_status_update", "feed",
)  # fmt: skip


@dataclass(frozen=True)
class LoginFailed:
    """Why a step did not work, in Facebook's words (code 190: the token is dead)."""

    message: str
    code: int | None = None


@dataclass(frozen=True)
class OfferedPage:
    """A page the person administers, as me/accounts lists it."""

    id: str
    name: str
    token: str
    tasks: tuple[str, ...]

    @property
    def can_message(self) -> bool:
        return "MESSAGING" in self.tasks or "MODERATE" in self.tasks or "MANAGE" in self.tasks


def dialog_url(settings: Settings, redirect_uri: str, state: str) -> str:
    """Where the Connect button sends the browser: Facebook's OAuth dialog (the simulator's
    in sandbox mode, at its root), with our scopes and the session's `state`."""
    query = urlencode(
        {
            "client_id": settings.app_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": ",".join(SCOPES),
            "response_type": "code",
        }
    )
    if settings.sandbox:
        parts = urlsplit(settings.graph_url)
        return f"{parts.scheme}://{parts.netloc}/dialog/oauth?{query}"
    return f"https://www.facebook.com/{settings.graph_version}/dialog/oauth?{query}"


def _failed(answer: Response | TransportError) -> LoginFailed:
    if isinstance(answer, TransportError):
        return LoginFailed(f"Facebook did not answer: {answer}")
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        return LoginFailed(
            str(error.get("message", "refused")), code if isinstance(code, int) else None
        )
    return LoginFailed(f"Facebook answered HTTP {answer.status} without an error")


def _get(
    transport: Transport, method: str, path: str, **params: str
) -> dict[str, Any] | LoginFailed:
    try:
        answer = transport.send(Request(method, path, dict(params)))
    except TransportError as exc:
        return _failed(exc)
    if answer.status >= 300 or not isinstance(answer.body, dict) or "error" in answer.body:
        return _failed(answer)
    return answer.body


def user_token(
    transport: Transport, settings: Settings, redirect_uri: str, code: str
) -> str | LoginFailed:
    """The callback's code for a long-lived user token (two exchanges, as Facebook asks)."""
    app = {"client_id": settings.app_id, "client_secret": settings.app_secret}
    short = _get(
        transport, "GET", "oauth/access_token", redirect_uri=redirect_uri, code=code, **app
    )
    if isinstance(short, LoginFailed):
        return short
    long = _get(
        transport,
        "GET",
        "oauth/access_token",
        grant_type="fb_exchange_token",
        fb_exchange_token=str(short.get("access_token", "")),
        **app,
    )
    if isinstance(long, LoginFailed):
        return long
    return str(long.get("access_token", ""))


def offered_pages(transport: Transport, user: str) -> list[OfferedPage] | LoginFailed:
    """The pages the person administers, with their page tokens."""
    body = _get(
        transport, "GET", "me/accounts", access_token=user, fields="id,name,access_token,tasks"
    )
    if isinstance(body, LoginFailed):
        return body
    offered = []
    for item in body.get("data", []):
        if isinstance(item, dict) and item.get("id") and item.get("access_token"):
            tasks = tuple(str(t) for t in item.get("tasks", []) if isinstance(t, str))
            offered.append(
                OfferedPage(
                    str(item["id"]), str(item.get("name", "")), str(item["access_token"]), tasks
                )
            )
    return offered


def subscribed_fields(transport: Transport, page_id: str, token: str) -> list[str] | LoginFailed:
    """The webhook fields Facebook reports our app subscribed to on the page."""
    body = _get(transport, "GET", f"{page_id}/subscribed_apps", access_token=token)
    if isinstance(body, LoginFailed):
        return body
    apps = [a for a in body.get("data", []) if isinstance(a, dict)]
    fields = apps[0].get("subscribed_fields", []) if apps else []
    return [str(f) for f in fields]


def subscribe(transport: Transport, page_id: str, token: str) -> list[str] | LoginFailed:
    """Subscribe our app to the page's webhooks; returns the fields as Facebook reports them."""
    done = _get(
        transport,
        "POST",
        f"{page_id}/subscribed_apps",
        access_token=token,
        subscribed_fields=",".join(WEBHOOK_FIELDS),
    )
    if isinstance(done, LoginFailed):
        return done
    return subscribed_fields(transport, page_id, token)


def set_greeting(transport: Transport, page: PageConfig, token: str, greeting: str) -> Outcome:
    """The page's Messenger profile with this greeting, as `pageflows profile sync` sets it
    (PageConfig.messenger_profile: the greeting, Get Started and the ice breakers)."""
    profile = replace(page, greeting=greeting.strip() or None).messenger_profile()
    return GraphClient(transport, token).set_messenger_profile(profile)
