"""`pageflows links`, `pageflows qr`, `pageflows stats`: where contacts come from, what they do.

The same numbers as GET /api/links, /api/qr, /api/growth and /api/stats
(pageflows/api/growth.py); the work is in service/links.py, arrivals.py and
step_stats.py.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pageflows.cli.operate import engine_or_exit
from pageflows.cli.server import beside_flows, clock_of, config_option, read_settings_or_exit
from pageflows.engine.policy import RULES, check_tag
from pageflows.rules.compile import Program
from pageflows.rules.load import load_paths
from pageflows.service import arrivals, links, pages, step_stats
from pageflows.service.config import PageConfig, Settings

page_option = click.option(
    "--page", "page_id", default=None, help="The page's id (default: the only, or first, page)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
flows_argument = click.argument("flows", required=False, type=click.Path(exists=True))
flows_option = click.option(
    "--flows",
    "flows",
    type=click.Path(exists=True),
    default=None,
    help="The flows folder (default: the page's `flows` setting).",
)


def _settings(config_path: str, flows: str | None) -> Settings:
    return read_settings_or_exit(beside_flows(config_path, flows) if flows else config_path)


def _page(settings: Settings, page_id: str | None) -> PageConfig:
    if page_id is not None:
        found = next((p for p in settings.pages if p.id == page_id), None)
        if found is None:
            known = ", ".join(p.id for p in settings.pages) or "none"
            raise click.ClickException(f"no page {page_id} is configured (pages: {known})")
        return found
    if settings.pages:
        return settings.pages[0]
    return PageConfig(id=os.environ.get("PAGEFLOWS_PAGE_ID", ""), token="")


def _known_page(page: PageConfig, engine: Engine) -> PageConfig:
    """Without a configured page, the one page the database knows (as `status` lists it)."""
    if page.id:
        return page
    with Session(engine) as session:
        known = [s.page_id for s in pages.statuses(session)]
    if len(known) != 1:
        raise click.ClickException(
            "say which page: --page ID, PAGEFLOWS_PAGE_ID or [[pages]] in pageflows.toml"
            + (f" (the database knows {', '.join(known)})" if known else "")
        )
    return PageConfig(id=known[0], token="")


def _program(
    ctx: click.Context, page: PageConfig, flows: str | None, config_path: str | None = None
) -> Program:
    where = flows or page.flows or _flows_beside(config_path)
    if where is None:
        raise click.ClickException(
            "say which flows: `pageflows links FLOWS_DIR`, `--flows FLOWS_DIR` for qr and"
            ' stats, or `flows = "..."` under the page\'s [[pages]] in pageflows.toml'
        )
    today = clock_of(ctx).now().date()
    result = load_paths([where], today, check_tag, (page.facts(),), RULES.token_regions)
    if result.program is None:
        raise click.ClickException(
            f"the flows in {where} have errors; `pageflows check {where}` shows them"
        )
    return result.program


def _flows_beside(config_path: str | None) -> str | None:
    """The folder of the given pageflows.toml, or the current one, when it holds flows
    (examples/flows keeps its pageflows.toml beside its flows, as `serve` expects)."""
    for folder in (Path(config_path).parent if config_path else None, Path(".")):
        if folder is not None and folder.is_dir() and any(folder.glob("*.flow")):
            return str(folder)
    return None


def _existing_database(url: str) -> Engine | None:
    """The service's database, unless it is a SQLite file that does not exist yet (then
    nobody has arrived, and a look must not leave an empty database file behind)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        name = parsed.database or ""
        if name in ("", ":memory:") or not Path(name).exists():
            return None
    return engine_or_exit(url)


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@click.command("links")
@flows_argument
@page_option
@config_option
@json_option
@click.pass_context
def links_command(
    ctx: click.Context, flows: str | None, page_id: str | None, config_path: str, as_json: bool
) -> None:
    """Every ref in the flows with its m.me link, and who arrived by it (link, QR, ad)."""
    settings = _settings(config_path, flows)
    page = _page(settings, page_id)
    rows = links.link_rows(page, _program(ctx, page, flows, config_path))
    engine = _existing_database(settings.database_url)
    if engine is not None:
        page = _known_page(page, engine)
    counted = arrivals.counts(engine, page.id) if engine is not None else None
    for row in rows:
        row["arrivals"] = counted.ref(row["ref"]).by_via if counted else {}
    if as_json:
        body: dict[str, Any] = {"page": page.id, "username": page.username, "refs": rows}
        if counted is not None:
            body["without_ref"] = counted.without_ref
            body["ref_missing"] = counted.ref_missing
        _echo_json(body)
        return
    if not rows:
        click.echo('no flow reacts to a ref (`on ref "..."`)')
    for row in rows:
        sources = f" (from {', '.join(row['from'])})" if row["from"] else ""
        click.echo(f"{row['ref']}{sources}  [{', '.join(row['flows'])}]")
        if row["link"]:
            click.echo(f"  link: {row['link']}")
        if row.get("qr_link"):
            click.echo(f"  QR:   {row['qr_link']}  (`pageflows qr {row['ref']}`)")
        if row.get("note"):
            click.echo(f"  note: {row['note']}")
        if row["arrivals"]:
            click.echo("  arrived: " + _vias(row["arrivals"]))
    if not page.username and rows:
        click.echo(f"no links: {links.HOW_TO_SET_USERNAME}")
    if counted is not None:
        click.echo(
            f"page {page.id}: {counted.ref_missing} new conversation(s) began without a ref"
            " (Facebook dropped it, or they just wrote); every arrival without a ref, by way"
            f" (comments too): {_vias(counted.without_ref)}"
        )
    else:
        click.echo("no arrivals yet: the database does not exist")


