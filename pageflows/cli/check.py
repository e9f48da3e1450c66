"""`pageflows check [PATH...]`: every finding in the flows, rendered once, and an exit code.

Exit 1 when any finding is an error (the flows would not load in `serve`),
0 for warnings only or nothing. No path checks the current folder. Bad command
lines (a missing path, a malformed --as-of) are click usage errors, exit 2. The day the policy is
checked against is today (UTC) read through the clock, unless --as-of says
otherwise: Facebook retires tags on fixed dates, so "is this flow fine on
2026-04-27?" is a question a marketer asks before the day.

The Pages the flows run on come from the settings file (--config, else
./pageflows.toml, else the one beside the flows): their region and templates
are checked with the flows, and the Graph API version they name is judged on
the same day (a finding located in the settings file).
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import click

from pageflows.cli import collector_paused, nothing_left_but_freeing
from pageflows.cli.page_facts import (
    config_lookup_option,
    find_config,
    pages_of,
    read_settings_or_exit,
)
from pageflows.clock import Clock, SystemClock
from pageflows.engine.policy_table import RULES, check_tag  # issue 13: A: not policy.py
from pageflows.rules.diagnostics import Code, Diagnostic, error, sort_key, warning
from pageflows.rules.load import LoadResult, load_paths
from pageflows.rules.report import render_json, render_text, summary
from pageflows.rules.source import SourceFile, Span
from pageflows.service.config import Settings, graph_version_verdict

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
VERSION_KEYS = re.compile(r"^\s*(graph_version|graph_url)\s*=", re.MULTILINE)


def parse_day(text: str, option: str = "--as-of") -> date:
    """YYYY-MM-DD -> date; anything else is a one-line usage error naming the option."""
    try:
        if ISO_DAY.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise click.BadParameter(
        f"{text!r} is not a date; write it as YYYY-MM-DD, such as 2026-04-27",
        param_hint=f"'{option}'",
    )


def graph_version_finding(settings: Settings, config: Path | None, day: date) -> Diagnostic | None:
    """The configured Graph API version judged on ``day``, located where it is set."""
    verdict = graph_version_verdict(settings, day)
    if verdict.ok:
        return None
    path, line, key = "PAGEFLOWS_GRAPH_VERSION", 1, "PAGEFLOWS_GRAPH_VERSION="
    from_env = bool(os.environ.get("PAGEFLOWS_GRAPH_VERSION"))
    if config is not None and not from_env:  # the environment wins over the file
        text = config.read_text("utf-8", errors="replace")
        found = VERSION_KEYS.search(text)
        path, key = str(config), "graph_version = "
        line = text.count("\n", 0, found.start()) + 1 if found else 1
    span = Span.point(path, line, 1)
    hint = f'set {key}"{verdict.move_to}"' if verdict.move_to else None
    if verdict.state == "ended":
        return error(Code.GRAPH_VERSION_ENDED, span, verdict.message, hint)
    return warning(Code.GRAPH_VERSION_ENDING, span, verdict.message, hint)


def check_with_settings(
    paths: list[str], day: date, config_path: str | None
) -> tuple[LoadResult, int]:
    """The flows checked for the Pages and the Graph version the settings name; files read."""
    config = find_config(config_path, paths)
    settings = read_settings_or_exit(config)
    # issue 13: A: half of the checks on the second core, when the flows are large.
    result = load_paths(
        paths, day, check_tag, pages_of(settings), RULES.token_regions, second_core=True
    )
    files = len(result.sources)
    finding = graph_version_finding(settings, config, day)
    if finding is None:
        return result, files
    sources = dict(result.sources)
    if config is not None:
        text = config.read_text("utf-8", errors="replace")
        sources[str(config)] = SourceFile(path=str(config), text=text)
    diagnostics = tuple(sorted((*result.diagnostics, finding), key=sort_key))
    program = None if finding.is_error else result.program
    return LoadResult(program, diagnostics, sources, result.flows), files


@click.command()
@click.argument(
    "paths",
    metavar="[PATH...]",
    nargs=-1,
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
@config_lookup_option
@click.pass_context
def check(
    ctx: click.Context,
    paths: tuple[str, ...],
    output_format: str,
    as_of: str | None,
    config_path: str | None,
) -> None:
    """Check flow files (folders are searched for *.flow; none named: this folder).

    Print every finding.
    """
    clock: Clock = ctx.obj if isinstance(ctx.obj, Clock) else SystemClock()
    day = parse_day(as_of) if as_of is not None else clock.now().date()
    # issue 12: B: no path checks the current folder, as `pageflows test` does.
    with collector_paused(freeze=True):
        result, files = check_with_settings(list(paths) or ["."], day, config_path)
        if output_format == "json":
            click.echo(render_json(result.diagnostics))
        else:
            rendered = render_text(result.diagnostics, result.sources)
            if rendered:
                click.echo(rendered + "\n")
            click.echo(summary(result.diagnostics, files))
    nothing_left_but_freeing()  # issue 13: A: the process may end without freeing them
    ctx.exit(1 if result.errors else 0)
