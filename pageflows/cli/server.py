"""The server's commands: `serve`, `db upgrade`, `profile sync`.

Startup problems are one line each (a setting, the database, the port), and
none shows a password; the flows' findings are rendered as `pageflows check`
renders them.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType

import click
from sqlalchemy.exc import SQLAlchemyError

from pageflows.clock import SystemClock
from pageflows.rules.report import render_text
from pageflows.serve import FlowsError, ListenError, build_service
from pageflows.service.config import (
    ConfigError,
    Settings,
    load_settings,
    read_settings,
    require_pages,
)
from pageflows.service.graph.client import GraphClient, Sent
from pageflows.service.graph.transport import RequestsTransport
from pageflows.service.storage.database import DatabaseUrlError, make_engine, redact, shown_url
from pageflows.service.storage.migrate import upgrade

log = logging.getLogger("pageflows")
config_option = click.option(
    "--config",
    "config_path",
    default="pageflows.toml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Optional settings file; environment variables win over it.",
)


def settings_or_exit(config_path: str, sandbox: bool = False) -> Settings:
    """The settings `serve` runs with (sandbox only when asked), or one line saying why not."""
    try:
        return load_settings(os.environ, Path(config_path), sandbox)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def database_failure(doing: str, exc: SQLAlchemyError, url: str) -> click.ClickException:
    """One line naming the database (password hidden) and the driver's first line (redacted)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    reason = lines[0] if lines else type(cause).__name__
    return click.ClickException(f"{doing} {shown_url(url)}: {redact(reason, url)}")


def check_port(option: str, port: int) -> None:
    if not 0 <= port <= 65535:
        raise click.ClickException(
            f"{option} {port} is not a port: use 1 to 65535 (0 picks a free one)"
        )


@click.command()
@click.argument("flows_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--simulator-port",
    default=8765,
    show_default=True,
    type=int,
    help="Sandbox mode only: where the built-in Graph API simulator listens.",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="Talk to the built-in Graph API simulator, not to Facebook, with its own page and"
    " credentials (or set PAGEFLOWS_SANDBOX=1).",
)
@config_option
def serve(
    flows_dir: str, host: str, port: int, simulator_port: int, sandbox: bool, config_path: str
) -> None:
    """Run the webhook, the worker and the scheduler for the flows in FLOWS_DIR."""
    check_port("--port", port)
    check_port("--simulator-port", simulator_port)
    settings = settings_or_exit(config_path, sandbox)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("werkzeug", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        service = build_service(settings, flows_dir, SystemClock(), host, port, simulator_port)
    except FlowsError as exc:
        click.echo(render_text(exc.result.errors, exc.result.sources), err=True)
        raise click.ClickException("the flows have errors; `pageflows check` lists them") from None
    except DatabaseUrlError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise database_failure("cannot use the database", exc, settings.database_url) from None
    except ListenError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    # Logged once the service is built, so a refusal above stays the only line printed.
    if settings.sandbox:
        log.info(
            "sandbox mode: pageflows talks to its built-in Graph API simulator, not to Facebook"
        )
    else:
        log.info("serving %d page(s) through %s", len(settings.pages), settings.graph_url)
    service.start()
    log.info("listening on %s/webhook (health: %s/healthz)", service.url, service.url)
    if settings.sandbox and service.simulator is not None:
        sim_flag = "" if simulator_port == 8765 else f" --sim {service.simulator.root}"
        log.info(
            "talk to it from another terminal: pageflows simulator arrive --as alice"
            ' --ref spring_sale%s, then pageflows simulator say "how much?" --as alice%s',
            sim_flag,
            sim_flag,
        )
    stopped = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    def on_reload(signum: int, _frame: FrameType | None) -> None:
        """SIGHUP: read the page tokens again (a token replaced without a restart)."""
        try:
            fresh = load_settings(os.environ, Path(config_path), sandbox)
        except ConfigError as exc:
            log.error("reload refused, keeping the running settings: %s", exc)
            return
        resumed = service.replace_tokens({page.id: page.token for page in fresh.pages})
        log.info("reloaded page tokens; resumed: %s", ", ".join(resumed) or "none")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_reload)
    stopped.wait()
    log.info("stopping: finishing the current pass")
    service.stop()


@click.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: str) -> None:
    """Create or migrate the tables (serve does this on start too)."""
    try:
        settings = read_settings(os.environ, Path(config_path))
        upgrade(make_engine(settings.database_url))
    except (ConfigError, DatabaseUrlError) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise database_failure("cannot migrate", exc, settings.database_url) from None
    click.echo("database is up to date")


@click.group()
def profile() -> None:
    """Each page's Messenger profile (greeting, Get Started, ice breakers)."""


@profile.command("sync")
@config_option
def profile_sync(config_path: str) -> None:
    """Set the greeting, Get Started button and ice breakers of each page."""
    try:
        settings = require_pages(read_settings(os.environ, Path(config_path)))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    failed = 0
    for page in settings.pages:
        client = GraphClient(RequestsTransport(settings.graph_url), page.token)
        outcome = client.set_messenger_profile(page.messenger_profile())
        if isinstance(outcome, Sent):
            click.echo(f"page {page.id}: profile set")
        else:
            failed += 1
            click.echo(f"page {page.id}: refused: {outcome.message}", err=True)
    if failed:
        raise SystemExit(1)
