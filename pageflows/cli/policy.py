"""`pageflows policy [--as-of DATE] [--page ID] [--since DATE]`: Facebook's rules, readable.

A marketer asks "what may my Page send on 2026-02-10?" before the day, and "what
changed since January?" after a surprise. The answer comes from the same dated
table the engine decides with (engine/policy_listing.py), for the Page's region
and templates as `pageflows.toml` and `templates sync` know them.
"""

from __future__ import annotations

import textwrap

import click

from pageflows.cli.check import parse_day
from pageflows.cli.page_facts import (
    config_lookup_option,
    find_config,
    pages_of,
    read_settings_or_exit,
)
from pageflows.clock import Clock, SystemClock
from pageflows.engine.policy_listing import changes_between, rules_on
from pageflows.rules.page_facts import PageFacts
from pageflows.service.config import graph_version_verdict

RULE_WIDTH = 30
TEXT_WIDTH = 64


@click.command()
@click.option(
    "--as-of",
    "as_of",
    metavar="YYYY-MM-DD",
    default=None,
    help="The day to show (default: today, UTC).",
)
@click.option(
    "--since",
    "since",
    metavar="YYYY-MM-DD",
    default=None,
    help="Also list what changed after this day, up to --as-of.",
)
@click.option(
    "--page",
    "page_id",
    metavar="ID",
    default=None,
    help="One configured page (default: every page in pageflows.toml).",
)
@config_lookup_option
@click.pass_context
def policy(
    ctx: click.Context,
    as_of: str | None,
    since: str | None,
    page_id: str | None,
    config_path: str | None,
) -> None:
    """Show Facebook's messaging rules in force on a day, and what changed since another."""
    clock: Clock = ctx.obj if isinstance(ctx.obj, Clock) else SystemClock()
    day = parse_day(as_of) if as_of is not None else clock.now().date()
    start = parse_day(since, "--since") if since is not None else None  # all checked first
    if start is not None and start >= day:
        raise click.BadParameter(f"{start} is not before {day}", param_hint="'--since'")
    settings = read_settings_or_exit(find_config(config_path, ["."]))
    pages = pages_of(settings, page_id) or (PageFacts(),)
    for n, page in enumerate(pages):
        if n:
            click.echo()
        click.echo(f"Facebook's Messenger rules on {day} for {_describe(page)}:")
        click.echo()
        for line in rules_on(day, page):
            _row(line.rule, f"{line.in_force} ({line.source})")
        version = graph_version_verdict(settings, day)
        _row("Graph API version", f"{version.message} (send-api.md)")
    if start is not None:
        changes = changes_between(start, day)
        click.echo()
        click.echo(f"What changed after {start}, up to {day}:")
        click.echo()
        if not changes:
            click.echo("  nothing")
        for change in changes:
            _row(str(change.on), f"{change.what} ({change.source})")


def _describe(page: PageFacts) -> str:
    region = f"region {page.region}" if page.region else "no region set"
    name = f"page {page.id}" if page.id else "a page with no settings"
    return f"{name} ({region}, ad window {'on' if page.ad_window else 'off'})"


def _row(left: str, right: str) -> None:
    """`left` in a column, `right` wrapped beside it; a long `left` gets its own line."""
    lines = textwrap.wrap(right, TEXT_WIDTH) or [""]
    if len(left) >= RULE_WIDTH - 1:
        click.echo(f"  {left}")
        left = ""
    click.echo(f"  {left:<{RULE_WIDTH}}{lines[0]}")
    for more in lines[1:]:
        click.echo(f"  {'':<{RULE_WIDTH}}{more}")
