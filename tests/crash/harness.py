"""One crash run: start everything, stream events, kill at random moments, drain, judge.

What is killed depends on the topology (stack.py): the one `serve`, or, when
`pageflows worker` processes do the work, a random one of them (the webhook
stays up). Kills are SIGKILL at moments drawn from the seed over the whole
run. A kill whose moment finds its victim still starting fires anyway for a
share of them (`startup_kills`) and otherwise waits until it is up, so most
land in the middle of a webhook batch, a worker transaction or a send. A
share is aimed: fired the moment the simulator logs a send, when the sender
may not yet have recorded it (with several workers, at the worker that made
that call, found in the simulator's access log). After each kill the victim is
started again after a short random downtime; events posted while serve is
down get no 200 and Facebook (`webhooks.Facebook`) delivers them again.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from .database import Database, create_database, kind_of
from .stack import Stack, Topology
from .traffic import Traffic
from .verdict import Counts, RunFacts, judge

STOP_WAIT = 60.0  # seconds a SIGTERMed process gets to finish what it has in flight
AIM_WAIT = 2.0  # seconds an aimed kill waits for a send before it fires anyway
STARTUP_WAIT = 30.0  # seconds a kill waits for serve to be up before it fires anyway


@dataclass
class Options:
    database: str = "sqlite"  # sqlite | postgresql (a fresh database per run)
    database_url: str | None = None  # or an existing, empty database
    duration: float = 40.0  # seconds of traffic and kills
    kills: int = 5
    # SIGTERM restarts, evenly spread over the run, going round the workers and then the
    # webhook's serve (a rolling restart): each must exit 0 and lose or double nothing.
    restarts: int = 0
    # PostgreSQL: at random moments every session of the database is ended (a failover, a
    # pooler restart): a database error must cost a retry, never a message. Error lines are
    # then expected; the log verdict looks only for collisions.
    blips: int = 0
    rate: float = 20.0  # events per second
    seed: int = 1
    workdir: Path | None = None
    drain_timeout: float = 120.0  # seconds the last serve may go without shrinking the backlog
    max_downtime: float = 1.0  # seconds serve stays dead after a kill, at most
    redeliver: float = 0.05  # share of answered POSTs Facebook delivers again
    aim: float = 0.5  # share of kills fired the moment the simulator logs a send
    startup_kills: float = 0.2  # share of kills that may land while serve is still starting
    keep: bool = False  # keep the PostgreSQL database even when the run passes
    verbose: bool = True
    # One serve, or serve --web-only and worker processes.
    topology: Topology = field(default_factory=Topology)
    # Each contact writes its next message only after a 200 for the last one, so the order
    # of its replies is judged too (traffic.py). On by default when workers share the work.
    in_order: bool | None = None

    @property
    def ordered(self) -> bool:
        return self.topology.many if self.in_order is None else self.in_order


def say(options: Options, message: str) -> None:
    if options.verbose:
        where = (
            options.database
            if not options.topology.many
            else f"{options.database} {options.topology}"
        )
        print(f"[crash {where}] {message}", file=sys.stderr, flush=True)


class Run:
    def __init__(self, options: Options, workdir: Path) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.workdir = workdir
        self.facts = RunFacts(
            database=options.database, seed=options.seed, duration=options.duration,
            rate=options.rate, workdir=str(workdir), topology=str(options.topology),
            in_order=options.ordered,
        )  # fmt: skip
        self.seen = 0  # the newest simulator log seq the harness has looked at

    def kill(self, stack: Stack, number: int) -> None:
        """SIGKILL now, or, for an aimed kill, the moment Facebook has accepted a send."""
        victims, sim = stack.victims, stack.sim
        victim = victims[0] if len(victims) == 1 else self.rng.choice(victims)
        starting = not victim.alive() or not victim.healthy(timeout=1.0)
        if starting and self.rng.random() >= self.options.startup_kills:
            # Most kills should find the victim at work: a restart takes seconds, and kills
            # that all landed in start-ups would test little but the start-up.
            starting = not victim.wait_healthy(timeout=STARTUP_WAIT)
        aimed = not starting and self.rng.random() < self.options.aim
        if aimed:
            self.seen = sim.wait_for_send(sim.wait_for_send(self.seen, 0.0), AIM_WAIT)
            # With workers, the one that made that call (by the simulator's access log).
            victim = stack.last_sender() or victim
        victim.kill()
        self.facts.kills += 1
        self.facts.kills_while_starting += int(starting)
        self.facts.kills_after_send += int(aimed)
        phase = "while starting" if starting else "right after a send" if aimed else "while serving"
        say(self.options, f"kill {number}/{self.options.kills} of {victim.name} {phase}")
        time.sleep(self.rng.uniform(0.0, self.options.max_downtime))
        victim.start()

    def restart(self, stack: Stack, number: int) -> None:
        """SIGTERM the next process of the round, wait for its exit code, start it again."""
        rota = [*stack.workers, stack.server]
        process = rota[(number - 1) % len(rota)]
        begun = time.monotonic()
        code = process.stop(timeout=STOP_WAIT)
        took = round(time.monotonic() - begun, 2)
        self.facts.restarts += 1
        self.facts.stop_codes.append(code)
        self.facts.stop_seconds.append(took)
        say(
            self.options,
            f"restart {number}/{self.options.restarts} of {process.name}: exit {code}"
            f" after {took}s",
        )
        time.sleep(self.rng.uniform(0.0, self.options.max_downtime))
        process.start()

    def blip(self, stack: Stack, number: int) -> None:
        ended = stack.tables.cut_connections()
        self.facts.blips += 1
        say(self.options, f"blip {number}/{self.options.blips}: {ended} session(s) ended")

    def plan(self, stack: Stack) -> list[tuple[float, Callable[[], None]]]:
        """When to do what: kills at random moments, restarts evenly spaced, by time."""
        o = self.options
        span = max(1.0, o.duration - 1.0)
        kill_at = sorted(self.rng.uniform(1.0, span) for _ in range(o.kills))
        actions = [(t, partial(self.kill, stack, n)) for n, t in enumerate(kill_at, 1)]
        step = o.duration / (o.restarts + 1)
        actions += [(n * step, partial(self.restart, stack, n)) for n in range(1, o.restarts + 1)]
        blip_at = sorted(self.rng.uniform(1.0, span) for _ in range(o.blips))
        actions += [(t, partial(self.blip, stack, n)) for n, t in enumerate(blip_at, 1)]
        return sorted(actions, key=lambda action: action[0])

    def execute(self, database_url: str) -> Counts:
        o = self.options
        with Stack(self.workdir, database_url, o.topology) as stack:
            facebook = stack.facebook(self.rng, o.redeliver)
            traffic = Traffic(
                stack.sim, facebook, random.Random(o.seed + 1), o.rate, o.seed % 1000, o.ordered
            )
            try:
                actions = self.plan(stack)
                restarts = f", {o.restarts} restarts" if o.restarts else ""
                restarts += f", {o.blips} blips" if o.blips else ""
                say(
                    o,
                    f"{o.duration:.0f}s at {o.rate:g} events/s, {o.kills} kills{restarts}"
                    f" in {self.workdir}",
                )
                began = time.monotonic()
                traffic.start()
                for moment, act in actions:
                    stack.sleep_until(began + moment)
                    act()
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
        self.facts.serve_starts, self.facts.serve_exits = stack.starts, stack.exits
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
    if options.topology.many and options.database != "postgresql":
        raise ValueError(f"{options.topology}: several workers need PostgreSQL, not SQLite")
    if options.blips and options.database != "postgresql":
        raise ValueError("blips end PostgreSQL sessions: PostgreSQL only")
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
