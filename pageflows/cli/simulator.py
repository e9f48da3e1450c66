"""`pageflows simulator ...`: run the simulated Facebook and talk to a bot as a contact.

`serve` starts the simulator with one demo page registered; `say`, `tap` and
`comment` ask a running simulator to post signed webhooks, then print what the
bot sent back, so a README can show a whole conversation from a terminal.
"""

from __future__ import annotations

import time
from typing import Any

import click
import requests
from werkzeug.serving import make_server

from pageflows.simulator.app import create_app
from pageflows.simulator.harness import DEFAULT_VERSION
from pageflows.simulator.state import SimState

DEFAULT_SIM = "http://127.0.0.1:8765"
REPLY_WAIT = 3.0  # seconds to wait for the bot's answer
QUIET_AFTER = 0.7  # stop early once the bot has been quiet this long after answering


@click.group()
def simulator() -> None:
    """A local stand-in for Facebook's Graph API and Messenger webhooks."""


@simulator.command()
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--page-id", default="104123456789012", show_default=True)
@click.option("--token", default="sim-page-token", show_default=True, help="Page access token.")
@click.option("--app-secret", default="sim-app-secret", show_default=True)
@click.option("--webhook-url", default="http://127.0.0.1:8000/webhook", show_default=True)
@click.option("--verify-token", default="sim-verify-token", show_default=True)
def serve(
    port: int, host: str, page_id: str, token: str, app_secret: str, webhook_url: str,
    verify_token: str,
) -> None:  # fmt: skip
    """Serve the simulated Graph API (any /vNN.N/ prefix) and the /_sim/ control API."""
    app = create_app(SimState())
    app.test_client().post(
        "/_sim/pages",
        json={"page_id": page_id, "token": token, "app_secret": app_secret,
              "webhook_url": webhook_url, "verify_token": verify_token},
    )  # fmt: skip
    server = make_server(host, port, app, threaded=True)
    click.echo(f"Graph API simulator on http://{host}:{server.server_port}/{DEFAULT_VERSION}")
    click.echo(f"page {page_id}, token {token!r}, app secret {app_secret!r} -> {webhook_url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _sim_options(fn: Any) -> Any:
    fn = click.option("--sim", default=DEFAULT_SIM, show_default=True, help="Simulator URL.")(fn)
    fn = click.option("--to", default=None, help="Post webhooks to this URL from now on.")(fn)
    fn = click.option("--page-id", default=None, help="Needed if several pages are registered.")(fn)
    return click.option("--as", "who", default="alice", show_default=True, help="Persona.")(fn)


@simulator.command()
@click.argument("text")
@click.option("--ref", default=None, help="Arrive through an m.me link / ad with this ref.")
@click.option("--source", default=None, help="Referral source, e.g. shortlink or ads.")
@_sim_options
def say(
    text: str, ref: str | None, source: str | None, who: str, page_id: str | None,
    to: str | None, sim: str,
) -> None:  # fmt: skip
    """Send TEXT to the page as a contact and print the bot's answer."""
    body = {"text": text, "as": who, "page_id": page_id, "ref": ref, "source": source}
    _play(sim, to, "say", body)


@simulator.command()
@click.option(
    "--ref", default=None, help="The ref the m.me link, QR code or ad carries (none: EU)."
)
@click.option("--source", default="SHORTLINK", show_default=True, help="SHORTLINK, ADS, ...")
@_sim_options
def arrive(
    ref: str | None, source: str, who: str, page_id: str | None, to: str | None, sim: str
) -> None:
    """Open the chat from an m.me link, QR code or ad, typing nothing yet."""
    body = {"as": who, "page_id": page_id, "ref": ref, "source": source if ref else None}
    _play(sim, to, "referral", body)


@simulator.command()
@click.argument("topic")
@_sim_options
def optin(topic: str, who: str, page_id: str | None, to: str | None, sim: str) -> None:
    """Tap "Get messages" on an opt-in request for TOPIC (marketing messages)."""
    _play(sim, to, "optin", {"topic": topic, "as": who, "page_id": page_id})


@simulator.command()
@click.argument("title")
@_sim_options
def tap(title: str, who: str, page_id: str | None, to: str | None, sim: str) -> None:
    """Tap the quick reply or postback button TITLE of the bot's last message."""
    _play(sim, to, "tap", {"title": title, "as": who, "page_id": page_id})


@simulator.command()
@click.argument("text")
@click.option("--post", "post_id", default=None, help="Post id (PAGEID_POSTID).")
@_sim_options
def comment(
    text: str, post_id: str | None, who: str, page_id: str | None, to: str | None, sim: str
) -> None:
    """Comment TEXT on a Page post and print the bot's private reply, if any."""
    body = {"text": text, "as": who, "page_id": page_id, "post_id": post_id}
    _play(sim, to, "comment", body)


def _call(sim: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    try:
        response = requests.request(method, f"{sim.rstrip('/')}/_sim/{path}", json=body, timeout=15)
    except requests.RequestException as exc:
        raise click.ClickException(f"no simulator at {sim} ({exc})") from exc
    data = response.json()
    if response.status_code >= 400:
        raise click.ClickException(str(data.get("error", data)))
    return data


def _play(sim: str, to: str | None, action: str, body: dict[str, Any]) -> None:
    if to is not None:
        _call(sim, "PATCH", "pages", {"page_id": body.get("page_id"), "webhook_url": to})
    seen = [e["seq"] for e in _call(sim, "GET", "messages")["data"]]
    played = _call(sim, "POST", action, {k: v for k, v in body.items() if v is not None})
    status = played.get("status")
    if status != 200:
        click.secho(f"webhook answered HTTP {status}", fg="yellow", err=True)
    if "comment_id" in played:
        click.echo(f"(comment {played['comment_id']} on {played['post_id']})")
    answers = _wait_for_answers(sim, played["psid"], max(seen, default=0))
    for entry in answers:
        for line in describe(entry):
            click.echo(f"bot > {line}" if entry["ok"] else click.style(line, fg="red"))
    if not answers:
        click.secho(
            f"(no answer within {REPLY_WAIT:g} s: the flows may have nothing to say to this, or"
            " pageflows is waiting on Facebook and will send it later; its /healthz tells)",
            fg="yellow",
            err=True,
        )


def _wait_for_answers(sim: str, psid: str, after: int) -> list[dict[str, Any]]:
    deadline, last_new = time.monotonic() + REPLY_WAIT, 0.0
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        new = _call(sim, "GET", f"messages?psid={psid}&after={after}")["data"]
        if len(new) > len(found):
            found, last_new = new, time.monotonic()
        elif found and time.monotonic() - last_new > QUIET_AFTER:
            break
        time.sleep(0.1)
    return found


def describe(entry: dict[str, Any]) -> list[str]:
    """One or more readable lines for a logged send (accepted or refused)."""
    if not entry["ok"]:
        return [f"refused: {entry['error'].get('message')}"]
    request = entry["request"]
    if "sender_action" in request:
        return [f"({request['sender_action']})"]
    message = request.get("message") or {}
    lines = [message["text"]] if "text" in message else []
    attachment = message.get("attachment") or {}
    payload = attachment.get("payload") or {}
    if attachment.get("type") == "template":
        if payload.get("text"):
            lines.append(payload["text"])
        if payload.get("template_type") == "notification_messages":
            lines.append(f"opt-in request: {payload.get('title', 'Updates and promotions')}")
            lines.append("[Get messages]  (tap with: pageflows simulator optin TOPIC)")
        lines.extend(_buttons(payload.get("buttons")))
        for element in payload.get("elements") or []:
            subtitle = f" - {element['subtitle']}" if element.get("subtitle") else ""
            lines.append(f"* {element.get('title')}{subtitle}")
            lines.extend("  " + b for b in _buttons(element.get("buttons")))
    elif attachment:
        lines.append(f"({attachment.get('type')}: {payload.get('url', payload)})")
    replies = message.get("quick_replies") or []
    if replies:
        lines.append(" ".join(f"({r.get('title') or r.get('content_type')})" for r in replies))
    tag = f" [{request.get('tag')}]" if request.get("tag") else ""
    return [lines[0] + tag, *lines[1:]] if lines else [f"(message){tag}"]


def _buttons(buttons: Any) -> list[str]:
    shown = [
        f"[{b.get('title')}{' ↗' if b.get('type') == 'web_url' else ''}]" for b in buttons or []
    ]
    return [" ".join(shown)] if shown else []
