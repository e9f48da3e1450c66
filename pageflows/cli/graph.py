"""`pageflows graph FLOW --format svg|mermaid`: a flow drawn, as the console draws it.

The flow is loaded with the rest of its folder, as `serve` loads it (a `goto`
into another flow resolves); the diagram is of FLOW alone. Errors in FLOW are
printed to stderr, the diagram shows what could be read, and the exit status
is 1, so a script does not take a half-read flow for a good one.
"""

from __future__ import annotations

from pathlib import Path

import click

from pageflows.cli.checking import check_with_settings
from pageflows.cli.page_facts import config_lookup_option
from pageflows.clock import Clock, SystemClock
from pageflows.rules.diagram import flow_diagram
from pageflows.rules.diagram_mermaid import to_mermaid
from pageflows.rules.diagram_svg import to_svg
from pageflows.rules.report import render_text

RENDERERS = {"svg": to_svg, "mermaid": to_mermaid}


@click.command("graph")
@click.argument("flow", type=click.Path(exists=True, dir_okay=True, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(RENDERERS)),
    default="svg",
    show_default=True,
    help="svg: a picture (open it in a browser); mermaid: text GitHub and wikis draw.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to this file instead of the standard output.",
)
@config_lookup_option
@click.pass_context
def graph(
    ctx: click.Context,
    flow: Path,
    output_format: str,
    output: Path | None,
    config_path: str | None,
) -> None:
    """Draw FLOW (a .flow file): its triggers, steps, quick replies and follow-ups."""
    if flow.is_dir():
        names = ", ".join(sorted(p.name for p in flow.rglob("*.flow"))) or "none"
        raise click.UsageError(f"{flow} is a folder: name one of its flow files ({names})")
    clock: Clock = ctx.obj if isinstance(ctx.obj, Clock) else SystemClock()
    result, _ = check_with_settings([str(flow.parent)], clock.now().date(), config_path)
    wanted = flow.resolve()
    found = next((f for f in result.flows if Path(f.path).resolve() == wanted), None)
    errors = [d for d in result.errors if Path(d.span.path).resolve() == wanted]
    if errors:
        click.echo(render_text(tuple(errors), result.sources), err=True)
        click.echo(f"{len(errors)} error(s): the diagram shows what could be read", err=True)
    if found is None:
        raise click.ClickException(f"{flow} holds no flow that could be read")
    drawn = RENDERERS[output_format](flow_diagram(found))
    if output is None:
        click.echo(drawn, nl=False)
    else:
        output.write_text(drawn, encoding="utf-8")
        click.echo(f"wrote {output} ({output_format})", err=True)
    if errors:
        ctx.exit(1)
