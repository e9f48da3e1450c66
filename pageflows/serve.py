"""The worker side of pageflows: deciding and sending, as loops on threads of one process.

`pageflows worker` runs one `Service`; `pageflows serve` runs one beside the
webhook's gunicorn processes (web.py). Any number of them share one
PostgreSQL database (locks.py, the sender's claims, pace.py); SQLite takes
one. The loops:

- deciding: inbox events, then due follow-ups and broadcast deliveries;
- sending: claimed outbox rows, several contacts at once, each page paced;
- a heartbeat, so `/healthz` in any web process knows a worker is alive.
- connected pages (issue 11): a page token stored on the console's Pages page
  is used within CONNECTED_POLL seconds, without a restart.

Deciding and sending are apart: a slow or failing Graph API never delays the
inbox. Each loop sleeps until it is woken (LISTEN/NOTIFY on PostgreSQL, the
other loop in this process) or its poll comes round; the database is the
truth, so a lost wake-up costs a poll interval, never a message.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from pageflows import ports
from pageflows.clock import Clock
from pageflows.engine.policy import RULES, check_tag
from pageflows.rules.diagnostics import Code
from pageflows.rules.load import LoadResult, load_paths
from pageflows.rules.page_facts import PageFacts
from pageflows.service import connected_pages, heartbeat
from pageflows.service.config import PageConfig, Settings
from pageflows.service.graph.client import GraphClient
from pageflows.service.graph.transport import RequestsTransport
from pageflows.service.pace import Pacer, slot_width
from pageflows.service.pages import ensure as ensure_page_rows
from pageflows.service.pages import fingerprint, resume_if_token_replaced
from pageflows.service.sender import CONCURRENCY, Sender
from pageflows.service.storage.database import make_engine, own_backends
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.templates import load_page_facts
from pageflows.service.token_crypto import TokenBox, TokenKeyMissing, box
from pageflows.service.wake import Alarms, BellListener, Listener, sqlite_bell
from pageflows.service.worker import PageRuntime, Worker

log = logging.getLogger("pageflows")
POLL_POSTGRESQL = 1.0  # seconds; notifications wake the loops sooner
POLL_SQLITE = 0.2  # no notifications: a local file is cheap to ask often
# issue 11: how often the worker looks for a page token connected or refreshed on the
# console's Pages page (one small query), so a running `serve` uses it without a restart.
CONNECTED_POLL = 3.0
# issue 13 (sixth session): due follow-ups and broadcasts come with time, not with the
# inbox's events; a pass that found none is not repeated sooner than the loop's poll (the
# lateness they have anyway when the inbox is quiet). The deciding loop runs after every
# event, and an idle look (three queries) cost a one-event pass 3.6 ms of CPU, twice, as
# much as deciding the event; every 0.2 s (until the ninth session) it still ran 5 times
# a second at 20 events/s, and an event arriving meanwhile waited behind it (2-20 ms).
# The events one pass of the deciding loop takes at most (`Worker.process_inbox`'s limit).
INBOX_PASS = 200


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
    alarms: Alarms = field(default_factory=Alarms)
    stop_event: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    worker_id: str | None = None
    lock: Any = None  # SQLite's one-worker lock file, held while the process lives
    # issue 11: makes a page connected on the console (not configured) run here, now:
    # its flows, its Graph client, its pace; False when its flows cannot load.
    joiner: Callable[[PageConfig], bool] | None = None
    due_idle_at: float = float("-inf")  # when `process_due` last found nothing (monotonic)
    # Whether the deciding loop's last pass may have left work it could do now: a full
    # inbox pass, or due follow-ups found (issue 13, seventh session; see `_loop`).
    decide_left_behind: bool = True

    @property
    def poll(self) -> float:
        return POLL_POSTGRESQL if self.engine.dialect.name == "postgresql" else POLL_SQLITE

    def wake(self) -> None:
        self.alarms.ring_all()

    def alive(self) -> bool:
        """Every loop thread still running (none died of a bug)."""
        return bool(self.threads) and all(t.is_alive() for t in self.threads)

    def work_once(self) -> int:
        """One pass: inbox, due follow-ups and broadcasts, outbox. Tests call it directly.

        Each stage is on its own: a failing stage (a bug, the database away for a
        moment) is logged and the others still run.
        """
        done = 0
        for stage in (self.worker.process_inbox, self.worker.process_due, self.sender.drain):
            done += _guarded(stage)
        return done

    def _decide_loop(self) -> None:
        self._loop(
            self.alarms.inbox,
            (self._inbox_pass, self._due_unless_just_idle),
            lambda: self.decide_left_behind,
        )

    def _inbox_pass(self) -> int:
        """The inbox's pending events, up to INBOX_PASS: fewer means the pass took every one
        it could (events of contacts another process holds are that process's; a retry's
        time comes with the poll), and events stored since ring the alarm."""
        done = self.worker.process_inbox(INBOX_PASS)
        self.decide_left_behind = done >= INBOX_PASS
        return done

    def _due_unless_just_idle(self) -> int:
        """Due follow-ups and broadcasts, unless a look under a poll ago found none: at most
        one poll later than due, as when the inbox is quiet."""
        began = time.monotonic()
        if began - self.due_idle_at < self.poll:
            return 0
        done = self.worker.process_due()
        self.due_idle_at = began if not done else float("-inf")
        self.decide_left_behind |= bool(done)  # its batches: more may be due
        return done

    def _send_loop(self) -> None:
        self._loop(self.alarms.outbox, (self.sender.drain,), lambda: self.sender.left_behind)

    def _loop(
        self,
        alarm: threading.Event,
        stages: tuple[Callable[[], int], ...],
        left_behind: Callable[[], bool],
    ) -> None:
        """Run the stages when the alarm rings (or every `poll`), again while they find work,
        unless they say nothing was `left_behind`: what comes meanwhile rings the alarm,
        which was cleared before they ran."""
        while not self.stop_event.is_set():
            alarm.wait(self.poll)
            alarm.clear()
            while not self.stop_event.is_set():
                done = 0
                for stage in stages:
                    done += _guarded(stage)
                if not done or not left_behind():
                    break

    def _beat_loop(self) -> None:
        assert self.worker_id is not None
        while not self.stop_event.wait(heartbeat.BEAT_EVERY.total_seconds()):
            try:
                self.worker.share = heartbeat.beat(self.engine, self.worker_id, self.clock.now())
            except Exception as exc:  # the database away for a moment: beat again later
                log.warning("heartbeat failed: %s", type(exc).__name__)

    def replace_tokens(self, tokens: dict[str, str]) -> list[str]:
        """A reload: new page tokens take effect now; pages paused for their token resume."""
        for page_id, token in tokens.items():
            client = self.sender.clients.get(page_id)
            if client is not None:
                client.token = token
        resumed = resume_if_token_replaced(self.engine, tokens, self.clock.now())
        self.wake()
        return resumed

    def token_box(self) -> TokenBox | None:
        """The key that opens connected pages' tokens; None without one (none can be stored)."""
        try:
            return box(self.settings.token_key)
        except TokenKeyMissing:
            return None

    def sync_connected_tokens(self) -> list[str]:
        """Use the tokens connected on the Pages page: each page whose stored token differs
        from the one it sends with gets it now (paused pages resume). Returns those pages."""
        sealer = self.token_box()
        if sealer is None:
            return []
        stored = connected_pages.fingerprints(self.engine)
        stale = [
            page_id
            for page_id, print_ in stored.items()
            if page_id in self.sender.clients
            and fingerprint(self.sender.clients[page_id].token) != print_
        ]
        if not stale:
            return []
        opened = connected_pages.tokens(self.engine, sealer)
        fresh = {page_id: opened[page_id] for page_id in stale if page_id in opened}
        if fresh:
            resumed = self.replace_tokens(fresh)
            log.info(
                "page token(s) connected on the console now in use: %s%s",
                ", ".join(sorted(fresh)),
                f"; resumed: {', '.join(resumed)}" if resumed else "",
            )
        return sorted(fresh)

    def join_connected_pages(self) -> list[str]:
        """Pages connected on the console that this process does not run yet (not in
        pageflows.toml) join now, with the default flows: no restart."""
        sealer = self.token_box()
        if sealer is None or self.joiner is None:
            return []
        if not set(connected_pages.fingerprints(self.engine)) - set(self.worker.pages):
            return []
        merged = connected_pages.with_connected(self.settings, self.engine, sealer)
        joined = [p.id for p in merged.pages if p.id not in self.worker.pages and self.joiner(p)]
        if joined:
            self.settings = replace(self.settings, pages=merged.pages)
            log.info("page(s) connected on the console now answered: %s", ", ".join(joined))
            self.wake()
        return joined

    def _connected_loop(self) -> None:
        while not self.stop_event.wait(CONNECTED_POLL):
            try:
                self.join_connected_pages()
                self.sync_connected_tokens()
            except Exception as exc:  # the database away for a moment: look again later
                log.warning("reading connected pages failed: %s", type(exc).__name__)

    def replace_page_facts(self, pages: Sequence[PageConfig]) -> list[str]:
        """A reload: the pages' declared region, ad window and templates take effect at the
        next decision (with what is stored over them); returns the pages that changed."""
        changed = []
        for page in pages:
            runtime = self.worker.pages.get(page.id)
            if runtime is not None and runtime.declared.facts() != page.facts():
                runtime.config = page
                changed.append(page.id)
        self.worker.facts.forget()
        return changed

    def start(self) -> None:
        """Register the heartbeat and start the loops (and the listener on PostgreSQL)."""
        self.worker_id = heartbeat.register(self.engine, self.clock.now())
        with contextlib.suppress(Exception):  # beaten again in BEAT_EVERY: known from then
            self.worker.share = heartbeat.beat(self.engine, self.worker_id, self.clock.now())
        self.worker.on_queued = self.alarms.outbox.set
        self.threads = [
            threading.Thread(target=self._decide_loop, name="pageflows-decide", daemon=True),
            threading.Thread(target=self._send_loop, name="pageflows-send", daemon=True),
            threading.Thread(target=self._beat_loop, name="pageflows-beat", daemon=True),
            threading.Thread(target=self._connected_loop, name="pageflows-pages", daemon=True),
        ]
        for thread in self.threads:
            thread.start()
        if self.engine.dialect.name == "postgresql":
            own = own_backends(self.engine)  # their outbox notes: `on_queued` rang already
            Listener(self.engine, self.alarms, self.stop_event, own).start()
        elif (name := sqlite_bell(self.engine)) is not None:
            try:
                BellListener(name, self.alarms, self.stop_event).start()
            except OSError as exc:  # another process on this file listens: poll
                log.info("no wake-up bell (%s); polling every %.1f s", exc, self.poll)
        self.wake()

    def drain(self, timeout: float = 30.0) -> bool:
        """SIGTERM: stop claiming, finish the event and the sends in flight, give back the
        claims not yet tried, leave. True when every loop ended within `timeout`."""
        self.worker.stopping.set()
        self.sender.stopping.set()
        if self.worker_id is not None:
            with contextlib.suppress(Exception):
                heartbeat.beat(self.engine, self.worker_id, self.clock.now(), stopping=True)
        self.stop_event.set()
        self.wake()
        for thread in self.threads:
            thread.join(timeout=timeout)
        finished = not any(t.is_alive() for t in self.threads)
        self.sender.close()
        if self.worker_id is not None:
            with contextlib.suppress(Exception):
                heartbeat.forget(self.engine, self.worker_id)
        return finished

    def stop(self) -> None:
        self.drain()
        self.engine.dispose()


