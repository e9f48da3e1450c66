"""`pageflows templates sync` and `pageflows templates list`: each page's message templates.

`sync` reads Facebook's list (`GET /{page-id}/message_templates`) for each
configured page, or the one `--page` names, and stores it
(service/storage/templates.py): one line per page with its templates by status,
or one line saying why the page failed (exit 1 when any did). Running workers
see what it stored within seconds (service/facts.py). `list` shows the
templates as the engine decides with them: those pageflows.toml declares,
overlaid by the stored ones (Facebook's word wins), and any stored page's.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pageflows.cli.operate import engine_or_exit
from pageflows.cli.server import (
    clock_of,
    config_option,
    database_failure,
    sandbox_graph_url,
)
from pageflows.rules.page_facts import TEMPLATE_STATUSES
from pageflows.service.config import (
    ConfigError,
    PageConfig,
    Settings,
    load_settings,
    read_settings,
    require_pages,
    sandbox_asked,
)
from pageflows.service.graph.client import Failure, GraphClient
from pageflows.service.graph.templates import TemplateList
from pageflows.service.graph.transport import RequestsTransport
from pageflows.service.storage.templates import (
    SyncResult,
    load_page_facts,
    store_synced,
    stored,
    stored_pages,
)

page_option = click.option("--page", "page_id", default=None, help="Only this page (its id).")


@click.group()
def templates() -> None:
    """Each page's message templates (utility templates go outside the 24 h window)."""


def _settings(config_path: str, sandbox: bool) -> Settings:
    try:
        if sandbox or sandbox_asked(os.environ):
            return load_settings(os.environ, Path(config_path), sandbox=True)
        return require_pages(read_settings(os.environ, Path(config_path)))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _chosen(pages: tuple[PageConfig, ...], page_id: str | None) -> tuple[PageConfig, ...]:
    if page_id is None:
        return pages
    chosen = tuple(p for p in pages if p.id == page_id)
    if not chosen:
        known = ", ".join(p.id for p in pages) or "none"
        raise click.ClickException(f"no page {page_id} is configured (configured: {known})")
    return chosen


@templates.command("sync")
@config_option
@page_option
@click.option(
    "--sandbox",
    is_flag=True,
    help="The sandbox page, from the simulator a `serve --sandbox` started (or set"
    " PAGEFLOWS_SANDBOX=1).",
)
@click.option(
    "--simulator-port",
    default=8765,
    show_default=True,
    type=int,
    help="Sandbox mode only: where that simulator listens.",
)
@click.pass_context
def templates_sync(
    ctx: click.Context, config_path: str, page_id: str | None, sandbox: bool, simulator_port: int
) -> None:
    """Read each page's templates from Facebook and store them (statuses included)."""
    settings = _settings(config_path, sandbox)
    pages = _chosen(settings.pages, page_id)
    engine = engine_or_exit(settings.database_url, create=True)
    graph_url = sandbox_graph_url(settings, simulator_port) or settings.graph_url
    failed = 0
    for page in pages:
        listed = GraphClient(RequestsTransport(graph_url), page.token).list_message_templates(
            page.id
        )
        if not isinstance(listed, TemplateList):
            failed += 1
            where = f" (sandbox: from the simulator at {graph_url})" if settings.sandbox else ""
            click.echo(
                f"page {page.id}: cannot read its templates{where}: {_failure(listed)}", err=True
            )
            continue
        try:
            with Session(engine) as session, session.begin():
                result = store_synced(session, page.id, listed.templates, clock_of(ctx).now())
        except SQLAlchemyError as exc:
            failed += 1
            reason = database_failure("cannot store them in", exc, settings.database_url)
            click.echo(f"page {page.id}: {reason.message}", err=True)
            continue
        click.echo(synced_line(page.id, result, listed.unreadable))
    engine.dispose()
    ctx.exit(1 if failed else 0)


def _failure(failure: Failure) -> str:
    """Facebook's message and codes, and what to do when it is the token or a permission."""
    codes = "/".join(str(c) for c in (failure.code, failure.subcode) if c is not None)
    text = f"{failure.message or 'no message'}" + (f" (Graph error {codes})" if codes else "")
    reason = getattr(failure, "reason", "")
    if reason == "token_invalid":
        text += "; replace the page token"
    elif reason == "permission_missing":
        text += "; the token needs the page's messaging permissions"
    return " ".join(text.split())


def synced_line(page_id: str, result: SyncResult, unreadable: int = 0) -> str:
    """`page 1234: 5 templates (4 APPROVED, 1 PAUSED)`, and what else happened."""
    count = result.listed
    line = f"page {page_id}: {count} template{'' if count == 1 else 's'}"
    if count:
        order = {s: n for n, s in enumerate(TEMPLATE_STATUSES)}
        ranked = sorted(result.statuses.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
        line += " (" + ", ".join(f"{n} {status}" for status, n in ranked) + ")"
    if result.deleted:
        line += f"; {result.deleted} no longer listed by Facebook, marked DELETED"
    if unreadable:
        line += f"; {unreadable} listed without a name, language or status, left out"
    return line


@templates.command("list")
@config_option
@page_option
def templates_list(config_path: str, page_id: str | None) -> None:
    """The templates the engine decides with: declared, overlaid by what sync stored."""
    try:
        settings = read_settings(os.environ, Path(config_path))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    engine = engine_or_exit(settings.database_url, create=True)
    rows: list[tuple[str, ...]] = []
    try:
        with Session(engine) as session:
            configured = {p.id: p for p in settings.pages}
            ids = list(configured) + sorted(set(stored_pages(session)) - set(configured))
            for pid in ids if page_id is None else [page_id]:
                page = configured.get(pid) or PageConfig(id=pid, token="")
                updated = {(r.name, r.language): r.updated_at for r in stored(session, pid)}
                for t in load_page_facts(session, page).templates:
                    when = updated.get((t.name, t.language))
                    rows.append(
                        (
                            pid,
                            t.name,
                            t.language,
                            t.status,
                            str(t.parameters),
                            ",".join(t.buttons) or "-",
                            f"{when:%Y-%m-%d %H:%M} UTC" if when else "declared",
                        )
                    )
    except SQLAlchemyError as exc:
        raise database_failure("cannot read", exc, settings.database_url) from None
    finally:
        engine.dispose()
    if not rows:
        click.echo(
            "no templates: declare them under [[pages.templates]] in pageflows.toml,"
            " or run `pageflows templates sync`"
        )
        return
    click.echo(table(rows))


HEADER = ("page", "name", "language", "status", "parameters", "buttons", "updated")


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [HEADER, *rows]
    )
