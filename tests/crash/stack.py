"""The system under test in one object: the simulator, the pageflows processes, their tables.

Both the random crash run (harness.py) and the scripted one (scenario.py)
start it the same way: the crash flow written and checked, the simulator up
with the page registered, the processes of the `Topology` started in
non-sandbox mode and up. The classic topology is one `serve` (webhook and
worker in one process); the others put `serve --web-only` in front of any
number of `pageflows worker` processes sharing one PostgreSQL database.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from .database import Backlog, OutboxRow, Tables
from .flow import FOLLOW_UP_SECONDS, write_flows
from .processes import (
    GRAPH_VERSION,
    Page,
    Process,
    Server,
    Simulator,
    WebServer,
    Worker,
    graph_version,
    pageflows_command,
)
from .webhooks import Facebook

# A line no process may log in a healthy run, killed or not: an error, a stack trace, or
# two processes colliding on one row.
PROBLEM = re.compile(r"\bERROR\b|Traceback|UniqueViolation|IntegrityError")
COLLISION = re.compile(
    r"UniqueViolation|IntegrityError"
)  # all that counts while the database blips
TOPOLOGY = re.compile(r"(?:serve|web(\d+))(?:\+workers?(\d+))?")


@dataclass(frozen=True)
class Topology:
    """Which processes do the work.

    `web` 0 is one plain `serve` (the webhook and a worker in one process);
    `web` N is `serve --web-only --workers N` (N gunicorn processes, no worker).
    Beside it, `workers` `pageflows worker` processes, each with `senders`
    sending threads; `page_rate` sets PAGEFLOWS_PAGE_RATE for all of them.
    Written as text: `serve`, `serve+workers2`, `web2+workers4`.
    """

    web: int = 0
    workers: int = 0
    senders: int | None = None
    page_rate: float | None = None

    @classmethod
    def parse(cls, text: str) -> Topology:
        found = TOPOLOGY.fullmatch(text.strip())
        if found is None:
            raise ValueError(f"topology {text!r}: write serve, serve+workers2 or web2+workers4")
        web, workers = found.groups()
        return cls(web=int(web or 0), workers=int(workers or 0))

    @property
    def many(self) -> bool:
        """Any `pageflows worker` process: the work is shared, so PostgreSQL only."""
        return self.workers > 0

    def __str__(self) -> str:
        front = f"web{self.web}" if self.web else "serve"
        return f"{front}+workers{self.workers}" if self.workers else front


def check_flows(flows: Path) -> None:
    """The flow under test must be one `pageflows check` accepts, or the run means nothing."""
    done = subprocess.run(
        [*pageflows_command(), "check", str(flows)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"pageflows check refused the crash flow:\n{done.stdout}{done.stderr}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""


def clear_previous_run(workdir: Path) -> None:
    """A reused work folder must not hand the new run the old run's SQLite file or logs."""
    for pattern in ("pageflows.db*", "*-[0-9][0-9][0-9].log", "simulator.log", "result.json"):
        for old in workdir.glob(pattern):
            old.unlink()


@dataclass
class Drained:
    done: bool
    seconds: float
    backlog: Backlog


@dataclass
class Observed:
    """Everything the verdict reads once the run is over."""

    log: list[dict[str, Any]]
    outbox: list[OutboxRow]
    inbox: dict[str, int]
    inbox_problems: list[dict[str, Any]]
    flagged_column: bool
    log_problems: list[str] = field(default_factory=list)  # "file:line: text"
    sends_by_process: dict[str, int] = field(default_factory=dict)  # worker starts' Send API calls