class _Outage:
    """One warning when the database goes away and one line when it is back, per process:
    every pass of every loop failing the same way would bury the log in tracebacks."""

    def __init__(self) -> None:
        self.down = False
        self.lock = threading.Lock()

    def failed(self, exc: DBAPIError) -> None:
        with self.lock:
            first, self.down = not self.down, True
        if first:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            log.warning("the database is unavailable (%s); retrying until it is back", reason)

    def worked(self) -> None:
        with self.lock:
            was, self.down = self.down, False
        if was:
            log.info("the database is back; working again")


OUTAGE = _Outage()


def _guarded(stage: Callable[[], int]) -> int:
    try:
        done = stage()
    except DBAPIError as exc:
        if not exc.connection_invalidated and not isinstance(exc, OperationalError):
            log.exception("worker stage %s failed; retrying", getattr(stage, "__name__", stage))
            return 0
        OUTAGE.failed(exc)
        time.sleep(1.0)  # no busy loop against a database that is away
        return 0
    except Exception:  # a bug must not kill the loop: log, and keep going
        log.exception("worker stage %s failed; retrying", getattr(stage, "__name__", stage))
        return 0
    OUTAGE.worked()
    return done


class ListenError(Exception):
    """A socket pageflows cannot listen on; the message is one line naming the option to change."""


