"""Loading flows for a command: rules/ with today's policy, rendered findings on failure."""

from __future__ import annotations

from datetime import date

import click

from pageflows.engine.policy import RULES, check_tag
from pageflows.rules.compile import Program
from pageflows.rules.load import LoadResult, load_paths
from pageflows.rules.page_facts import PageFacts
from pageflows.rules.report import render_text


def load_or_explain(
    paths: list[str], as_of: date, pages: tuple[PageFacts, ...] = ()
) -> tuple[Program, LoadResult]:
    """The program, or a click error that shows the findings (never a traceback)."""
    result = load_paths(paths, as_of, check_tag, pages, RULES.token_regions)
    if result.program is None:
        click.echo(render_text(result.errors, result.sources), err=True)
        raise click.ClickException(
            f"{len(result.errors)} error(s) in the flows; `pageflows check` lists everything"
        )
    return result.program, result
