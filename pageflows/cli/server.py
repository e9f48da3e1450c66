"""The server's commands: `serve`, `worker`, `db upgrade`, `profile sync`.

Startup problems are one line each (a setting, the database, the port), and
none shows a password; the flows' findings are rendered as `pageflows check`
renders them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from pageflows.clock import Clock, SystemClock
from pageflows.rules.report import render_text
from pageflows.serve import (
    FlowsError,
    ListenError,
    Service,
    build_service,
    ensure_free,
    free_port,
    prepare_database,
    settle_heap,
    start_sandbox_simulator,
)
from pageflows.service import connected_pages
from pageflows.service.config import (
    ConfigError,
    Settings,
    graph_version_verdict,
    load_settings,
    read_settings,
    require_pages,
    version_line,
)
from pageflows.service.graph.client import GraphClient, Sent
from pageflows.service.graph.transport import RequestsTransport
from pageflows.service.sandbox_clock import SandboxClock
from pageflows.service.sender import CONCURRENCY
from pageflows.service.storage.database import (
    DatabaseUrlError,
    SingleWorkerError,
    hold_sqlite_worker_lock,
    make_engine,
    redact,
    shown_url,
)
from pageflows.service.storage.migrate import upgrade
from pageflows.service.token_crypto import new_key
from pageflows.web import WebOptions, spawn, stop, wait_listening

log = logging.getLogger("pageflows")
DEFAULT_CONFIG = "pageflows.toml"
config_option = click.option(
    "--config",
    "config_path",
    default=DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Optional settings file; environment variables win over it.",
)


def beside_flows(config_path: str, flows_dir: str) -> str:
    """The default settings file is ./pageflows.toml, else the one in the flows folder.

    Why: the flows and the Page they run on (its region, its templates) travel
    together; `check` and `test` find the same file the same way.
    """
    if config_path != DEFAULT_CONFIG or Path(config_path).exists():
        return config_path
    beside = Path(flows_dir) / DEFAULT_CONFIG
    return str(beside) if beside.is_file() else config_path


def settings_or_exit(config_path: str, sandbox: bool = False) -> Settings:
    """The settings `serve` runs with (sandbox only when asked), or one line saying why not."""
    try:
        return load_settings(os.environ, Path(config_path), sandbox)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def read_settings_or_exit(config_path: str) -> Settings:
    """The settings file and environment as they are (no sandbox default), or one line
    saying why not: what the operator commands (`agent`, `conversations`, `growth`) read."""
    try:
        return read_settings(os.environ, Path(config_path))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def sandbox_graph_url(settings: Settings, simulator_port: int) -> str | None:
    """Sandbox mode: the simulator a `serve --sandbox` started, under the configured version."""
    if not settings.sandbox:
        return None
    return f"http://127.0.0.1:{simulator_port}/{settings.graph_version}"


def clock_of(ctx: click.Context) -> Clock:
    """The clock a test hands in through `ctx.obj` (as `check` takes one), else the system's."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Clock) else SystemClock()


def refuse_ended_version(settings: Settings, clock: Clock) -> str | None:
    """Exit with one line when the Graph API version has ended on the clock's day; else the
    warning to log once logging is set up (ending within 90 days, or not in the table)."""
    verdict = graph_version_verdict(settings, clock.now().date())
    if verdict.state == "ended":
        raise click.ClickException(f"cannot start: {version_line(verdict)}")
    return None if verdict.ok else version_line(verdict)


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


def build_or_exit(
    settings: Settings,
    flows_dir: str,
    senders: int,
    graph_url: str | None = None,
    clock: Clock | None = None,
) -> Service:
    """The worker side, built and migrated, or one line (the flows' findings first) why not."""
    try:
        lock = hold_sqlite_worker_lock(settings.database_url)
        service = build_service(
            settings, flows_dir, clock or SystemClock(), graph_url=graph_url, concurrency=senders
        )
    except FlowsError as exc:
        click.echo(render_text(exc.result.errors, exc.result.sources), err=True)
        raise click.ClickException("the flows have errors; `pageflows check` lists them") from None
    except (DatabaseUrlError, SingleWorkerError) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise database_failure("cannot use the database", exc, settings.database_url) from None
    service.lock = lock  # held for the life of the process
    return service