def ensure_free(host: str, port: int, option: str = "--port") -> None:
    """Fail with ListenError before a server does: it would print and exit on its own."""
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


def free_port(host: str) -> int:
    """A port nothing listens on now, out of clients' way (for `--port 0`; see ports.py)."""
    try:
        return ports.free_port(host)
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}: {exc.strerror or exc}; check --host") from None


def load_flows(paths: list[str], clock: Clock, pages: tuple[PageFacts, ...] = ()) -> LoadResult:
    """The flows checked as of today for the Pages they run on (regions, templates)."""
    result = load_paths(paths, clock.now().date(), check_tag, pages, RULES.token_regions)
    if result.program is None:
        raise FlowsError(result)
    return result


def prepare_database(settings: Settings, clock: Clock) -> Engine:
    """The engine, migrated, with a state row for each configured page."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    ensure_page_rows(
        engine, [p.id for p in settings.pages], clock.now(), {p.id: p.rate for p in settings.pages}
    )
    resume_if_token_replaced(engine, {p.id: p.token for p in settings.pages}, clock.now())
    return engine


# Findings that templates stored by `templates sync` (or their status webhook) can change.
TEMPLATE_FINDINGS = frozenset(
    {Code.UNKNOWN_TEMPLATE, Code.TEMPLATE_PARAMETERS, Code.TEMPLATE_NOT_APPROVED,
     Code.TEMPLATE_QUICK_REPLIES}
)  # fmt: skip


def load_all_flows(settings: Settings, flows_dir: str, clock: Clock) -> dict[str, LoadResult]:
    """Each page's flows, checked against the Page as Facebook knows it.

    First against what pageflows.toml declares, so broken flows stop `serve` before a
    database is created or touched; when only template findings remain, again against
    the templates `templates sync` and the status webhook stored (which win).
    """
    programs: dict[str, LoadResult] = {}
    engine: Engine | None = None
    try:
        for page in settings.pages:
            paths = [page.flows or flows_dir]
            try:
                programs[page.id] = load_flows(paths, clock, (page.facts(),))
                continue
            except FlowsError as exc:
                if any(d.code not in TEMPLATE_FINDINGS for d in exc.result.errors):
                    raise
            engine = engine or prepare_database(settings, clock)
            programs[page.id] = load_flows(paths, clock, (load_page_facts(engine, page),))
    finally:
        if engine is not None:
            engine.dispose()
    return programs


def with_connected_pages(
    settings: Settings,
    engine: Engine,
    flows_dir: str,
    clock: Clock,
    programs: dict[str, LoadResult],
) -> Settings:
    """issue 11: pages connected on the console's Pages page, in. Their tokens replace the
    configured ones; a page not configured joins with the default flows (`programs` gets
    them). Without PAGEFLOWS_TOKEN_KEY no token was stored: the settings as they are."""
    try:
        sealer: TokenBox | None = box(settings.token_key)
    except TokenKeyMissing:
        sealer = None
    merged = connected_pages.with_connected(settings, engine, sealer)
    joined = [page for page in merged.pages if page.id not in programs]
    for page in joined:
        programs[page.id] = load_flows([flows_dir], clock, (page.facts(),))
    if joined:
        ensure_page_rows(
            engine, [p.id for p in joined], clock.now(), {p.id: p.rate for p in joined}
        )
        log.info("connected page(s) joining: %s", ", ".join(p.id for p in joined))
    resume_if_token_replaced(engine, {p.id: p.token for p in merged.pages}, clock.now())
    return merged


def settle_heap() -> None:
    """Before a long-running process starts its loops: collect, then freeze what start-up
    built (the flows' program, the rules' models, SQLAlchemy's tables and mappers: objects
    that live as long as the process). Each full pass of the collector otherwise walks
    them all: pauses of 95-120 ms every few seconds under load, the whole p99 of a reply
    on PostgreSQL (issue 13, docs/performance.md "End to end"). What is made later is
    collected as before. Called by `serve` and `worker`, not by `Service.start`: a test
    process starts many services and would keep each one's objects."""
    gc.collect()
    gc.freeze()


