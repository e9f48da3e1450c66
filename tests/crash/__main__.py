"""`python -m tests.crash`: crash runs from the command line; exit 1 if any run fails.

    .venv/bin/python -m tests.crash --database sqlite --database postgresql \\
        --duration 300 --kills 40 --rate 20 --seed 7 --json .crash/results.json
    .venv/bin/python -m tests.crash --scenario kill-during-send --database sqlite
    .venv/bin/python -m tests.crash --database postgresql --topology web2+workers4 \\
        --duration 300 --kills 40

`--topology` picks the processes: `serve` (one process, webhook and worker),
or `webM+workersW` (`serve --web-only --workers M` and W `pageflows worker`
processes on one PostgreSQL database; the kills then hit random workers).

PostgreSQL needs PAGEFLOWS_TEST_POSTGRES_URL (`eval "$(bash .ci/postgres.sh)"`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from .database import create_database
from .harness import Options, run
from .scenario import kill_during_send
from .stack import Topology
from .verdict import Counts, table


def parse(argv: list[str]) -> tuple[argparse.Namespace, Options]:
    parser = argparse.ArgumentParser(
        prog="python -m tests.crash", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--database", action="append", choices=("sqlite", "postgresql"),
                        help="repeat for several runs (default: sqlite)")  # fmt: skip
    parser.add_argument("--database-url", help="use this empty database instead of a new one")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of traffic")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs over the run")
    parser.add_argument("--restarts", type=int, default=0,
                        help="SIGTERM restarts, round the workers then serve")  # fmt: skip
    parser.add_argument("--blips", type=int, default=0,
                        help="times every database session is ended (PostgreSQL)")  # fmt: skip
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--redeliver", type=float, default=0.05,
                        help="share of answered POSTs delivered again")  # fmt: skip
    parser.add_argument("--aim", type=float, default=0.5,
                        help="share of kills fired the moment a send is logged")  # fmt: skip
    parser.add_argument("--startup-kills", type=float, default=0.2,
                        help="share of kills that may land while serve starts")  # fmt: skip
    parser.add_argument("--scenario", choices=("kill-during-send",),
                        help="the scripted crash of scenario.py, not a random run")  # fmt: skip
    parser.add_argument("--topology", type=Topology.parse, default=Topology(),
                        help="serve (default), or web2+workers4 (PostgreSQL)")  # fmt: skip
    parser.add_argument("--senders", type=int, help="--senders of each worker process")
    parser.add_argument("--page-rate", type=float, help="PAGEFLOWS_PAGE_RATE (default 20)")
    parser.add_argument("--in-order", action=argparse.BooleanOptionalAction, default=None,
                        help="contacts wait for a 200 before writing again, and the order of"
                        " their replies is judged (default: on with workers)")  # fmt: skip
    parser.add_argument("--workdir", type=Path, help="logs, databases and result.json go here")
    parser.add_argument("--json", type=Path, help="write every run's counts here")
    parser.add_argument("--keep", action="store_true", help="keep PostgreSQL databases")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    options = Options(
        database_url=args.database_url, duration=args.duration, kills=args.kills,
        restarts=args.restarts, blips=args.blips, rate=args.rate, seed=args.seed,
        drain_timeout=args.drain_timeout,
        redeliver=args.redeliver, aim=args.aim,
        startup_kills=args.startup_kills, keep=args.keep, verbose=not args.quiet,
        topology=replace(args.topology, senders=args.senders, page_rate=args.page_rate),
        in_order=args.in_order,
    )  # fmt: skip
    return args, options


def scenario(database: str, workdir: Path | None, drain: float) -> Counts:
    workdir = (workdir or Path(tempfile.mkdtemp(prefix=f"pageflows-crash-{database}-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    db = create_database(database, workdir)
    counts = kill_during_send(db.url, workdir, drain)
    if counts.passed:
        db.drop()
    return counts


def main(argv: list[str]) -> int:
    args, options = parse(argv)
    databases = [None] if args.database_url else (args.database or ["sqlite"])
    results = []
    for database in databases:
        workdir = None if args.workdir is None else args.workdir / (database or "given")
        if args.scenario:
            results.append(scenario(database or "sqlite", workdir, args.drain_timeout))
            continue
        results.append(run(replace(options, database=database or "sqlite", workdir=workdir)))
    print(table(results))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([c.as_json() for c in results], indent=2), "utf-8")
    return 0 if all(c.passed for c in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
