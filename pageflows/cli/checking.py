"""The work of `pageflows check` (cli/check.py): the flows checked with the settings, and
the report printed.

issue 13: A: a module of its own so that check.py, which click imports to learn the
command's options, imports none of this: pydantic, Lark and the model (~0.2 s) are
imported only once the command runs, after it has started the child that lexes the flows
meanwhile (rules/lex_ahead.py, `lexing_early`).
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import click

from pageflows.cli.page_facts import find_config, pages_of, read_settings_or_exit
from pageflows.engine.policy_table import RULES, check_tag  # issue 13: A: not policy.py
from pageflows.rules.diagnostics import Code, Diagnostic, error, sort_key, warning
from pageflows.rules.lex_ahead import Ahead
from pageflows.rules.load import LoadResult, load_paths
from pageflows.rules.report import render_json, render_text, summary
from pageflows.rules.source import SourceFile, Span
from pageflows.service.config import Settings, graph_version_verdict

VERSION_KEYS = re.compile(r"^\s*(graph_version|graph_url)\s*=", re.MULTILINE)


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
    paths: list[str], day: date, config_path: str | None, early: Ahead | None = None
) -> tuple[LoadResult, int]:
    """The flows checked for the Pages and the Graph version the settings name; files read.

    ``early``: the child check.py started to lex these flows (lex_ahead.lexing_early).
    """
    config = find_config(config_path, paths)
    settings = read_settings_or_exit(config)
    # issue 13: A: with large flows, the last files read and checked on the second core
    # (rules/split_check.py): `check` prints findings only, so no program is compiled.
    result = load_paths(
        paths,
        day,
        check_tag,
        pages_of(settings),
        RULES.token_regions,
        second_core=True,
        early=early,
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


def print_report(result: LoadResult, files: int, output_format: str) -> None:
    """Every finding, as text for people or JSON for editors and CI."""
    if output_format == "json":
        click.echo(render_json(result.diagnostics))
        return
    rendered = render_text(result.diagnostics, result.sources)
    if rendered:
        click.echo(rendered + "\n")
    click.echo(summary(result.diagnostics, files))
