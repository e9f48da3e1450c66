"""`pageflows contacts` and `pageflows conversation PSID`: what the API shows, in a terminal.

Both read the database named by --config / ./pageflows.toml / the environment,
as `pageflows inbox` does, and share their queries with the API
(`service/conversations.py`). A list ends with the command that shows the next
page; a transcript marks the contact's lines `>` and ours `<`, each of ours with
its status and why it was allowed.
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime
from typing import Any

import click
from sqlalchemy import Engine

from pageflows.cli.operate import engine_or_exit
from pageflows.cli.server import config_option, read_settings_or_exit
from pageflows.clock import SystemClock
from pageflows.service import conversations
from pageflows.service.config import PageConfig, Settings
from pageflows.service.conversations import ContactFilter, QueryError

page_option = click.option(
    "--page", "page_id", default=None, help="The page's id (default: the first configured)."
)


def _page(settings: Settings, page_id: str | None) -> PageConfig:
    """The page asked for, or the first configured; one line when neither works."""
    configured = [p.id for p in settings.pages]
    if page_id is None:
        if not settings.pages:
            raise click.ClickException("no page is configured: name one with --page ID")
        return settings.pages[0]
    page = next((p for p in settings.pages if p.id == page_id), None)
    if page is None:
        if configured:
            raise click.ClickException(
                f"no page {page_id} is configured (configured: {', '.join(configured)})"
            )
        return PageConfig(id=page_id, token="")
    return page


def _when(text: str | None) -> str:
    if text is None:
        return "-"
    return f"{datetime.fromisoformat(text):%Y-%m-%d %H:%M}"


def _short(text: str | None, width: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def window_words(window: dict[str, Any]) -> str:
    if window["state"] == "open":
        return f"open until {_when(window['open_until'])}"
    if window["state"] == "human_agent":
        return f"human agent until {_when(window['human_agent_until'])}"
    return "closed"


@click.command("contacts")
@click.option("--tag", default=None, help="Only contacts with this tag.")
@click.option("--search", "q", default=None, help="Names starting with these words, or a PSID.")
@click.option("--ref", default=None, help="Only contacts who came by this ref.")
@click.option("--source", default=None, help="Only contacts whose ref came from this source.")
@click.option("--field", default=None, help="Only contacts with this field: name=value.")
@click.option(
    "--window", type=click.Choice(conversations.WINDOWS), default=None, help="Window state."
)
@click.option("--limit", type=int, default=conversations.DEFAULT_LIMIT, show_default=True)
@click.option("--after", default=None, help="The cursor a previous page printed.")
@page_option
@click.option("--json", "as_json", is_flag=True, help="The API's JSON answer.")
@config_option
def contacts(
    tag: str | None,
    q: str | None,
    ref: str | None,
    source: str | None,
    field: str | None,
    window: str | None,
    limit: int,
    after: str | None,
    page_id: str | None,
    as_json: bool,
    config_path: str,
) -> None:
    """A page's contacts, newest message first, a page at a time."""
    settings = read_settings_or_exit(config_path)
    page = _page(settings, page_id)
    engine = engine_or_exit(settings.database_url)
    filters = ContactFilter(q=q, tag=tag, field=field, ref=ref, source=source, window=window)
    try:
        found = conversations.list_contacts(
            engine, page.id, SystemClock().now(), filters, limit, after, page.ad_window
        )
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps({"page": page.id, "contacts": found.items, "next": found.next}))
        return
    if not found.items:
        click.echo("no contacts" + (" match" if any(vars(filters).values()) else " yet"))
        return
    rows = [
        (
            _short(item["name"] or "(no name)", 24),
            item["psid"],
            _short(item["last_message"], 32),
            _when(item["last_message_at"]),
            window_words(item["window"]),
            ", ".join(item["tags"]),
        )
        for item in found.items
    ]
    header = ("NAME", "PSID", "LAST MESSAGE", "WHEN", "WINDOW", "TAGS")
    widths = [max(len(r[n]) for r in [header, *rows]) for n in range(len(header))]
    for row in [header, *rows]:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    if found.next:
        again = ["pageflows", "contacts"]
        for name, value in (
            ("--tag", tag), ("--search", q), ("--ref", ref), ("--source", source),
            ("--field", field), ("--window", window), ("--page", page_id),
        ):  # fmt: skip
            if value:
                again += [name, value]
        if limit != conversations.DEFAULT_LIMIT:
            again += ["--limit", str(limit)]
        click.echo(f"next page: {shlex.join([*again, '--after', found.next])}")


