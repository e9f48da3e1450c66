"""One crash run: start everything, stream events, kill serve at random moments, drain, judge.

Kills are SIGKILL at moments drawn from the seed over the whole run. A kill
whose moment finds serve still starting fires anyway for a share of them
(`startup_kills`) and otherwise waits until serve answers /healthz, so most
land in the middle of a webhook batch, a worker transaction or a send. A
share is aimed: fired the moment the simulator logs a send, when serve may
not yet have recorded it. After each
kill serve is started again after a short random downtime; events posted
meanwhile get no 200 and Facebook (`webhooks.Facebook`) delivers them again.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .database import Database, create_database, kind_of
from .stack import Stack
from .traffic import Traffic
from .verdict import Counts, RunFacts, judge

AIM_WAIT = 2.0  # seconds an aimed kill waits for a send before it fires anyway
STARTUP_WAIT = 30.0  # seconds a kill waits for serve to be up before it fires anyway


@dataclass
class Options:
    database: str = "sqlite"  # sqlite | postgresql (a fresh database per run)
    database_url: str | None = None  # or an existing, empty database
    duration: float = 40.0  # seconds of traffic and kills
    kills: int = 5
    rate: float = 20.0  # events per second
    seed: int = 1
    workdir: Path | None = None
    drain_timeout: float = 120.0  # seconds the last serve gets to finish everything
    max_downtime: float = 1.0  # seconds serve stays dead after a kill, at most
    redeliver: float = 0.05  # share of answered POSTs Facebook delivers again
    aim: float = 0.5  # share of kills fired the moment the simulator logs a send
    startup_kills: float = 0.2  # share of kills that may land while serve is still starting
    keep: bool = False  # keep the PostgreSQL database even when the run passes
    verbose: bool = True


def say(options: Options, message: str) -> None:
    if options.verbose:
        print(f"[crash {options.database}] {message}", file=sys.stderr, flush=True)


class Run:
    def __init__(self, options: Options, workdir: Path) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.workdir = workdir
        self.facts = RunFacts(
            database=options.database, seed=options.seed, duration=options.duration,
            rate=options.rate, workdir=str(workdir),
        )  # fmt: skip
        self.seen = 0  # the newest simulator log seq the harness has looked at

    def kill(self, stack: Stack, number: int) -> None:
        """SIGKILL now, or, for an aimed kill, the moment Facebook has accepted a send."""
        server, sim = stack.server, stack.sim
        starting = not server.healthy(timeout=1.0)
        if starting and self.rng.random() >= self.options.startup_kills:
            # Most kills should find serve at work: a restart takes seconds, and kills that
            # all landed in start-ups would test little but the start-up.
            starting = not server.wait_healthy(timeout=STARTUP_WAIT)
        aimed = not starting and self.rng.random() < self.options.aim
        if aimed:
            self.seen = sim.wait_for_send(sim.wait_for_send(self.seen, 0.0), AIM_WAIT)
        server.kill()
        self.facts.kills += 1
        self.facts.kills_while_starting += int(starting)
        self.facts.kills_after_send += int(aimed)
        phase = "while starting" if starting else "right after a send" if aimed else "while serving"
        say(self.options, f"kill {number}/{self.options.kills} {phase}")
        time.sleep(self.rng.uniform(0.0, self.options.max_downtime))
        server.start()

    def execute(self, database_url: str) -> Counts:
        o = self.options
        with Stack(self.workdir, database_url) as stack:
            facebook = stack.facebook(self.rng, o.redeliver)
            traffic = Traffic(stack.sim, facebook, random.Random(o.seed + 1), o.rate, o.seed % 1000)
            try:
                span = max(1.0, o.duration - 1.0)
                kill_at = sorted(self.rng.uniform(1.0, span) for _ in range(o.kills))
                say(
                    o,
                    f"{o.duration:.0f}s at {o.rate:g} events/s, {o.kills} kills in {self.workdir}",
                )
                began = time.monotonic()
                traffic.start()
                for number, moment in enumerate(kill_at, 1):
                    stack.sleep_until(began + moment)
                    self.kill(stack, number)
                stack.sleep_until(began + o.duration)
                traffic.stop()
                if traffic.error is not None:
                    raise RuntimeError("the traffic thread failed") from traffic.error
                say(o, f"{len(traffic.events)} events sent; draining")
                drained = stack.drain(facebook, o.drain_timeout)
                seen = stack.observe()
            finally:
                traffic.stop()
                facebook.close()
            self.facts.serve_starts = stack.server.generation
            self.facts.serve_exits = list(stack.server.exits)
        self.facts.drained, self.facts.drain_seconds = drained.done, drained.seconds
        self.facts.backlog = drained.backlog
        counts = judge(self.facts, traffic.events, facebook.accepted, facebook.stats, seen)
        return counts


def run(options: Options) -> Counts:
    """One run on one database; the result is also written to WORKDIR/result.json.

    A PostgreSQL database made for the run is dropped when the run passes and
    kept (its URL in the result) when it fails, for the post-mortem.
    """
    if options.database_url is not None:
        options.database = kind_of(options.database_url)
    prefix = f"pageflows-crash-{options.database}-"
    workdir = (options.workdir or Path(tempfile.mkdtemp(prefix=prefix))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    database = (
        Database(options.database, options.database_url)
        if options.database_url is not None
        else create_database(options.database, workdir)
    )
    counts = Run(options, workdir).execute(database.url)
    if counts.passed and not options.keep:
        database.drop()
    else:
        say(options, f"database kept for inspection: {database.url}")
    result = {**counts.as_json(), "database_url": database.url}
    (workdir / "result.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return counts