def _vias(by_via: dict[str, int]) -> str:
    shown = [f"{via} {count}" for via, count in by_via.items() if count]
    return ", ".join(shown) if shown else "none"


@click.command("qr")
@click.argument("ref")
@flows_option
@click.option(
    "--format", "fmt", type=click.Choice(["png", "svg"]), default="png", show_default=True
)
@click.option(
    "--size",
    type=int,
    default=links.QR_SIZE_DEFAULT,
    show_default=True,
    help=f"Width in pixels ({links.QR_SIZE_MIN}-{links.QR_SIZE_MAX}).",
)
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="File to write.")
@page_option
@config_option
@click.pass_context
def qr_command(
    ctx: click.Context,
    ref: str,
    flows: str | None,
    fmt: str,
    size: int,
    out: str | None,
    page_id: str | None,
    config_path: str,
) -> None:
    """A QR code of REF's m.me link; scans are counted apart from taps on the link.

    Written to --out (default qr-REF.FORMAT); `--out -` writes to standard output.
    """
    settings = _settings(config_path, flows)
    page = _page(settings, page_id)
    try:
        links.check_size(size)
        found = links.find_ref(_program(ctx, page, flows, config_path), ref)
        url = links.mme_link(links.username_of(page), found.ref, qr=True)
    except (links.LinkError, LookupError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None
    image = links.qr_image(url, "png" if fmt == "png" else "svg", size)
    if out == "-":
        sys.stdout.buffer.write(image)
        return
    target = Path(out or f"qr-{_file_safe(ref)}.{fmt}")
    try:
        target.write_bytes(image)
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc.strerror}") from None
    click.echo(f"{target}: {url}")


def _file_safe(ref: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in ref)


@click.command("stats")
@click.argument("flow", required=False)
@flows_option
@page_option
@config_option
@json_option
@click.pass_context
def stats_command(
    ctx: click.Context,
    flow: str | None,
    flows: str | None,
    page_id: str | None,
    config_path: str,
    as_json: bool,
) -> None:
    """Per flow step: sent, delivered, read, clicked, replied (all flows, or FLOW)."""
    settings = _settings(config_path, flows)
    page = _page(settings, page_id)
    program = _program(ctx, page, flows, config_path)
    if flow is not None and flow not in program.flows:
        raise click.ClickException(f"no flow named {flow!r} (flows: {', '.join(program.flows)})")
    engine = _existing_database(settings.database_url)
    if engine is None:
        raise click.ClickException("nothing was sent yet: the database does not exist")
    page = _known_page(page, engine)
    report = step_stats.step_stats(engine, page.id, program, flow)
    if as_json:
        _echo_json(report)
        return
    header = ("sent", "deliv", "read", "click", "reply", "failed", "skip")
    names = step_stats.COUNTS
    click.echo(f"{'step':<40}" + "".join(f"{h:>7}" for h in header))
    for step in report["steps"]:
        label = f"{step['flow']}: {step['step']}"
        click.echo(f"{label[:40]:<40}" + "".join(f"{step[n]:>7}" for n in names))
        for message in step["messages"]:
            line = message["origin"].split(":", 1)[1] if ":" in message["origin"] else ""
            text = f"  {line} {message['preview']}"
            click.echo(f"{text[:40]:<40}" + "".join(f"{message[n]:>7}" for n in names))
    if not report["steps"]:
        click.echo("no message of these flows has been decided yet")
