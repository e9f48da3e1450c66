"""The webhook's Flask app under gunicorn: one arbiter, and the app built in each worker process.

Nothing is preloaded: every worker process loads the settings and opens its
own database engine after the fork, because a connection pool shared across
a fork hands both processes the same sockets. The arbiter checks the settings
once before it binds, so a mistake is one line and exit status 1, not one
per worker.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.errors import AppImportError
from sqlalchemy import Engine

from pageflows.api import ApiContext, create_api
from pageflows.clock import Clock, SystemClock
from pageflows.console import install_console
from pageflows.service.config import ConfigError, Settings, load_settings
from pageflows.service.sandbox_clock import SandboxClock
from pageflows.service.storage.database import DatabaseUrlError, make_engine, normalise_url
from pageflows.service.wake import Bell, sqlite_bell
from pageflows.web.collector import freeze_loaded, freeze_warm
from pageflows.web.options import WebOptions
from pageflows.web.process import die_with_parent, raise_fd_limit
from pageflows.web.worker import BoundedThreadWorker
from pageflows.webhook.app import create_app

log = logging.getLogger("pageflows.web")
HEARTBEAT_TIMEOUT = 30  # the arbiter restarts a worker process whose main loop is silent this long
SPARE_DESCRIPTORS = 64  # files a process needs besides its clients: database, log, pipes, poller


class WebError(Exception):
    """The server cannot start as asked; the message is one line for the operator."""


def read_settings(options: WebOptions) -> Settings:
    """The settings `serve` would run with; raises ConfigError or DatabaseUrlError."""
    path = Path(options.config_path) if options.config_path else None
    settings = load_settings(os.environ, path, options.sandbox)
    normalise_url(settings.database_url)
    return settings


class WebApplication(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
    def __init__(self, options: WebOptions) -> None:
        self.options = options
        self.engine: Engine | None = None
        self.api_engine: Engine | None = None
        super().__init__(prog="pageflows-web")

    def load_config(self) -> None:
        for key, value in gunicorn_settings(self.options).items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """In each worker process, after the fork: its own settings, engine and app."""
        try:
            settings = read_settings(self.options)
        except (ConfigError, DatabaseUrlError) as exc:
            raise AppImportError(str(exc)) from None  # gunicorn prints it as one line
        # Ingest's engine pings no connection before use (a round trip per request,
        # 15-40% of one on PostgreSQL): store_batch and /healthz retry once instead.
        # The operator API and the console keep a pinging engine of their own.
        self.engine = engine = make_engine(settings.database_url, pre_ping=False)
        self.api_engine = api_engine = make_engine(settings.database_url)
        clock: Clock = (
            SandboxClock(self.options.simulator_url)
            if self.options.simulator_url
            else SystemClock()
        )
        bell = sqlite_bell(engine)  # SQLite: the worker's poll is not waited for
        app = create_app(
            engine=engine,
            app_secret=settings.app_secret,
            verify_token=settings.verify_token,
            clock=clock,
            wake=Bell(bell).ring if bell is not None else lambda: None,
        )
        context = ApiContext(
            api_engine,
            clock,
            settings,
            self.options.flows_dir,
            simulator_url=self.options.simulator_url,
        )
        app.register_blueprint(create_api(context))
        install_console(app, context)  # issue 11: the web console at /, on the same context
        return app


def gunicorn_settings(options: WebOptions) -> dict[str, Any]:
    host = f"[{options.host}]" if ":" in options.host else options.host
    return {
        "bind": [f"{host}:{options.port}"],
        "workers": options.workers,
        "worker_class": BoundedThreadWorker,
        "threads": options.threads,
        "worker_connections": options.connections,
        "backlog": options.backlog,
        "timeout": HEARTBEAT_TIMEOUT,
        "graceful_timeout": math.ceil(options.graceful_timeout),  # gunicorn counts whole seconds
        "keepalive": math.ceil(options.keepalive),
        "reuse_port": options.reuse_port,
        "preload_app": False,
        "errorlog": "-",
        # gunicorn's own info lines (booting, listening) would repeat ours: warnings up only.
        "loglevel": "debug" if options.log_level == "debug" else "warning",
        "accesslog": "-" if options.access_log else None,
        # The path without its query string: a browser link may carry the admin token.
        "access_log_format": '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms',
        "control_socket_disable": True,  # else one shared socket in $HOME for every instance
        "proc_name": "pageflows-web",
        "post_fork": _post_fork,
        "post_worker_init": freeze_loaded,
        "post_request": freeze_warm,
        "when_ready": _when_ready,
        "worker_exit": _worker_exit,
        "on_exit": _on_exit,
    }


def _post_fork(server: Any, worker: Any) -> None:
    """A worker process ends with its arbiter, at once, even when the arbiter is SIGKILLed."""
    die_with_parent(server.pid)


def _when_ready(server: Any) -> None:
    options: WebOptions = server.app.options
    if server.LISTENERS:
        address = str(server.LISTENERS[0])
    else:  # reuse_port: each worker process binds its own socket
        address = f"http://{options.host}:{options.port}"
    processes = "process" if options.workers == 1 else "processes"
    log.info(
        "listening on %s/webhook with %d %s (%d threads, up to %d connections each)",
        address,
        options.workers,
        processes,
        options.threads,
        options.connections,
    )


def _worker_exit(server: Any, worker: Any) -> None:
    for name in ("engine", "api_engine"):
        engine = getattr(worker.app, name, None)
        if engine is not None:
            engine.dispose()


def _on_exit(server: Any) -> None:
    log.info("stopped")


def run(options: WebOptions) -> None:
    """Serve until SIGTERM (or SIGINT), then stop gracefully; blocks. Raises WebError.

    SIGTERM: stop accepting, let the requests being served finish (at most
    `graceful_timeout` seconds), exit 0. A worker process that cannot start ends
    the arbiter with gunicorn's status (3 or 4), as SystemExit.
    """
    problems = options.problems()
    if problems:
        raise WebError("; ".join(problems))
    logging.basicConfig(
        level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        read_settings(options)
    except (ConfigError, DatabaseUrlError) as exc:
        raise WebError(str(exc)) from None
    limit = raise_fd_limit()
    if limit is not None and limit < options.connections + SPARE_DESCRIPTORS:
        log.warning(
            "the file-descriptor limit is %d: each process can hold about %d connections, not"
            " %d; raise it (ulimit -n) or lower --connections",
            limit,
            max(limit - SPARE_DESCRIPTORS, 0),
            options.connections,
        )
    try:
        WebApplication(options).run()
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise
    finally:
        sys.stderr.flush()
