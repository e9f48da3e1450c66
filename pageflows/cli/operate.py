"""Operator commands: what is stuck and what is paused, and how to start it again.

`pageflows inbox parked` lists events that failed to process, with their error;
`pageflows inbox replay [ID...]` retries them after a fix. `pageflows pages`
shows each page's sending state; `pageflows pages resume ID` lifts a pause that
no new token lifts (a policy block Facebook has since removed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pageflows.cli.server import config_option, database_failure
from pageflows.clock import SystemClock
from pageflows.service import health, pages
from pageflows.service.config import ConfigError, read_settings
from pageflows.service.storage import inbox as inbox_store
from pageflows.service.storage.database import DEFAULT_URL, DatabaseUrlError, make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.token_crypto import new_key


def _engine(config_path: str) -> Engine:
    """Only the database matters here: no page token is needed to look at the backlog."""
    try:
        url = read_settings(os.environ, Path(config_path)).database_url
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return engine_or_exit(url)


def engine_or_exit(url: str = DEFAULT_URL, create: bool = False) -> Engine:
    """The database, migrated, or one line (no password) saying why not.

    An SQLite file that is not there is refused unless `create`: an operator command run
    in the wrong folder would otherwise make an empty database and report on it.
    """
    missing = missing_sqlite_file(url)
    if missing is not None and not create:
        raise click.ClickException(
            f"no database at {missing}: run this where `pageflows serve` runs, or say which"
            " database with PAGEFLOWS_DATABASE_URL (or database_url in --config)"
        )
    try:
        engine = make_engine(url)
        upgrade(engine)
    except DatabaseUrlError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise database_failure("cannot use the database", exc, url) from None
    return engine


def missing_sqlite_file(url: str) -> str | None:
    """The path of an SQLite database file that does not exist, else None."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    if path in ("", ":memory:") or Path(path).exists():
        return None
    return path


@click.group()
def inbox() -> None:
    """Inbox events that failed to process."""


@inbox.command("parked")
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def inbox_parked(config_path: str, as_json: bool) -> None:
    """List parked events: each failed several times and waits for `replay`."""
    rows = inbox_store.parked(_engine(config_path))
    if not rows:
        click.echo("no parked events")
        return
    for row in rows:
        if as_json:
            click.echo(json.dumps({**vars(row), "received_at": row.received_at.isoformat()}))
        else:
            click.echo(
                f"#{row.id} {row.kind} from {row.contact_id or '-'} on page {row.page_id},"
                f" received {row.received_at:%Y-%m-%d %H:%M:%S}, {row.attempts} tries: {row.error}"
            )


@inbox.command("replay")
@click.argument("ids", nargs=-1, type=int)
@config_option
def inbox_replay(ids: tuple[int, ...], config_path: str) -> None:
    """Retry parked events (the given ids, or all). A running worker picks them up."""
    count = inbox_store.replay(_engine(config_path), ids)
    click.echo(f"{count} parked event(s) queued again" if count else "no parked events to replay")


@click.group(invoke_without_command=True)
@config_option
@click.pass_context
def pages_group(ctx: click.Context, config_path: str) -> None:
    """Each page's sending state (paused, slowed) and the backlog."""
    if ctx.invoked_subcommand is not None:
        return
    report = health.report(_engine(config_path), SystemClock().now())
    click.echo(
        f"inbox: {report['inbox']['pending']} pending, {report['inbox']['parked']} parked;"
        f" outbox: {report['outbox']['queued']} queued, {report['outbox']['held']} held,"
        f" {report['outbox']['possible_duplicates']} possible duplicate(s)"
    )
    paused = {p["page"]: p for p in report["paused_pages"]}
    slowed = {s["page"]: s for s in report["slowed_pages"]}
    for page in report["pages"]:
        if page in paused:
            p = paused[page]
            click.echo(f"page {page}: PAUSED ({p['reason']}): {p['detail']}")
        elif page in slowed:
            click.echo(f"page {page}: slowed by Facebook until {slowed[page]['until']}")
        else:
            click.echo(f"page {page}: sending")
    if not report["pages"]:
        click.echo("no page has sent anything yet")


@pages_group.command("resume")
@click.argument("page_id")
@config_option
def pages_resume(page_id: str, config_path: str) -> None:
    """Lift a page's pause; its queued messages go out in order."""
    with Session(_engine(config_path)) as session, session.begin():
        resumed = pages.resume(session, page_id, SystemClock().now(), "resumed by an operator")
    if not resumed:
        known = health.report(_engine(config_path), SystemClock().now())["pages"]
        if page_id not in known:
            raise click.ClickException(
                f"no page {page_id} here (known: {', '.join(known) or 'none'})"
            )
        raise click.ClickException(f"page {page_id} is not paused")
    click.echo(f"page {page_id}: sending resumes")


@pages_group.command("token-key")
def pages_token_key() -> None:
    """Print a new key for PAGEFLOWS_TOKEN_KEY: it encrypts the page tokens the web
    console's Pages page stores. Give every pageflows process the same one; a new key
    means connecting the pages again."""
    click.echo(new_key())