def migrate_or_exit(settings: Settings) -> None:
    """Before the web processes start, so they find the tables made (and never race)."""
    try:
        prepare_database(settings, SystemClock()).dispose()
    except DatabaseUrlError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise database_failure("cannot use the database", exc, settings.database_url) from None


def quiet_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("werkzeug", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def wait_for_signals(service: Service | None, config_path: str, sandbox: bool) -> threading.Event:
    """SIGTERM/SIGINT set the returned event; SIGHUP reloads the page tokens."""
    stopped = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    def on_reload(signum: int, _frame: FrameType | None) -> None:
        """SIGHUP: read the page tokens again (a token replaced without a restart)."""
        if service is None:
            return
        try:
            fresh = load_settings(os.environ, Path(config_path), sandbox)
        except ConfigError as exc:
            log.error("reload refused, keeping the running settings: %s", exc)
            return
        tokens = {page.id: page.token for page in fresh.pages}
        sealer = service.token_box()
        if sealer is not None:  # a page connected on the console keeps its newer token
            tokens.update(connected_pages.tokens(service.engine, sealer))
        changed = [
            page_id
            for page_id, token in tokens.items()
            if page_id in service.sender.clients and service.sender.clients[page_id].token != token
        ]
        resumed = service.replace_tokens(tokens)
        facts = service.replace_page_facts(fresh.pages)
        if facts:
            log.info("reloaded the region, ad window and templates of page(s) %s", ", ".join(facts))
        if not changed:
            log.warning(
                "reload: no page token changed. A token in pageflows.toml is read again on"
                " SIGHUP; one set by PAGEFLOWS_PAGE_TOKEN changes only with a restart"
            )
        log.info(
            "reloaded page tokens (changed: %s); resumed: %s",
            ", ".join(changed) or "none",
            ", ".join(resumed) or "none",
        )

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_reload)
    return stopped


def finish(service: Service | None) -> None:
    if service is None:
        return
    log.info("stopping: finishing what is in flight, giving the rest back")
    if not service.drain():
        log.warning("a loop did not finish in time; its claims return when their leases end")
    service.engine.dispose()
    log.info("stopped")


senders_option = click.option(
    "--senders",
    default=CONCURRENCY,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Contacts this process sends to at once; 0: as many as each page's pace times"
    " Graph's answer time needs, 8 to 64 (each page is paced either way).",
)