class Stack:
    def __init__(
        self,
        workdir: Path,
        database_url: str,
        topology: Topology | None = None,
        flows: Path | None = None,
    ) -> None:
        workdir = workdir.resolve()  # the processes run in it: relative paths would point elsewhere
        workdir.mkdir(parents=True, exist_ok=True)
        clear_previous_run(workdir)
        flows = flows or write_flows(workdir / "flows")
        check_flows(flows)
        self.workdir = workdir
        self.flows = flows
        self.topology = topology = topology or Topology()
        self.page = Page()
        self.server: Server = (
            WebServer(workdir, flows, self.page, database_url, topology.web)
            if topology.web
            else Server(workdir, flows, self.page, database_url)
        )
        self.workers = [
            Worker(workdir, flows, self.page, database_url, slot, topology.senders)
            for slot in range(1, topology.workers + 1)
        ]
        if topology.page_rate is not None:
            for process in self.processes:
                process.extra_env["PAGEFLOWS_PAGE_RATE"] = f"{topology.page_rate:g}"
        self.sim = Simulator(workdir, self.page, f"{self.server.url}/webhook")
        self.tables = Tables(database_url)

    @property
    def processes(self) -> list[Process]:
        return [self.server, *self.workers]

    @property
    def victims(self) -> list[Process]:
        """What a crash run kills: the workers if there are any (the webhook stays), else serve."""
        return list(self.workers) or [self.server]

    def __enter__(self) -> Stack:
        try:
            self.sim.start()
            for process in self.processes:
                process.graph_url = self.sim.graph_url
            self.server.start()
            if not self.server.wait_healthy(timeout=60):
                raise RuntimeError(f"{self.server.name} did not start:\n{tail(self.server.log)}")
            for worker in self.workers:
                worker.start()
            for worker in self.workers:
                if not worker.wait_healthy(timeout=60):
                    raise RuntimeError(f"{worker.name} did not start:\n{tail(worker.log)}")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.stop_together(self.workers)
        self.server.stop()
        self.sim.stop()
        self.tables.close()

    @staticmethod
    def stop_together(processes: Sequence[Process], timeout: float = 60.0) -> list[int | None]:
        """SIGTERM them all at once, then the exit code of each (None: it was not running,
        or had to be SIGKILLed after `timeout`)."""
        running = [p for p in processes if p.process is not None]
        for process in running:
            process.terminate()
        return [process.wait_stopped(timeout) if process in running else None
                for process in processes]  # fmt: skip

    def restart_dead(self) -> None:
        """Start again any process that died by itself (each such end is counted)."""
        for process in self.processes:
            process.restart_if_dead()

    @property
    def starts(self) -> int:
        return sum(p.generation for p in self.processes)

    @property
    def exits(self) -> list[int]:
        """Exit codes of ends the harness did not cause, every process together."""
        return [code for p in self.processes for code in p.exits]

    def log_problems(self) -> list[str]:
        """Every line of every process's logs that names an error, a trace or a collision."""
        found = []
        for process in self.processes:
            for path in process.logs:
                try:
                    lines = path.read_text("utf-8", "replace").splitlines()
                except OSError:
                    continue
                found += [f"{path.name}:{n}: {line}" for n, line in enumerate(lines, 1)
                          if PROBLEM.search(line)]  # fmt: skip
        return found

    def last_sender(self) -> Worker | None:
        """The worker whose Send API call the simulator answered last, if it still runs."""
        version = self.sim.last_caller()
        for worker in self.workers:
            if worker.alive() and graph_version(worker.slot, worker.generation) == version:
                return worker
        return None

    def sends_by_process(self) -> dict[str, int]:
        """Send API calls the simulator accepted from each worker start (`worker2-003`), and
        from serve when it runs a worker itself (`serve`)."""
        names = {
            version: f"{w.name}-{g:03d}"
            for w in self.workers
            for g in range(1, w.generation + 1)
            for version in [graph_version(w.slot, g)]
        }
        names[GRAPH_VERSION] = self.server.name  # serve's own worker, when it has one
        counts: Counter[str] = Counter()
        for version, n in self.sim.calls_by_version().items():
            counts[names.get(version, version)] += n
        return dict(sorted(counts.items()))

    def facebook(self, rng: Any, redeliver: float) -> Facebook:
        return Facebook(f"{self.server.url}/webhook", self.page.app_secret, rng, redeliver)

    def sleep_until(self, moment: float) -> None:
        """Sleep, starting any process again that dies by itself meanwhile (it is counted)."""
        while (left := moment - time.monotonic()) > 0:
            self.restart_dead()
            time.sleep(min(left, 0.05))

    def drain(self, facebook: Facebook, timeout: float) -> Drained:
        """Let the processes finish: every event answered, every follow-up fired and sent.

        `timeout` is how long the service may go without finishing any work (an event
        decided, a message settled, a follow-up fired); not a bound on the whole drain: a
        backlog left by a crash phase on a loaded machine is sent at the page's pace
        (40/s) and may need longer than any fixed bound (long runs left 4,700 to 8,000
        messages, minutes of pace), while a stuck service stops finishing at once. The
        backlog itself is no measure: one event decided is two messages owed.
        """
        begun = time.monotonic()
        stalled_at = begun + timeout
        earliest = begun + FOLLOW_UP_SECONDS + 1
        self.server.wait_healthy(timeout=min(60.0, timeout))
        finished = -1
        looked = 0.0
        while True:
            self.restart_dead()
            if facebook.pending() == 0 and time.monotonic() >= earliest:
                backlog = self.tables.backlog()
                if backlog.empty:
                    return Drained(True, time.monotonic() - begun, backlog)
            if time.monotonic() - looked >= 1.0:
                looked = time.monotonic()
                done = self.tables.finished()
                if done > finished:
                    finished, stalled_at = done, looked + timeout
            if time.monotonic() >= stalled_at:
                return Drained(False, time.monotonic() - begun, self.tables.backlog())
            time.sleep(0.25)

    def observe(self) -> Observed:
        return Observed(
            log=self.sim.messages(),
            outbox=self.tables.outbox(),
            inbox=self.tables.inbox_statuses(),
            inbox_problems=self.tables.inbox_problems(),
            flagged_column="possible_duplicate" in self.tables.columns("outbox"),
            log_problems=self.log_problems(),
            sends_by_process=self.sends_by_process(),
        )