@click.command("conversation")
@click.argument("psid")
@click.option("--limit", type=int, default=conversations.DEFAULT_LIMIT, show_default=True)
@click.option("--before", default=None, help="The cursor a previous page printed (older).")
@page_option
@click.option("--json", "as_json", is_flag=True, help="The API's JSON answer.")
@config_option
def conversation(
    psid: str, limit: int, before: str | None, page_id: str | None, as_json: bool,
    config_path: str,
) -> None:  # fmt: skip
    """One contact's conversation: `>` the contact, `<` the Page, with statuses and why."""
    settings = read_settings_or_exit(config_path)
    page = _page(settings, page_id)
    engine = engine_or_exit(settings.database_url)
    try:
        found, contact = _read(engine, page, psid, limit, before)
    finally:
        engine.dispose()
    if as_json:
        click.echo(
            json.dumps(
                {"page": page.id, "contact": contact, "items": found.items, "next": found.next}
            )
        )
        return
    automation = contact["automation"]
    state = (
        "handed off to the Page inbox"
        if automation["handed_off"]
        else f"paused until {_when(automation['paused_until'])}"
        if automation["paused_until"]
        else "running"
    )
    click.echo(
        f"{contact['name'] or '(no name)'} ({psid}) on page {page.id}:"
        f" window {window_words(contact['window'])}; automation {state}"
    )
    if found.next:
        click.echo(
            "older: " + shlex.join(["pageflows", "conversation", psid, "--before", found.next])
        )
    if not found.items:
        click.echo("(nothing yet)")
    for item in found.items:
        for line in transcript_lines(item):
            click.echo(line)


def _read(
    engine: Engine, page: PageConfig, psid: str, limit: int, before: str | None
) -> tuple[conversations.Page, dict[str, Any]]:
    row = conversations.get_contact(engine, page.id, psid)
    if row is None:
        raise click.ClickException(f"no contact {psid} on page {page.id}")
    try:
        found = conversations.conversation(engine, page.id, psid, limit, before)
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    return found, conversations.contact_item(row, SystemClock().now(), page.ad_window)


def transcript_lines(item: dict[str, Any]) -> list[str]:
    """One item as lines: `>` from the contact, `<` from the Page, then status and why."""
    when = _when(item["at"])
    pad = " " * (len(when) + 4)
    if item["direction"] == "in":
        notes = [f"{pad}· {note}" for note in item.get("notes") or ()]  # issue 12: R
        return [f"{when}  > {_inbound_text(item)}", *notes]
    if item["kind"] == "follow_up":  # issue 12: R: not sent, and the engine's reason
        return [f"{when}  · {item['text']}"]
    if item["kind"] == "echo":
        who = "a person in the Page inbox" if item["source"] == "page_inbox" else "another app"
        return [f"{when}  < {item['text'] or '(attachment)'}  [sent by {who}]"]
    lines = [f"{when}  < {item['text'] or '(' + item['kind'] + ')'}  [{_status(item)}]"]
    if item["rationale"]:
        lines.append(f"{pad}why: {item['rationale']}")
    if item["failed"]:
        failed = item["failed"]
        code = "/".join(str(c) for c in (failed["error_code"], failed["error_subcode"]) if c)
        lines.append(f"{pad}Facebook said ({code or 'no code'}): {failed['error_message']}")
    if item["skipped"]:
        lines.append(f"{pad}skipped: {item['skipped']['reason']}: {item['skipped']['detail']}")
    if item["held"]:
        lines.append(f"{pad}held: {item['held']['detail'] or item['held']['reason']}")
    return lines


def _status(item: dict[str, Any]) -> str:
    words = [item["status"]]
    if item["tag"]:
        words.append(f"tag {item['tag']}")
    elif item["messaging_type"]:
        words.append(item["messaging_type"])
    who = {"agent": f"by {item['author'] or 'a person'}", "page_inbox": "from the Page inbox",
           "broadcast": f"broadcast {item['broadcast']}"}.get(item["source"])  # fmt: skip
    if who:
        words.append(who)
    if item["possible_duplicate"]:
        words.append("possible duplicate")
    return ", ".join(words)


def _inbound_text(item: dict[str, Any]) -> str:
    kind = item["kind"]
    standby = " (while the Page inbox had the thread)" if item.get("standby") else ""
    if kind == "message":
        parts = [item["text"]] if item["text"] else []
        parts += [f"[{a['type']}{': ' + a['url'] if a.get('url') else ''}]"
                  for a in item.get("attachments") or ()]  # fmt: skip
        if item.get("quick_reply"):
            parts.append(f"(quick reply {item['quick_reply']})")
        if item.get("deleted"):
            parts = ["(unsent a message)"]
        return " ".join(parts or ["(empty message)"]) + standby
    if kind == "postback":
        return f"tapped “{item['text']}” ({item['postback']['payload']}){standby}"
    if kind == "referral":
        ref = item["referral"]
        return f"came by ref {ref['ref'] or '(missing)'} from {ref['source'] or '?'}{standby}"
    if kind == "comment":
        return f"commented: {item['text']}"
    if kind == "handover":
        return f"thread {item['handover']['action']}"
    return f"{kind}{standby}"