@click.command()
@click.argument("flows_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    "web_workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="gunicorn processes answering the webhook.",
)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Threads per web process, each serving one whole request at a time.",
)
@click.option(
    "--connections",
    default=2000,
    show_default=True,
    type=click.IntRange(2, 100_000),
    help="Client connections one web process holds at once (idle or slow ones cost no thread).",
)
@click.option(
    "--request-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.5, 300),
    help="Seconds a client has to send a whole request before it is dropped.",
)
@click.option(
    "--web-only",
    is_flag=True,
    help="Only the webhook: deciding and sending are left to `pageflows worker` processes.",
)
@senders_option
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
@click.pass_context
def serve(
    ctx: click.Context,
    flows_dir: str,
    host: str,
    port: int,
    web_workers: int,
    threads: int,
    connections: int,
    request_timeout: float,
    web_only: bool,
    senders: int,
    simulator_port: int,
    sandbox: bool,
    config_path: str,
) -> None:
    """Run the webhook (gunicorn) and, unless --web-only, a worker for the flows in FLOWS_DIR."""
    check_port("--port", port)
    check_port("--simulator-port", simulator_port)
    config_path = beside_flows(config_path, flows_dir)
    settings = settings_or_exit(config_path, sandbox)
    version_warning = refuse_ended_version(settings, clock_of(ctx))
    quiet_logging()
    if version_warning:
        log.warning("%s", version_warning)
    try:
        port = port or free_port(host)  # 0: any free port, chosen here so the log can name it
        ensure_free(host, port)
        if settings.sandbox:
            ensure_free("127.0.0.1", simulator_port, "--simulator-port")
    except ListenError as exc:
        raise click.ClickException(str(exc)) from None
    with contextlib.ExitStack() as stack:
        simulator = None
        if settings.sandbox:
            context, simulator = start_sandbox_simulator(
                settings, simulator_port, f"http://{host}:{port}/webhook"
            )
            stack.callback(context.__exit__, None, None, None)
            settings = sandbox_for_the_console(settings, simulator.url)
        graph_url = simulator.url if simulator is not None else None
        # issue 11: in sandbox mode the worker keeps the simulator's time, which the
        # console's preview moves (service/sandbox_clock.py); the web processes do too.
        clock = SandboxClock(simulator.root) if simulator is not None else None
        service = (
            None if web_only else build_or_exit(settings, flows_dir, senders, graph_url, clock)
        )
        if service is None:
            migrate_or_exit(settings)
        settings = announce_operator_api(settings, host, port)
        options = WebOptions(
            host=host,
            port=port,
            workers=web_workers,
            threads=threads,
            connections=max(connections, threads + 1),
            timeout=request_timeout,
            config_path=config_path if Path(config_path).exists() else None,
            flows_dir=flows_dir,
            sandbox=settings.sandbox,
            simulator_url=simulator.root if simulator is not None else None,
        )
        run_serving(settings, service, simulator, options, simulator_port, config_path)


def sandbox_for_the_console(settings: Settings, simulator_url: str) -> Settings:
    """Sandbox mode: the web processes (which inherit this environment) reach the simulator
    for the console's Facebook Login and Graph calls, and page tokens connected there are
    sealed with a key made for this run when PAGEFLOWS_TOKEN_KEY is not set (a later run
    cannot open them: the sandbox page is connected again)."""
    os.environ["PAGEFLOWS_GRAPH_URL"] = simulator_url
    key = settings.token_key
    if not key:
        key = os.environ["PAGEFLOWS_TOKEN_KEY"] = new_key()
    return replace(settings, graph_url=simulator_url, token_key=key)


MIN_ADMIN_TOKEN = 20  # characters; secrets.token_urlsafe(32) gives 43


def announce_operator_api(settings: Settings, host: str, port: int) -> Settings:
    """Say where the operator API is. In sandbox mode without PAGEFLOWS_ADMIN_TOKEN, make a
    token for this run and print a ready link with it (as Jupyter does), on stdout only:
    the token never goes into a log line. The web processes inherit it."""
    url = f"http://{host}:{port}/api/"
    if settings.admin_token:
        if len(settings.admin_token) < MIN_ADMIN_TOKEN:
            log.warning(
                "PAGEFLOWS_ADMIN_TOKEN has %d characters: anyone who guesses it acts as the"
                " Page; use %d or more, e.g. python3 -c 'import secrets;"
                " print(secrets.token_urlsafe(32))'",
                len(settings.admin_token),
                MIN_ADMIN_TOKEN,
            )
        log.info("operator API: %s (Authorization: Bearer $PAGEFLOWS_ADMIN_TOKEN)", url)
        log.info("web console: http://%s:%s/ (sign in with the admin token)", host, port)
        return settings
    if not settings.sandbox:
        log.info("operator API: off; set PAGEFLOWS_ADMIN_TOKEN to turn it on")
        return settings
    token = secrets.token_urlsafe(24)
    os.environ["PAGEFLOWS_ADMIN_TOKEN"] = token
    # issue 11: the link signs the browser in to the web console and drops the token.
    click.echo(f"web console (sandbox, signs you in): http://{host}:{port}/?token={token}")
    click.echo(f"operator API (sandbox, this run's token): {url}?token={token}")
    click.echo(f'  or: curl -H "Authorization: Bearer {token}" {url}status')
    return replace(settings, admin_token=token)


