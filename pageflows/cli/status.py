"""`pageflows status`: is everything running, and if not, what to do.

The same report as GET /api/status (service/status.py): each page (sending,
slowed, or paused with the reason and the way out), the inbox backlog, the
outbox (queued, failed), follow-ups, broadcasts running and the workers'
heartbeats. Exits 1 when something needs a person, so a cron job can alert.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from pageflows.cli.operate import engine_or_exit
from pageflows.cli.server import clock_of, config_option
from pageflows.service import status as service_status
from pageflows.service.config import ConfigError, read_settings


@click.command("status")
@config_option
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@click.pass_context
def status(ctx: click.Context, config_path: str, as_json: bool) -> None:
    """Each page, the backlog, broadcasts and workers; exit 1 if something needs a person."""
    try:
        settings = read_settings(os.environ, Path(config_path))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    engine = engine_or_exit(settings.database_url)
    report = service_status.report(engine, settings.pages, clock_of(ctx).now())
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        for line in render(report):
            click.echo(line)
    if report["problems"]:
        ctx.exit(1)


def render(report: dict[str, Any]) -> list[str]:
    lines = []
    for page in report["pages"]:
        name = f" ({page['name']})" if page.get("name") else ""
        counts = f"{page['queued']} queued, {page['failed']} failed"
        if page["state"] == "paused":
            lines.append(f"page {page['id']}{name}: PAUSED, {page['reason']}: {page['detail']}")
            lines.append(f"  what to do: {page['what_to_do']}")
            lines.append(f"  {counts}")
        elif page["state"] == "slowed":
            lines.append(
                f"page {page['id']}{name}: slowed by Facebook until {page['until']}; {counts}"
            )
        else:
            lines.append(f"page {page['id']}{name}: token fine, sending; {counts}")
    inbox, outbox, follow_ups = report["inbox"], report["outbox"], report["follow_ups"]
    lines.append(f"inbox: {inbox['pending']} pending, {inbox['parked']} parked")
    lines.append(
        f"outbox: {outbox['queued']} queued, {outbox['claimed'] + outbox['sending']} in flight,"
        f" {outbox['held']} held, {outbox['failed']} failed"
        f" ({outbox['failed_in_doubt']} in doubt), {outbox['possible_duplicates']} possible"
        " duplicate(s)"
    )
    lines.append(f"follow-ups: {follow_ups['pending']} pending, {follow_ups['parked']} parked")
    running = report["broadcasts_running"]
    if running:
        for run in running:
            lines.append(
                f"broadcast {run['name']} on page {run['page']}: running since"
                f" {run['started_at']}, {run['contacts']} contact(s)"
            )
    else:
        lines.append("broadcasts: none running")
    beats = report["heartbeats"]
    if not beats:
        lines.append("workers: none has reported")
    for beat in beats:
        state = "stopping" if beat["stopping"] else "alive" if beat["alive"] else "silent"
        lines.append(
            f"worker {beat['host']} pid {beat['pid']}: {state}, last beat"
            f" {beat['seconds_ago']} s ago"
        )
    for problem in report["problems"]:
        lines.append(f"problem: {problem}")
    return lines