def build_service(
    settings: Settings,
    flows_dir: str,
    clock: Clock,
    graph_url: str | None = None,
    graph_timeout: float = 10.0,
    concurrency: int = CONCURRENCY,
) -> Service:
    """Everything wired and migrated, not yet started.

    Raises FlowsError, DatabaseUrlError or SQLAlchemyError.
    """
    programs = load_all_flows(settings, flows_dir, clock)
    engine = prepare_database(settings, clock)
    settings = with_connected_pages(settings, engine, flows_dir, clock, programs)
    runtimes: dict[str, PageRuntime] = {}
    clients: dict[str, GraphClient] = {}
    for page in settings.pages:
        result = programs[page.id]
        assert result.program is not None
        transport = RequestsTransport(graph_url or settings.graph_url, timeout=graph_timeout)
        clients[page.id] = client = GraphClient(transport, page.token)
        runtimes[page.id] = PageRuntime(
            page.id, result.program, client, page.get_started_payload, config=page
        )
    pacer = Pacer(engine, clock, {page.id: page.rate for page in settings.pages})
    service = Service(
        settings=settings,
        engine=engine,
        clock=clock,
        worker=Worker(engine, runtimes, clock),
        # A lease outlives the longest claim: a HEAD and a send, each up to the timeout.
        sender=Sender(
            engine,
            clients,
            clock,
            lease=timedelta(seconds=2 * graph_timeout + 10),
            pacer=pacer,
            concurrency=concurrency,
        ),
    )

    def join(page: PageConfig) -> bool:
        """issue 11: a page connected while we run: its flows, client and pace, then the
        maps the loops read are replaced whole (a loop mid-pass keeps the old one)."""
        result = load_flows([page.flows or flows_dir], clock, (page.facts(),))
        if result.program is None:
            log.error("connected page %s cannot run: its flows have errors", page.id)
            return False
        ensure_page_rows(engine, [page.id], clock.now(), {page.id: page.rate})
        transport = RequestsTransport(graph_url or settings.graph_url, timeout=graph_timeout)
        client = GraphClient(transport, page.token)
        runtime = PageRuntime(
            page.id, result.program, client, page.get_started_payload, config=page
        )
        pacer.intervals = {**pacer.intervals, page.id: slot_width(page.rate)}
        service.sender.clients = {**service.sender.clients, page.id: client}
        service.worker.pages = {**service.worker.pages, page.id: runtime}
        return True

    service.joiner = join
    if engine.dialect.name == "sqlite" and service.sender.end_leases():
        log.warning("recovering the messages a stopped process was sending")
    return service


