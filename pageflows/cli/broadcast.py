"""`pageflows broadcast list | preview NAME | send NAME | report NAME | retry NAME`.

The same work as /api/broadcasts (pageflows.service.broadcasts), from a terminal.
`send` and `retry` only write the run and its deliveries to the database: a
running `pageflows serve` or `pageflows worker` decides and sends them, paced
by the page's rate; the command says whether one is alive.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pageflows.cli.operate import engine_or_exit
from pageflows.cli.server import (
    beside_flows,
    clock_of,
    config_option,
    database_failure,
    settings_or_exit,
)
from pageflows.rules.compile import Program
from pageflows.rules.report import render_text
from pageflows.serve import FlowsError, load_all_flows
from pageflows.service import broadcasts, heartbeat
from pageflows.service.broadcast_preview import preview
from pageflows.service.broadcast_report import report
from pageflows.service.broadcasts import BroadcastError
from pageflows.service.config import (
    ConfigError,
    PageConfig,
    Settings,
    read_settings,
    sandbox_asked,
)

flows_argument = click.argument(
    "flows_dir", required=False, type=click.Path(exists=True, file_okay=False)
)
page_option = click.option("--page", "page_id", default=None, help="Page id (default: the first).")
json_option = click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")


class Setup:
    """What each subcommand needs: the settings, the page, the database, the flows."""

    def __init__(self, ctx: click.Context, config_path: str, flows_dir: str | None) -> None:
        self.flows_dir = flows_dir or "."
        self.settings = operator_settings(beside_flows(config_path, self.flows_dir))
        self.clock = clock_of(ctx)

    def page(self, page_id: str | None) -> PageConfig:
        pages = self.settings.pages
        found = next((p for p in pages if page_id is None or p.id == page_id), None)
        if not pages:
            raise click.ClickException(
                "no page is configured: set PAGEFLOWS_PAGE_ID or a [[pages]] table in "
                "pageflows.toml (--config)"
            )
        if found is None:
            known = ", ".join(p.id for p in pages)
            raise click.BadParameter(f"no page {page_id} (pages: {known})", param_hint="'--page'")
        return found

    def engine(self) -> Engine:
        return engine_or_exit(self.settings.database_url)

    def program(self, page: PageConfig) -> Program:
        try:
            results = load_all_flows(self.settings, page.flows or self.flows_dir, self.clock)
        except FlowsError as exc:
            click.echo(render_text(exc.result.errors, exc.result.sources), err=True)
            raise click.ClickException(
                "the flows have errors; `pageflows check` lists them"
            ) from None
        except SQLAlchemyError as exc:
            raise database_failure(
                "cannot use the database", exc, self.settings.database_url
            ) from None
        program = results[page.id].program
        assert program is not None  # load_all_flows raises when a page's flows do not load
        return program


def operator_settings(config_path: str) -> Settings:
    """The database and the pages; no Facebook secret is needed to read or queue (sandbox
    mode, PAGEFLOWS_SANDBOX=1, gives the sandbox page as `serve --sandbox` does)."""
    if sandbox_asked(os.environ):
        return settings_or_exit(config_path, sandbox=True)
    try:
        return read_settings(os.environ, Path(config_path))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def refused(exc: BroadcastError) -> click.ClickException:
    extra = ""
    if "known" in exc.details:
        extra = f" (known: {', '.join(exc.details['known']) or 'none'})"
    return click.ClickException(exc.error + extra)


@click.group()
def broadcast() -> None:
    """The flows' broadcasts: list, preview, send, report, retry."""


@broadcast.command("list")
@flows_argument
@page_option
@config_option
@json_option
@click.pass_context
def broadcast_list(
    ctx: click.Context, flows_dir: str | None, page_id: str | None, config_path: str, as_json: bool
) -> None:
    """Every broadcast in FLOWS (default: the current folder), its schedule and its run."""
    setup = Setup(ctx, config_path, flows_dir)
    page = setup.page(page_id)
    now = setup.clock.now()
    listed = broadcasts.list_broadcasts(setup.engine(), page.id, setup.program(page), now)
    if as_json:
        click.echo(json.dumps({"page": page.id, "broadcasts": listed}, indent=2))
        return
    if not listed:
        click.echo(f"page {page.id}: no broadcast in the flows")
    for item in listed:
        run = item["run"]
        state = (
            "not run"
            if run is None
            else f"{run['status']} ({run['requested']}, started {_when(run['started_at'])}, "
            f"{run['contacts']} contact(s))"
        )
        if run is not None and item.get("run_name"):  # issue 12: a recurring one's latest
            state = f"latest run {item['run_name']}: {state}"
        audience = item["audience"] + (
            f" {item['audience_value']!r}" if item["audience_value"] else ""
        )
        click.echo(f"{item['name']}  [{item['flow']}]  to {audience}  {item['when']}")
        click.echo(f"    {state}")


