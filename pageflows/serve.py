"""`pageflows serve`: the webhook, the worker and the scheduler in one process.

This module sits above the layers: it wires webhook/ (Flask), engine/ (the
worker, the sender, storage) and, in sandbox mode, the built-in Graph API
simulator. APScheduler is only the alarm that wakes the worker; the
database's `due_at` is the truth, so a restart loses no follow-up.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from pageflows.clock import Clock
from pageflows.engine.policy import check_tag
from pageflows.rules.load import LoadResult, load_paths
from pageflows.service.config import Settings
from pageflows.service.graph.client import GraphClient
from pageflows.service.graph.transport import RequestsTransport
from pageflows.service.pages import ensure as ensure_page_rows
from pageflows.service.pages import resume_if_token_replaced
from pageflows.service.sender import Sender
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.worker import PageRuntime, Worker
from pageflows.webhook.app import create_app

log = logging.getLogger("pageflows")


class FlowsError(Exception):
    """The flows have errors: `result` holds them for rendering."""

    def __init__(self, result: LoadResult) -> None:
        super().__init__("the flows have errors")
        self.result = result


@dataclass
class Service:
    settings: Settings
    engine: Engine
    clock: Clock
    worker: Worker
    sender: Sender
    server: BaseWSGIServer
    wake_event: threading.Event = field(default_factory=threading.Event)
    stop_event: threading.Event = field(default_factory=threading.Event)
    heartbeat: datetime | None = None
    threads: list[threading.Thread] = field(default_factory=list)
    scheduler: BackgroundScheduler | None = None
    simulator: Any = None
    simulator_context: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def wake(self) -> None:
        self.wake_event.set()

    def worker_alive(self) -> bool:
        thread = next((t for t in self.threads if t.name == "pageflows-worker"), None)
        return thread is not None and thread.is_alive()

    def work_once(self) -> int:
        """One pass: inbox, due follow-ups and broadcasts, outbox. Tests call it directly.

        Each stage is on its own: a failing stage (a bug, the database away for a
        moment) is logged and the others still run, so sending never waits on the inbox.
        """
        done = 0
        for stage in (self.worker.process_inbox, self.worker.process_due, self.sender.drain):
            try:
                done += stage()
            except Exception:  # a bug must not kill the worker: log, and keep going
                log.exception("worker stage %s failed; retrying", stage.__name__)
        self.heartbeat = self.clock.now()
        return done

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            self.wake_event.wait(0.5)
            self.wake_event.clear()
            while not self.stop_event.is_set() and self.work_once():
                pass

    def replace_tokens(self, tokens: dict[str, str]) -> list[str]:
        """A reload: new page tokens take effect now; pages paused for their token resume."""
        for page_id, token in tokens.items():
            client = self.sender.clients.get(page_id)
            if client is not None:
                client.token = token
        resumed = resume_if_token_replaced(self.engine, tokens, self.clock.now())
        self.wake()
        return resumed

    def start(self, worker: bool = True) -> None:
        """Serve HTTP and, unless `worker` is False (tests that step the worker), work."""
        http = threading.Thread(
            target=self.server.serve_forever, args=(0.1,), name="pageflows-http", daemon=True
        )
        self.threads = [http]
        if worker:
            self.threads.append(
                threading.Thread(target=self._loop, name="pageflows-worker", daemon=True)
            )
        for thread in self.threads:
            thread.start()
        if not worker:
            return
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.scheduler.add_job(self.wake, "interval", seconds=1, id="alarm")
        self.scheduler.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        self.server.shutdown()
        for thread in self.threads:
            thread.join(timeout=5)
        if self.simulator_context is not None:
            with contextlib.suppress(Exception):
                self.simulator_context.__exit__(None, None, None)
        self.engine.dispose()


class ListenError(Exception):
    """A socket pageflows cannot listen on; the message is one line naming the option to change."""


def ensure_free(host: str, port: int, option: str = "--port") -> None:
    """Fail with ListenError before werkzeug does: it would print and exit on its own."""
    if port == 0:
        return
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            reason = f"port {port} is in use; stop the other program or pass another {option}"
        else:
            reason = f"{exc.strerror or exc}; check --host and {option}"
        raise ListenError(f"cannot listen on {host}:{port}: {reason}") from None


def load_flows(paths: list[str], clock: Clock) -> LoadResult:
    result = load_paths(paths, clock.now().date(), check_tag)
    if result.program is None:
        raise FlowsError(result)
    return result


def build_service(
    settings: Settings,
    flows_dir: str,
    clock: Clock,
    host: str = "127.0.0.1",
    port: int = 8000,
    simulator_port: int = 0,
    graph_timeout: float = 10.0,
) -> Service:
    """Everything wired and migrated, not yet started.

    Raises FlowsError, ListenError, DatabaseUrlError or SQLAlchemyError.
    """
    # The flows first: an error in them must not leave a socket bound or a simulator running.
    programs = {page.id: load_flows([page.flows or flows_dir], clock) for page in settings.pages}
    ensure_free(host, port)
    if settings.sandbox:
        ensure_free("127.0.0.1", simulator_port, "--simulator-port")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    ensure_page_rows(engine, [p.id for p in settings.pages], clock.now())
    resume_if_token_replaced(engine, {p.id: p.token for p in settings.pages}, clock.now())
    holder: dict[str, Service] = {}
    app = create_app(
        engine=engine,
        app_secret=settings.app_secret,
        verify_token=settings.verify_token,
        clock=clock,
        wake=lambda: holder["service"].wake(),
        worker_alive=lambda: holder["service"].worker_alive(),
    )
    server = make_server(host, port, app, threaded=True)
    simulator = simulator_context = None
    graph_url = settings.graph_url
    if settings.sandbox:
        from pageflows.simulator import running_simulator

        simulator_context = running_simulator(port=simulator_port)
        simulator = handle = simulator_context.__enter__()
        graph_url = handle.url
        for page in settings.pages:
            handle.control.register_page(
                page_id=page.id,
                token=page.token,
                app_secret=settings.app_secret,
                webhook_url=f"http://{server.host}:{server.port}/webhook",
            )
    runtimes: dict[str, PageRuntime] = {}
    clients: dict[str, GraphClient] = {}
    for page in settings.pages:
        result = programs[page.id]
        assert result.program is not None
        client = GraphClient(RequestsTransport(graph_url, timeout=graph_timeout), page.token)
        clients[page.id] = client
        runtimes[page.id] = PageRuntime(page.id, result.program, client, page.get_started_payload)
    service = Service(
        settings=settings,
        engine=engine,
        clock=clock,
        worker=Worker(engine, runtimes, clock),
        # A lease outlives the longest claim: a HEAD and a send, each up to the timeout.
        sender=Sender(engine, clients, clock, lease=timedelta(seconds=2 * graph_timeout + 10)),
        server=server,
        simulator=simulator,
        simulator_context=simulator_context,
    )
    if engine.dialect.name == "sqlite" and service.sender.end_leases():
        log.warning("recovering the messages a stopped process was sending")
    holder["service"] = service
    return service