def start_sandbox_simulator(settings: Settings, port: int, webhook_url: str) -> tuple[Any, Any]:
    """The built-in Graph API simulator (sandbox mode), its page registered to our webhook.

    Returns the running simulator's context manager (already entered: exit it to
    stop) and its handle (`.url` is where the Graph API is, `.root` its base).
    """
    from pageflows.simulator import running_simulator

    context = running_simulator(port=port, version=settings.graph_version)
    handle = context.__enter__()
    for page in settings.pages:
        # The simulator plays Facebook for this Page: the same region, ad window, Human
        # Agent permission and approved templates as pageflows.toml declares (its own
        # copy of the rules).
        handle.control.register_page(
            page_id=page.id,
            token=page.token,
            app_secret=settings.app_secret,
            webhook_url=webhook_url,
            name=page.name or "Sandbox Page",  # as Facebook Login lists it (console's Pages)
            region=page.region,
            ad_window=page.ad_window,
            human_agent=page.human_agent,
            templates=[
                {
                    "name": t.name,
                    "language": t.language,
                    "status": t.status,
                    "body": t.body,
                    "buttons": [_sandbox_button(b) for b in t.buttons if b != "QUICK_REPLY"],
                }
                for t in page.templates
            ],
        )
    return context, handle


def _sandbox_button(kind: str) -> dict[str, str]:
    """A declared button type as the simulator's template needs it (pageflows.toml has no URL)."""
    button = {"type": kind, "text": kind.replace("_", " ").title()}
    if kind == "URL":
        button["url"] = "https://example.com/"
    elif kind == "PHONE_NUMBER":
        button["phone_number"] = "+15550100"
    return button
