"""`pageflows check PATH...`: every finding in the flows, rendered once, and an exit code.

Exit 1 when any finding is an error (the flows would not load in `serve`),
0 for warnings only or nothing. Bad command lines (no path, a missing path,
a malformed --as-of) are click usage errors, exit 2. The day the policy is
checked against is today (UTC) read through the clock, unless --as-of says
otherwise: Facebook retires tags on fixed dates, so "is this flow fine on
2026-04-27?" is a question a marketer asks before the day. A pageflows.toml in
the current folder has its Graph API version judged on that day too (a line on
stderr when it ends within 90 days or has ended).
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import click

from pageflows.clock import Clock, SystemClock
from pageflows.engine.policy import check_tag
from pageflows.rules.load import load_paths
from pageflows.rules.report import render_json, render_text, summary
from pageflows.service.config import (
    ConfigError,
    graph_version_verdict,
    read_settings,
    version_line,
)

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(text: str) -> date:
    """YYYY-MM-DD -> date; anything else is a one-line usage error naming the option."""
    try:
        if ISO_DAY.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise click.BadParameter(
        f"{text!r} is not a date; write it as YYYY-MM-DD, such as 2026-04-27",
        param_hint="'--as-of'",
    )


def graph_version_warning(day: date, config: Path = Path("pageflows.toml")) -> str | None:
    """The settings' Graph API version judged on `day`, when a pageflows.toml is here."""
    if not config.exists():
        return None
    try:
        verdict = graph_version_verdict(read_settings(os.environ, config), day)
    except ConfigError as exc:
        return f"warning: {exc}"
    return None if verdict.ok else f"{config}: warning: {version_line(verdict)}"


@click.command()
@click.argument(
    "paths",
    metavar="PATH...",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=str),
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json (a list of findings) for editors and CI.",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="YYYY-MM-DD",
    default=None,
    help="Check Facebook's rules as they stand on this day (default: today, UTC).",
)
@click.pass_context
def check(
    ctx: click.Context, paths: tuple[str, ...], output_format: str, as_of: str | None
) -> None:
    """Check flow files (folders are searched for *.flow) and print every finding."""
    clock: Clock = ctx.obj if isinstance(ctx.obj, Clock) else SystemClock()
    day = parse_day(as_of) if as_of is not None else clock.now().date()
    result = load_paths(list(paths), day, check_tag)
    version_warning = graph_version_warning(day)
    if version_warning:
        click.echo(version_warning, err=True)
    if output_format == "json":
        click.echo(render_json(result.diagnostics))
    else:
        rendered = render_text(result.diagnostics, result.sources)
        if rendered:
            click.echo(rendered + "\n")
        click.echo(summary(result.diagnostics, len(result.sources)))
    ctx.exit(1 if result.errors else 0)