@broadcast.command("preview")
@click.argument("name")
@flows_argument
@page_option
@config_option
@json_option
@click.pass_context
def broadcast_preview(
    ctx: click.Context,
    name: str,
    flows_dir: str | None,
    page_id: str | None,
    config_path: str,
    as_json: bool,
) -> None:
    """A dry run of NAME through today's policy: who would get it, how, who not and why."""
    setup = Setup(ctx, config_path, flows_dir)
    page = setup.page(page_id)
    program = setup.program(page)
    try:
        broadcasts.known(program, name)
    except BroadcastError as exc:
        raise refused(exc) from None
    shown = preview(setup.engine(), page, program, name, setup.clock.now())
    if as_json:
        click.echo(json.dumps(shown, indent=2))
        return
    click.echo(f"broadcast {name} on page {page.id}, if sent now: {shown['contacts']} contact(s)")
    click.echo(f"  would get it: {shown['send']['count']}")
    for mode, bucket in shown["send"]["by_mode"].items():
        click.echo(f"    {mode}: {bucket['count']}  e.g. {_samples(bucket)}")
    click.echo(f"  skipped: {shown['skipped']['count']}")
    for reason, bucket in shown["skipped"]["by_reason"].items():
        click.echo(f"    {reason}: {bucket['count']}  ({bucket.get('detail', '')})")
        click.echo(f"      e.g. {_samples(bucket)}")
    click.echo(f"  a person has the conversation: {shown['handed_off']['count']}")
    click.echo(f"  not in the audience: {shown['not_in_audience']['count']}")


@broadcast.command("send")
@click.argument("name")
@flows_argument
@page_option
@config_option
@json_option
@click.pass_context
def broadcast_send(
    ctx: click.Context,
    name: str,
    flows_dir: str | None,
    page_id: str | None,
    config_path: str,
    as_json: bool,
) -> None:
    """Start NAME now: writes one delivery per contact; a running worker sends them."""
    setup = Setup(ctx, config_path, flows_dir)
    page = setup.page(page_id)
    program = setup.program(page)
    engine = setup.engine()
    now = setup.clock.now()
    try:
        broadcasts.start(engine, page.id, program, name, now)
    except BroadcastError as exc:
        raise refused(exc) from None
    written = broadcasts.enumerate_runs(engine, page.id, now)
    with Session(engine) as session:
        workers = heartbeat.alive(session, now)
    if as_json:
        answer = {"broadcast": name, "page": page.id, "contacts": written, "workers": workers}
        click.echo(json.dumps(answer, indent=2))
        return
    click.echo(f"broadcast {name}: {written} contact(s) to decide for on page {page.id}")
    if workers:
        click.echo(
            f"{workers} worker(s) alive will decide and send them at the page's pace "
            f"({page.rate:g}/s); see: pageflows broadcast report {name}"
        )
    else:
        click.echo(
            "no worker is alive: nothing goes until `pageflows serve` or `pageflows worker` runs"
        )


@broadcast.command("report")
@click.argument("name")
@page_option
@config_option
@json_option
@click.pass_context
def broadcast_report(
    ctx: click.Context, name: str, page_id: str | None, config_path: str, as_json: bool
) -> None:
    """What NAME's run did: sent, delivered, read, failed (by error), skipped (by reason)."""
    setup = Setup(ctx, config_path, None)
    page = setup.page(page_id)
    try:
        shown = report(setup.engine(), page.id, name)
    except BroadcastError as exc:
        raise refused(exc) from None
    if as_json:
        click.echo(json.dumps(shown, indent=2))
        return
    run = shown["run"]
    click.echo(
        f"broadcast {shown['broadcast']} on page {page.id}: {run['status']} "
        f"({run['requested']}, started {_when(run['started_at'])}"
        + (f", finished {_when(run['finished_at'])}" if run["finished_at"] else "")
        + ")"
    )
    click.echo(
        f"  contacts {shown['contacts']}, decided {shown['decided']}, pending "
        f"{shown['pending']}, parked {shown['parked']}, retried {shown['retried']}"
    )
    modes = ", ".join(f"{mode} {count}" for mode, count in shown["by_mode"].items()) or "none"
    click.echo(f"  messages by mode: {modes}")
    click.echo(
        f"  queued {shown['queued']}, sent {shown['sent']}, delivered {shown['delivered']}, "
        f"read {shown['read']}, failed {shown['failed']['count']}"
    )
    for error in shown["failed"]["by_error"]:
        click.echo(f"    failed: code {error['code']} {error['message']}: {error['count']}")
    click.echo(f"  skipped {shown['skipped']['count']}")
    for reason, count in shown["skipped"]["by_reason"].items():
        click.echo(f"    {reason}: {count}")
    click.echo(f"  no message (not in the audience, or a person's): {shown['no_message']}")


@broadcast.command("retry")
@click.argument("name")
@flows_argument
@page_option
@config_option
@click.pass_context
def broadcast_retry(
    ctx: click.Context, name: str, flows_dir: str | None, page_id: str | None, config_path: str
) -> None:
    """Decide again, through today's policy, the contacts whose message of NAME failed."""
    setup = Setup(ctx, config_path, flows_dir)
    page = setup.page(page_id)
    program = setup.program(page)
    try:
        count = broadcasts.retry(setup.engine(), page.id, program, name, setup.clock.now())
    except BroadcastError as exc:
        raise refused(exc) from None
    click.echo(f"broadcast {name}: {count} failed contact(s) to decide again; a worker sends them")


def _samples(bucket: dict[str, Any]) -> str:
    return ", ".join(s["name"] or s["psid"] for s in bucket["samples"]) or "-"


def _when(iso: str) -> str:
    return f"{datetime.fromisoformat(iso):%Y-%m-%d %H:%M} UTC"
