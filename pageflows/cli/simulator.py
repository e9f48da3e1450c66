"""`pageflows simulator ...`: run the simulated Facebook and talk to a bot as a contact.

`serve` starts the simulator with one demo page registered; `say`, `tap` and
`comment` ask a running simulator to post signed webhooks, then print what the
bot sent back, so a README can show a whole conversation from a terminal.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import requests

from pageflows.cli import sim_why
from pageflows.cli.server import DEFAULT_CONFIG
from pageflows.simulator.app import create_app
from pageflows.simulator.harness import DEFAULT_VERSION
from pageflows.simulator.server import SimServer, with_access_log
from pageflows.simulator.state import SimState

DEFAULT_SIM = "http://127.0.0.1:8765"
TEMPLATE_STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL")
REPLY_WAIT = 3.0  # seconds to wait for the bot's answer
QUIET_AFTER = 0.7  # stop early once the bot has been quiet this long after answering
TYPING_WAIT = 21.0  # after a typing indicator: its pause is at most 20 s (docs/language.md)


@click.group()
def simulator() -> None:
    """A local stand-in for Facebook's Graph API and Messenger webhooks."""


REGIONS = ("AU", "EU", "JP", "KR", "UK")  # where notification tokens outlive 2026-02-10


@simulator.command()
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--page-id", default="104123456789012", show_default=True)
@click.option("--token", default="sim-page-token", show_default=True, help="Page access token.")
@click.option("--app-secret", default="sim-app-secret", show_default=True)
@click.option("--webhook-url", default="http://127.0.0.1:8000/webhook", show_default=True)
@click.option("--verify-token", default="sim-verify-token", show_default=True)
@click.option(
    "--region",
    type=click.Choice(REGIONS, case_sensitive=False),
    default=None,
    help="The page's region; none of these (the default): no notification tokens from 2026-02-10.",
)
@click.option("--ad-window", is_flag=True, help="7-day window after a click-to-Messenger ad.")
@click.option("--human-agent", is_flag=True, help="The app has the Human Agent permission.")
@click.option(
    "--template",
    "template_pairs",
    type=(str, str),
    multiple=True,
    metavar="NAME BODY",
    help='An approved en_US utility template, e.g. order_update "Your order {{1}} is {{2}}."',
)
@click.option(
    "--templates-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A JSON list of templates: {name, language, status, components | body, buttons}.",
)
def serve(
    port: int, host: str, page_id: str, token: str, app_secret: str, webhook_url: str,
    verify_token: str, region: str | None, ad_window: bool, human_agent: bool,
    template_pairs: tuple[tuple[str, str], ...], templates_file: str | None,
) -> None:  # fmt: skip
    """Serve the simulated Graph API (any /vNN.N/ prefix) and the /_sim/ control API."""
    declared: list[dict[str, Any]] = [{"name": n, "body": b} for n, b in template_pairs]
    if templates_file is not None:
        loaded = json.loads(Path(templates_file).read_text("utf-8"))
        if not isinstance(loaded, list):
            raise click.ClickException(f"{templates_file}: expected a JSON list of templates")
        declared.extend(loaded)
    state = SimState()
    app = create_app(state)
    registered = app.test_client().post(
        "/_sim/pages",
        json={"page_id": page_id, "token": token, "app_secret": app_secret,
              "webhook_url": webhook_url, "verify_token": verify_token,
              "region": region.upper() if region else None, "ad_window": ad_window,
              "human_agent": human_agent, "templates": declared},
    )  # fmt: skip
    if registered.status_code >= 400:
        raise click.ClickException(str((registered.get_json() or {}).get("error")))
    server = SimServer(with_access_log(app), host, port)
    click.echo(f"Graph API simulator on http://{host}:{server.port}/{DEFAULT_VERSION}")
    click.echo(f"page {page_id}, token {token!r}, app secret {app_secret!r} -> {webhook_url}")
    click.echo(
        f"region {region.upper() if region else 'none'}, "
        f"ad window {'on' if ad_window else 'off'}, {len(declared)} template(s)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        state.stopping.set()
        server.stop()


def _sim_options(fn: Any) -> Any:
    fn = click.option("--sim", default=DEFAULT_SIM, show_default=True, help="Simulator URL.")(fn)
    fn = click.option("--to", default=None, help="Post webhooks to this URL from now on.")(fn)
    fn = click.option("--page-id", default=None, help="Needed if several pages are registered.")(fn)
    return click.option("--as", "who", default="alice", show_default=True, help="Persona.")(fn)


def _play_options(fn: Any) -> Any:
    """The options of a command that plays an action and prints the bot's answer."""
    fn = click.option(
        "--config",
        "config_path",
        default=DEFAULT_CONFIG,
        show_default=True,
        type=click.Path(dir_okay=False),
        help="pageflows' settings, to read why it stayed silent (else PAGEFLOWS_DATABASE_URL).",
    )(fn)
    return _sim_options(fn)


@simulator.command()
@click.argument("text")
@click.option("--ref", default=None, help="Arrive through an m.me link / ad with this ref.")
@click.option("--source", default=None, help="Referral source, e.g. shortlink or ads.")
@click.option(
    "--from-ad",
    is_flag=True,
    help="TEXT is the first message after a click-to-Messenger ad (it carries the ad's referral).",
)
@_play_options
def say(
    text: str, ref: str | None, source: str | None, from_ad: bool, who: str,
    page_id: str | None, to: str | None, sim: str, config_path: str,
) -> None:  # fmt: skip
    """Send TEXT to the page as a contact and print the bot's answer."""
    body = {"text": text, "as": who, "page_id": page_id, "ref": ref, "source": source,
            "from_ad": from_ad or None}  # fmt: skip
    _play(sim, to, "say", body, config_path)


@simulator.command()
@click.option(
    "--ref", default=None, help="The ref the m.me link, QR code or ad carries (none: EU)."
)
@click.option("--source", default="SHORTLINK", show_default=True, help="SHORTLINK, ADS, ...")
@_play_options
def arrive(
    ref: str | None, source: str, who: str, page_id: str | None, to: str | None, sim: str,
    config_path: str,
) -> None:  # fmt: skip
    """Open the chat from an m.me link, QR code or ad, typing nothing yet."""
    body = {"as": who, "page_id": page_id, "ref": ref, "source": source if ref else None}
    _play(sim, to, "referral", body, config_path)


@simulator.command("inbox-reply")
@click.argument("text")
@_sim_options
def inbox_reply(text: str, who: str, page_id: str | None, to: str | None, sim: str) -> None:
    """Answer a contact as a person in Facebook's Page inbox (our webhook gets the echo)."""
    if to is not None:
        _call(sim, "PATCH", "pages", {"page_id": page_id, "webhook_url": to})
    body = {"text": text, "as": who, "page_id": page_id}
    played = _call(sim, "POST", "inbox/reply", {k: v for k, v in body.items() if v is not None})
    if played.get("status") != 200:
        click.secho(f"webhook answered HTTP {played.get('status')}", fg="yellow", err=True)
    click.echo(f"page inbox > {text}  (to {played['psid']}; the Page inbox now holds the thread)")


@simulator.command()
@click.argument("topic")
@click.option(
    "--link", is_flag=True, help="Opt in through an m.me/rn link naming TOPIC, not a request."
)
@_play_options
def optin(
    topic: str, link: bool, who: str, page_id: str | None, to: str | None, sim: str,
    config_path: str,
) -> None:  # fmt: skip
    """Tap "Get messages" under the opt-in request titled TOPIC (or its payload).

    Messenger shows the button only under a request the bot sent and that was not tapped
    yet: without one this says so, lists the requests on screen, and does nothing."""
    body = {"topic": topic, "as": who, "page_id": page_id, "via": "link" if link else None}
    _play(sim, to, "optin", body, config_path)


@simulator.command()
@click.argument("title")
@_play_options
def tap(
    title: str, who: str, page_id: str | None, to: str | None, sim: str, config_path: str
) -> None:
    """Tap TITLE: a quick reply of the bot's last message, a button of its recent ones, or
    "Get messages" under an opt-in request; a title not on screen lists what is."""
    _play(sim, to, "tap", {"title": title, "as": who, "page_id": page_id}, config_path)


@simulator.command()
@click.argument("text")
@click.option("--post", "post_id", default=None, help="Post id (PAGEID_POSTID).")
@_play_options
def comment(
    text: str, post_id: str | None, who: str, page_id: str | None, to: str | None, sim: str,
    config_path: str,
) -> None:  # fmt: skip
    """Comment TEXT on a Page post and print the bot's private reply, if any."""
    body = {"text": text, "as": who, "page_id": page_id, "post_id": post_id}
    _play(sim, to, "comment", body, config_path)


@simulator.command()
@click.option("--region", type=click.Choice(REGIONS, case_sensitive=False), default=None)
@click.option("--no-region", is_flag=True, help="None of the five regions (the default).")
@click.option("--ad-window/--no-ad-window", default=None, help="The 7-day window after an ad.")
@click.option(
    "--human-agent/--no-human-agent", default=None, help="The app's Human Agent permission."
)
@click.option("--page-id", default=None, help="Needed if several pages are registered.")
@click.option("--sim", default=DEFAULT_SIM, show_default=True, help="Simulator URL.")
def page(
    region: str | None,
    no_region: bool,
    ad_window: bool | None,
    human_agent: bool | None,
    page_id: str | None,
    sim: str,
) -> None:
    """Show the page's settings; change its region or ad window when asked."""
    if region is not None and no_region:
        raise click.UsageError("give --region or --no-region, not both")
    changes: dict[str, Any] = {}
    if region is not None or no_region:
        changes["region"] = region.upper() if region else None
    if ad_window is not None:
        changes["ad_window"] = ad_window
    if human_agent is not None:
        changes["human_agent"] = human_agent
    if changes:
        shown = [_call(sim, "PATCH", "pages", {"page_id": page_id, **changes})]
    else:
        shown = [p for p in _call(sim, "GET", "pages")["data"] if page_id in (None, p["page_id"])]
    for settings in shown:
        click.echo(
            f"page {settings['page_id']}: region {settings['region'] or 'none'}, "
            f"ad window {'on' if settings['ad_window'] else 'off'}, "
            f"human agent permission {'yes' if settings.get('human_agent') else 'no'}"
        )


@simulator.command()
@click.option("--page-id", default=None, help="Needed if several pages are registered.")
@click.option("--sim", default=DEFAULT_SIM, show_default=True, help="Simulator URL.")
def templates(page_id: str | None, sim: str) -> None:
    """List the page's message templates: id, name, language, status, body."""
    query = "templates" + (f"?page_id={page_id}" if page_id else "")
    found = _call(sim, "GET", query)["data"]
    for t in found:
        body = next((c.get("text", "") for c in t["components"] if c.get("type") == "BODY"), "")
        click.echo(f"{t['id']}  {t['name']} ({t['language']})  {t['status']}  {body}")
    if not found:
        click.echo("(no templates)")


@simulator.command("template-status")
@click.argument("name")
@click.argument("status", type=click.Choice(TEMPLATE_STATUSES, case_sensitive=False))
@click.option("--language", default="en_US", show_default=True)
@click.option("--reason", default="NONE", show_default=True)
@click.option("--page-id", default=None, help="Needed if several pages are registered.")
@click.option("--sim", default=DEFAULT_SIM, show_default=True, help="Simulator URL.")
def template_status(
    name: str, status: str, language: str, reason: str, page_id: str | None, sim: str
) -> None:
    """Facebook's review moves template NAME to STATUS; the page's webhook is told."""
    body = {"name": name, "language": language, "status": status.upper(), "reason": reason,
            "page_id": page_id}  # fmt: skip
    changed = _call(sim, "POST", "templates/status", body)
    click.echo(
        f"{changed['name']} ({changed['language']}) is {changed['status']}; "
        f"webhook answered HTTP {changed['webhook_status']}"
    )


def _call(sim: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    try:
        response = requests.request(method, f"{sim.rstrip('/')}/_sim/{path}", json=body, timeout=15)
    except requests.RequestException as exc:
        raise click.ClickException(f"no simulator at {sim} ({exc})") from exc
    data = response.json()
    if response.status_code >= 400:
        raise click.ClickException(str(data.get("error", data)))
    return data


def _play(sim: str, to: str | None, action: str, body: dict[str, Any], config_path: str) -> None:
    """Play one action, print what reached the contact and how it was sent; then what
    pageflows decided but did not send, and why the bot was silent if it was."""
    if to is not None:
        _call(sim, "PATCH", "pages", {"page_id": body.get("page_id"), "webhook_url": to})
    pages = [p["page_id"] for p in _call(sim, "GET", "pages")["data"]]
    page_id = body.get("page_id") or (pages[0] if len(pages) == 1 else None)
    seen = sim_why.watch(config_path, page_id) if page_id else None
    logged = [e["seq"] for e in _call(sim, "GET", "messages")["data"]]
    played = _call(sim, "POST", action, {k: v for k, v in body.items() if v is not None})
    status = played.get("status")
    if status != 200:
        click.secho(f"webhook answered HTTP {status}", fg="yellow", err=True)
    if "comment_id" in played:
        click.echo(f"(comment {played['comment_id']} on {played['post_id']})")
    answers = _wait_for_answers(sim, played["psid"], max(logged, default=0))
    for entry in answers:
        for line in describe(entry):
            click.echo(f"bot > {line}" if entry["ok"] else click.style(line, fg="red"))
    delivered = any(e["ok"] and "sender_action" not in e["request"] for e in answers)
    if seen is not None:
        for line in sim_why.explain(seen, played["psid"], delivered):
            click.secho(line, fg="yellow")
        seen.engine.dispose()
    elif not delivered:
        click.secho(_silence_seen_by_facebook(sim, played["psid"], page_id), fg="yellow", err=True)


def _silence_seen_by_facebook(sim: str, psid: str, page_id: str | None) -> str:
    """Without pageflows' database, what the simulator itself knows about a silence."""
    query = f"contacts/{psid}" + (f"?page_id={page_id}" if page_id else "")
    try:
        facts = _call(sim, "GET", query)
    except click.ClickException:
        facts = {}
    if facts.get("thread_elsewhere"):
        who = "the Page inbox" if facts.get("owner_is_page_inbox") else "another app"
        return (
            f"(silent: {who} holds the thread (app {facts['owner_app_id']}): Facebook refuses"
            " pageflows' messages until the thread is passed back)"
        )
    return (
        f"(no answer within {REPLY_WAIT:g} s: the flows may have nothing to say to this, or"
        " pageflows is waiting on Facebook and will send it later; run this where"
        " `pageflows serve` runs, or give --config, to see why)"
    )


def _wait_for_answers(sim: str, psid: str, after: int) -> list[dict[str, Any]]:
    """The bot's answers to one action: until it has been quiet a moment after answering.

    A typing indicator is a promise of more: the next message is held for the flow's
    `typing` pause (at most 20 s), so the bot is not quiet until that message came.
    """
    deadline, last_new = time.monotonic() + REPLY_WAIT, 0.0
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        new = _call(sim, "GET", f"messages?psid={psid}&after={after}")["data"]
        now = time.monotonic()
        typing = bool(new) and _is_typing(new[-1])
        if len(new) > len(found):
            found, last_new = new, now
            if typing:
                deadline = max(deadline, now + TYPING_WAIT)
        elif found and now - last_new > (TYPING_WAIT if typing else QUIET_AFTER):
            break
        time.sleep(0.1)
    return found


def _is_typing(entry: dict[str, Any]) -> bool:
    return (entry.get("request") or {}).get("sender_action") == "typing_on"


def how_sent(entry: dict[str, Any]) -> str:
    """How Facebook was asked to deliver a send, in `pageflows chat`'s words: RESPONSE,
    UPDATE, MESSAGE_TAG TAG, UTILITY NAME, notification token (TITLE), private reply."""
    request = entry["request"]
    recipient = request.get("recipient") or {}
    if "comment_id" in recipient:
        return "private reply"
    if "notification_messages_token" in recipient:
        title = entry.get("token_title")
        return f"notification token ({title})" if title else "notification token"
    kind = request.get("messaging_type") or "RESPONSE"  # Facebook's default
    if kind == "MESSAGE_TAG":
        return f"MESSAGE_TAG {request.get('tag')}"
    if kind == "UTILITY":
        template = (request.get("message") or {}).get("template") or {}
        return f"UTILITY {template.get('name')}"
    return str(kind)


def describe(entry: dict[str, Any]) -> list[str]:
    """One or more readable lines for a logged send (accepted or refused), the first saying
    how it was sent: `[UPDATE] text`, `[UTILITY order_update] text`, ..."""
    request = entry["request"]
    if "sender_action" in request:
        return [f"({request['sender_action']})"]
    how = how_sent(entry)
    if not entry["ok"]:
        return [f"refused [{how}]: {entry['error'].get('message')}"]
    if entry.get("template"):  # a utility template: what the person reads, and its buttons
        shown = entry.get("shown") or {}
        buttons = [
            {"title": b.get("text"), "type": "web_url" if b.get("type") == "URL" else ""}
            for b in shown.get("buttons") or []
        ]
        return [f"[{how}] {shown.get('text', '')}", *_buttons(buttons)]
    message = request.get("message") or {}
    lines = [message["text"]] if "text" in message else []
    attachment = message.get("attachment") or {}
    payload = attachment.get("payload") or {}
    if attachment.get("type") == "template":
        if payload.get("text"):
            lines.append(payload["text"])
        if payload.get("template_type") == "notification_messages":
            title = payload.get("title", "Updates and promotions")
            lines.append(f"opt-in request: {title}")
            lines.append(f'[Get messages]  (tap with: pageflows simulator optin "{title}")')
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
    return [f"[{how}] {lines[0]}", *lines[1:]] if lines else [f"[{how}] (message)"]


def _buttons(buttons: Any) -> list[str]:
    shown = [
        f"[{b.get('title')}{' ↗' if b.get('type') == 'web_url' else ''}]" for b in buttons or []
    ]
    return [" ".join(shown)] if shown else []