def run_serving(
    settings: Settings,
    service: Service | None,
    simulator: Any,
    options: WebOptions,
    simulator_port: int,
    config_path: str,
) -> None:
    """gunicorn as a child process, the worker's loops here, until SIGTERM; then drain."""
    host, port = options.host, options.port
    stopped = wait_for_signals(service, config_path, settings.sandbox)
    web = spawn(options)
    if not wait_listening(host, port, web, timeout=30):
        if service is not None:
            service.engine.dispose()
        raise click.ClickException(
            f"the webhook did not start on {host}:{port} (gunicorn exited {web.poll()});"
            " its lines above say why"
        )
    if settings.sandbox:
        log.info(
            "sandbox mode: pageflows talks to its built-in Graph API simulator, not to Facebook"
        )
    else:
        log.info("serving %d page(s) through %s", len(settings.pages), settings.graph_url)
    if service is not None:
        settle_heap()
        service.start()
    url = f"http://{host}:{port}"
    log.info(
        "health: %s/healthz; %s",
        url,
        "no worker in this process (--web-only): run `pageflows worker`"
        if service is None
        else "this process also decides and sends (the worker)",
    )
    if simulator is not None:
        sim_flag = "" if simulator_port == 8765 else f" --sim {simulator.root}"
        log.info(
            "talk to it from another terminal: pageflows simulator arrive --as alice%s,"
            ' then pageflows simulator say "hello" --as alice%s',
            sim_flag,
            sim_flag,
        )
    while not stopped.wait(1.0):
        if web.poll() is not None:  # gunicorn's arbiter died: bring the webhook back
            log.error("the webhook's gunicorn exited (%s); starting it again", web.returncode)
            web = spawn(options)
    web.terminate()  # SIGTERM now: gunicorn finishes its requests while the worker drains
    finish(service)
    stop(web)


@click.command()
@click.argument("flows_dir", type=click.Path(exists=True, file_okay=False))
@senders_option
@click.option(
    "--sandbox",
    is_flag=True,
    help="Use the sandbox page and the simulator a `serve --sandbox` started (or set"
    " PAGEFLOWS_SANDBOX=1).",
)
@click.option(
    "--simulator-port",
    default=8765,
    show_default=True,
    type=int,
    help="Sandbox mode only: where that simulator listens.",
)
@config_option
@click.pass_context
def worker(
    ctx: click.Context,
    flows_dir: str,
    senders: int,
    sandbox: bool,
    simulator_port: int,
    config_path: str,
) -> None:
    """Decide and send for the flows in FLOWS_DIR, without the webhook; run any number on
    PostgreSQL (one on SQLite). SIGTERM finishes what is in flight and exits."""
    check_port("--simulator-port", simulator_port)
    config_path = beside_flows(config_path, flows_dir)
    settings = settings_or_exit(config_path, sandbox)
    version_warning = refuse_ended_version(settings, clock_of(ctx))
    quiet_logging()
    if version_warning:
        log.warning("%s", version_warning)
    graph_url = sandbox_graph_url(settings, simulator_port)
    service = build_or_exit(settings, flows_dir, senders, graph_url)
    stopped = wait_for_signals(service, config_path, settings.sandbox)
    settle_heap()
    service.start()
    log.info(
        "worker started for %d page(s) on %s (%d sender thread(s); pace: %s)%s",
        len(settings.pages),
        shown_url(settings.database_url),
        senders,
        ", ".join(f"page {p.id} {p.rate:g}/s" for p in settings.pages),
        f"; sandbox mode, Graph API at {graph_url}" if graph_url else "",
    )
    stopped.wait()
    finish(service)


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
