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

import re
from datetime import date

import click

from pageflows.cli import collector_paused, nothing_left_but_freeing
from pageflows.cli.options import config_lookup_option
from pageflows.clock import Clock, SystemClock
from pageflows.rules.lex_ahead import lexing_early

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


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
    folders = list(paths) or ["."]
    with collector_paused(freeze=True):
        # issue 13: A: the child lexing the flows starts before the rest of the command
        # is imported (pydantic, Lark, the model: ~0.2 s), and lexes meanwhile.
        early = lexing_early(folders)
        try:
            from pageflows.cli import checking

            result, files = checking.check_with_settings(folders, day, config_path, early)
            checking.print_report(result, files, output_format)
        finally:
            early.close()
    # issue 13: A: the process may end without freeing them (the model held till then)
    nothing_left_but_freeing(result)
    ctx.exit(1 if result.errors else 0)
