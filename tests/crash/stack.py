"""The system under test in one object: the simulator, `serve`, and the tables it writes.

Both the random crash run (harness.py) and the scripted one (scenario.py)
start it the same way: the crash flow written and checked, the simulator up
with the page registered, serve started in non-sandbox mode and healthy.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from .database import Backlog, OutboxRow, Tables
from .flow import FOLLOW_UP_SECONDS, write_flows
from .processes import Page, Server, Simulator, pageflows_command
from .webhooks import Facebook


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
    for pattern in ("pageflows.db*", "serve-*.log", "simulator.log", "result.json"):
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


class Stack:
    def __init__(self, workdir: Path, database_url: str) -> None:
        workdir = workdir.resolve()  # serve runs in it: relative paths would point elsewhere
        workdir.mkdir(parents=True, exist_ok=True)
        clear_previous_run(workdir)
        flows = write_flows(workdir / "flows")
        check_flows(flows)
        self.workdir = workdir
        self.page = Page()
        self.server = Server(workdir, flows, self.page, database_url)
        self.sim = Simulator(workdir, self.page, f"{self.server.url}/webhook")
        self.tables = Tables(database_url)

    def __enter__(self) -> Stack:
        try:
            self.sim.start()
            self.server.graph_url = self.sim.graph_url
            self.server.start()
            if not self.server.wait_healthy(timeout=60):
                log = tail(self.workdir / "serve-001.log")
                raise RuntimeError(f"serve did not start:\n{log}")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.server.stop()
        self.sim.stop()
        self.tables.close()

    def facebook(self, rng: Any, redeliver: float) -> Facebook:
        return Facebook(f"{self.server.url}/webhook", self.page.app_secret, rng, redeliver)

    def sleep_until(self, moment: float) -> None:
        """Sleep, starting serve again if it dies by itself meanwhile (it is counted)."""
        while (left := moment - time.monotonic()) > 0:
            self.server.restart_if_dead()
            time.sleep(min(left, 0.05))

    def drain(self, facebook: Facebook, timeout: float) -> Drained:
        """Let the last serve finish: every event answered, every follow-up fired and sent."""
        begun = time.monotonic()
        deadline = begun + timeout
        earliest = begun + FOLLOW_UP_SECONDS + 1
        self.server.wait_healthy(timeout=min(60.0, timeout))
        while True:
            self.server.restart_if_dead()
            if facebook.pending() == 0 and time.monotonic() >= earliest:
                backlog = self.tables.backlog()
                if backlog.empty:
                    return Drained(True, time.monotonic() - begun, backlog)
            if time.monotonic() >= deadline:
                return Drained(False, time.monotonic() - begun, self.tables.backlog())
            time.sleep(0.25)

    def observe(self) -> Observed:
        return Observed(
            log=self.sim.messages(),
            outbox=self.tables.outbox(),
            inbox=self.tables.inbox_statuses(),
            inbox_problems=self.tables.inbox_problems(),
            flagged_column="possible_duplicate" in self.tables.columns("outbox"),
        )
