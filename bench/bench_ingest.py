"""Benchmark 3: webhook ingest under gunicorn, against a bare Flask endpoint on the same gunicorn.

Three servers, started once and measured in turns, round by round, so that a
change of load on the shared machine hits them alike:

* `ours, SQLite` and `ours, PostgreSQL`: `python -m pageflows.web` started by
  `pageflows.web.spawn` exactly as `pageflows serve --web-only` starts it (same
  worker class, worker processes and threads: `WebOptions`' defaults), on a
  freshly migrated database each (PostgreSQL: a new database on the server of
  `PAGEFLOWS_TEST_POSTGRES_URL`, synchronous_commit on). No worker runs: this
  measures ingest alone.
* `bare Flask`: one `POST /webhook` that reads the body and answers 200,
  nothing else, served by the same gunicorn settings (`gunicorn_settings`, the
  same `BoundedThreadWorker`); in the long form also `bare Flask + signature`,
  which checks the HMAC as ours does.

The load comes from another process: a small HTTP/1.1 client on raw sockets
and one `selectors` loop, with keep-alive, sending pre-signed Messenger bodies
of real shapes (text messages, quick replies, postbacks, and now and then a
batch of two or three entries), every event new. Its own CPU time is reported,
so that one can see it is not the bottleneck (the bare endpoint's rate is the
proof: it is driven far beyond ours).

Figures, per database:

* events/s at saturation (`--connections` requests in flight), ours vs bare
  (best round of each);
* CPU per event of the gunicorn processes (utime + stime from /proc, arbiter
  and workers), ours vs bare; on PostgreSQL also the database server's
  backends serving ours (pg_stat_activity's pids, /proc), for information;
* p50 and p99 ms from the moment a request was due to its 200, at a fixed rate
  of half ours' slowest round (open loop: a late send counts its wait), ours vs
  bare at the same rate, in turns (windows of each, alternating, pooled).

After the run the inbox must hold exactly the events answered 200 (nothing
lost, nothing doubled); the run fails otherwise.

Run: .venv/bin/python bench/bench_ingest.py [--quick] [--json PATH] [--no-postgres]
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import multiprocessing
import os
import random
import selectors
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import Results, arguments, ratio_at_least, value_at_most
from pageflows.ports import free_port

HOST = "127.0.0.1"
PAGE = "104123456789012"
SECRET = "bench-ingest-app-secret"
MOMENT = 1795000000000  # ms: November 2026
THREADS = 4  # per gunicorn process, as `serve --web-only` (WebOptions) has it; --threads


# --------------------------------------------------------------------------- bodies


def _messaging(rnd: random.Random, seq: str, n: int) -> dict[str, Any]:
    sender = str(5550000000 + rnd.randrange(2000))
    base = {"sender": {"id": sender}, "recipient": {"id": PAGE}, "timestamp": MOMENT + n}
    kind = rnd.random()
    if kind < 0.6:
        text = rnd.choice(
            [
                "Hi there! How much is the shipping to Lisbon for the blue jacket?",
                "price",
                "Olá, qual é o preço do casaco azul tamanho M?",
                "my order status says pending since friday, can someone check it",
                "hey!! 🔥🔥 is the summer sale still on?",
                "stop",
            ]
        )
        return base | {"message": {"mid": f"m_{seq}", "text": text}}
    if kind < 0.8:
        answer = rnd.choice(["YES", "NO", "SIZE_M", "SIZE_L"])
        return base | {
            "message": {
                "mid": f"m_{seq}",
                "text": answer.title(),
                "quick_reply": {"payload": answer},
            }
        }
    return base | {
        "postback": {"mid": f"m_{seq}", "title": "Get Started", "payload": "GET_STARTED"}
    }


def body(rnd: random.Random, prefix: str, n: int) -> tuple[bytes, int]:
    """One webhook body as Facebook sends it (compact JSON), and how many events it holds."""
    entries = 1 if rnd.random() < 0.85 else rnd.choice((2, 3))
    entry = [
        {"id": PAGE, "time": MOMENT + n, "messaging": [_messaging(rnd, f"{prefix}.{n}.{i}", n)]}
        for i in range(entries)
    ]
    raw = json.dumps({"object": "page", "entry": entry}, separators=(",", ":")).encode()
    return raw, entries


def request_bytes(raw: bytes, port: int) -> bytes:
    digest = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    head = (
        f"POST /webhook HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"X-Hub-Signature-256: sha256={digest}\r\n"
        f"Content-Length: {len(raw)}\r\n\r\n"
    )
    return head.encode() + raw


# --------------------------------------------------------------------------- the load


@dataclass
class Load:
    """What one driving of a server gave."""

    seconds: float
    requests: int = 0
    events: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    driver_cpu_s: float = 0.0
    acked_events: int = 0  # every event answered 200, also after the timed window
    server_cpu_s: float = 0.0
    db_cpu_s: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds


class _Conn:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer = bytearray()
        self.due = 0.0
        self.events = 0
        self.busy = False


def _response(buffer: bytearray) -> tuple[int, int, bool] | None:
    """(status, bytes used, closing) of the first whole response in `buffer`, or None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    length, closing = 0, False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            closing = True
    if len(buffer) < end + 4 + length:
        return None
    return status, end + 4 + length, closing


def drive(
    port: int,
    prefix: str,
    seconds: float,
    connections: int,
    rate: float | None,
    seed: int,
) -> Load:
    """Post bodies for `seconds`: each connection sends as soon as it is answered (rate None),
    or one request every 1/rate s on whichever connection is free (open loop)."""
    rnd = random.Random(seed)
    count = int((rate or 4000) * seconds * 1.2) + 500
    prepared = [body(rnd, prefix, n) for n in range(count)]
    requests = [(request_bytes(raw, port), events) for raw, events in prepared]
    del prepared
    selector = selectors.DefaultSelector()
    conns = [_Conn(port) for _ in range(connections)]
    for conn in conns:
        selector.register(conn.sock, selectors.EVENT_READ, conn)
    free = list(conns)
    load = Load(seconds)
    cpu0 = time.process_time()
    start = time.perf_counter()
    end = start + seconds
    sent = 0

    def send(conn: _Conn, due: float) -> None:
        nonlocal sent
        data, events = requests[sent % len(requests)]
        sent += 1
        conn.due, conn.events, conn.busy = due, events, True
        conn.sock.setblocking(True)
        conn.sock.sendall(data)
        conn.sock.setblocking(False)

    while True:
        now = time.perf_counter()
        if now >= end:
            break
        if rate is None:
            while free:
                send(free.pop(), now)
            timeout = end - now
        else:
            while free and start + sent / rate <= now:
                send(free.pop(), start + sent / rate)
            timeout = max(0.0, min(end, start + sent / rate) - now) if free else end - now
        for key, _ in selector.select(timeout):
            conn = key.data
            try:
                chunk = conn.sock.recv(65536)
            except BlockingIOError:
                continue
            if not chunk:
                raise RuntimeError("the server closed a kept-alive connection")
            conn.buffer += chunk
            parsed = _response(conn.buffer)
            if parsed is None:
                continue
            status, used, closing = parsed
            del conn.buffer[:used]
            done = time.perf_counter()
            conn.busy = False
            load.acked_events += conn.events if status == 200 else 0
            if done <= end:
                load.requests += 1
                if status == 200:
                    load.events += conn.events
                    load.latencies_ms.append((done - conn.due) * 1000)
                else:
                    load.errors[str(status)] = load.errors.get(str(status), 0) + 1
            if closing:
                selector.unregister(conn.sock)
                conn.sock.close()
                conn = _Conn(port)
                selector.register(conn.sock, selectors.EVENT_READ, conn)
            free.append(conn)
    # Answers still in flight are read (the inbox check counts them), not timed.
    late_deadline = time.perf_counter() + 10
    while any(c.busy for c in conns) and time.perf_counter() < late_deadline:
        for key, _ in selector.select(0.5):
            conn = key.data
            with contextlib.suppress(BlockingIOError):
                conn.buffer += conn.sock.recv(65536)
            parsed = _response(conn.buffer)
            if parsed is not None:
                conn.busy = False
                if parsed[0] == 200:
                    load.acked_events += conn.events
                else:
                    load.errors[str(parsed[0])] = load.errors.get(str(parsed[0]), 0) + 1
    load.driver_cpu_s = time.process_time() - cpu0
    for conn in conns:
        conn.sock.close()
    return load


def _drive_child(pipe: Connection, *args: Any) -> None:
    try:
        pipe.send(drive(*args))
    except BaseException as exc:  # the parent says what went wrong
        pipe.send(exc)
    finally:
        pipe.close()


def drive_in_process(*args: Any) -> Load:
    """`drive` in a process of its own, so the load shares no interpreter lock with anyone."""
    receiving, sending = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_drive_child, args=(sending, *args))
    child.start()
    result = receiving.recv()
    child.join()
    if isinstance(result, BaseException):
        raise result
    return result  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- the servers


def environment(database_url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PAGEFLOWS_")},
        "PAGEFLOWS_DATABASE_URL": database_url,
        "PAGEFLOWS_APP_SECRET": SECRET,
        "PAGEFLOWS_VERIFY_TOKEN": "bench-verify-token",
        "PAGEFLOWS_PAGE_ID": PAGE,
        "PAGEFLOWS_PAGE_TOKEN": "bench-page-token",
    }


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    database_url: str | None
    log: Path
    acked_events: int = 0

    def cpu_seconds(self) -> float:
        """utime + stime of the gunicorn arbiter and every worker process it has."""
        return sum(_cpu_of(pid) for pid in _tree(self.process.pid))


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                pids.extend(_tree(int(child)))
    return pids


def start_ours(name: str, database_url: str, workdir: Path, tree: Path | None = None) -> Server:
    """`tree`: another copy of pageflows (e.g. `git archive` of an older commit) to serve
    instead of this one, for a before/after in the same run."""
    from pageflows.service.storage.database import make_engine
    from pageflows.service.storage.migrate import upgrade
    from pageflows.web import WebOptions, spawn

    port = free_port()
    log = workdir / f"{name.replace(' ', '_').replace(',', '')}.log"
    options = WebOptions(host=HOST, port=port, threads=THREADS, log_level="warning")
    env = environment(database_url)
    if tree is not None:
        env["PYTHONPATH"] = str(tree.resolve())
    with log.open("wb") as out:
        process = spawn(options, env=env, stdout=out, stderr=out)
    # Migrated while gunicorn boots (it touches the database only at the first request,
    # which `wait_ready` sends after this): `serve --web-only` migrates first, the same
    # schema either way.
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    return Server(name, process, port, database_url, log)


def start_bare(name: str, verify: bool, workdir: Path) -> Server:
    from pageflows.web.process import die_with_parent

    port = free_port()
    log = workdir / f"{name.replace(' ', '_').replace('+', '')}.log"
    command = [sys.executable, __file__, "--serve-bare", str(port), "--threads", str(THREADS)]
    if verify:
        command.append("--verify")
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            process_group=0,
            preexec_fn=partial(die_with_parent, os.getpid()),
        )
    return Server(name, process, port, None, log)


def serve_bare(port: int, verify: bool) -> None:
    """The baseline: our gunicorn settings and worker class, a Flask app that does nothing."""
    from flask import Flask, request

    from pageflows.web.application import WebApplication
    from pageflows.web.options import WebOptions
    from pageflows.webhook.verify import signature_is_valid

    def bare_app() -> Flask:
        app = Flask("bare")

        @app.post("/webhook")
        def receive() -> tuple[str, int]:
            raw = request.get_data(cache=False)
            if verify and not signature_is_valid(
                SECRET, raw, request.headers.get("X-Hub-Signature-256")
            ):
                return "", 403
            return "", 200

        return app

    class BareApplication(WebApplication):  # type: ignore[misc]
        def load(self) -> Flask:
            return bare_app()

    BareApplication(WebOptions(host=HOST, port=port, threads=THREADS, log_level="warning")).run()


def wait_ready(server: Server) -> None:
    from pageflows.web import wait_listening

    if not wait_listening(HOST, server.port, server.process, timeout=60):
        raise RuntimeError(f"{server.name} did not start: see {server.log}")
    # One request through the app: the worker process has loaded it (gunicorn loads lazily).
    warm = drive(server.port, f"warm-{uuid.uuid4().hex[:6]}", 0.3, 1, None, 0)
    server.acked_events += warm.acked_events


def stop_all(servers: list[Server]) -> None:
    from pageflows.web import stop

    for server in servers:  # all told at once: each takes a second or more to stop
        if server.process.poll() is None:
            server.process.terminate()
    for server in servers:
        stop(server.process, timeout=10)


@contextlib.contextmanager
def fresh_postgres(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"pageflows_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rpartition("/")[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_server() -> str | None:
    """PAGEFLOWS_TEST_POSTGRES_URL, or the server `.ci/postgres.sh` starts (as `make test`
    does), so that `make bench` needs no setup; None (SQLite only) when there is none."""
    url = os.environ.get("PAGEFLOWS_TEST_POSTGRES_URL")
    if url:
        return url
    script = Path(__file__).resolve().parents[1] / ".ci" / "postgres.sh"
    found = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    url = found.stdout.strip().rpartition("PAGEFLOWS_TEST_POSTGRES_URL=")[2]
    if found.returncode != 0 or not url.startswith("postgresql://"):
        print("no PostgreSQL server (.ci/postgres.sh failed): measuring SQLite only")
        return None
    return url


def postgres_backends(database_url: str) -> list[int]:
    import psycopg

    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    name = url.rpartition("/")[2]
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return [int(r[0]) for r in rows]


def postgres_setting(database_url: str, setting: str) -> str:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(f"SHOW {setting}").fetchone()
    return str(row[0]) if row else "?"


def inbox_count(database_url: str) -> int:
    from sqlalchemy import func, select

    from pageflows.service.storage.database import make_engine
    from pageflows.service.storage.models import InboxEvent

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(InboxEvent)).scalar_one()
            )
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- measuring


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Tally:
    """A server's rounds: the best rate, and CPU per event over all of them."""

    best: Load | None = None
    events: int = 0
    cpu_s: float = 0.0
    db_cpu_s: float = 0.0
    driver_cpu_share: float = 0.0
    rates: list[float] = field(default_factory=list)

    def add(self, load: Load, cpu_s: float, db_cpu_s: float) -> None:
        self.rates.append(load.events_per_s)
        if self.best is None or load.events_per_s > self.best.events_per_s:
            self.best = load
        self.events += load.events
        self.cpu_s += cpu_s
        self.db_cpu_s += db_cpu_s
        self.driver_cpu_share = max(self.driver_cpu_share, load.driver_cpu_s / load.seconds)

    @property
    def rate(self) -> float:
        assert self.best is not None
        return self.best.events_per_s


def one_round(server: Server, seconds: float, connections: int, rate: float | None) -> Load:
    backends = postgres_backends(server.database_url) if _is_pg(server) else []
    cpu0, db0 = server.cpu_seconds(), {p: _cpu_of(p) for p in backends}
    prefix = f"{server.name}-{uuid.uuid4().hex[:8]}"
    load = drive_in_process(
        server.port, prefix, seconds, connections, rate, random.randrange(1 << 30)
    )
    load.server_cpu_s = server.cpu_seconds() - cpu0
    # Backends alive at both ends of the round (a pool's overflow connection may close).
    after = {p: _cpu_of(p) for p in backends}
    load.db_cpu_s = sum(after[p] - db0[p] for p in backends if after[p] >= db0[p] > 0)
    server.acked_events += load.acked_events
    if load.errors:
        raise RuntimeError(
            f"{server.name}: answers other than 200: {load.errors}; see {server.log}"
        )
    return load


def _is_pg(server: Server) -> bool:
    return server.database_url is not None and server.database_url.startswith("postgres")


def main() -> int:
    global THREADS
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--connections", type=int, default=8, help="requests in flight at peak")
    parser.add_argument(
        "--threads", type=int, default=THREADS, help="threads per gunicorn process, every server"
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="a copy of an older pageflows (git archive COMMIT | tar -x -C DIR) measured too",
    )
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse_suppress())
    parser.add_argument("--verify", action="store_true", help=argparse_suppress())
    args = parser.parse_args()
    THREADS = args.threads
    if args.serve_bare:
        serve_bare(args.serve_bare, args.verify)
        return 0
    quick = args.quick
    rounds, seconds, latency_s = (2, 0.8, 0.8) if quick else (5, 3.0, 5.0)
    results = Results("ingest", quick=quick)
    postgres_admin = None if args.no_postgres else postgres_server()
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ingest-")))
        servers: list[Server] = []
        stack.callback(stop_all, servers)
        servers.append(start_bare("bare Flask", False, workdir))
        if not quick:
            servers.append(start_bare("bare Flask + signature", True, workdir))
        ours = {"ours, SQLite": f"sqlite:///{workdir / 'pageflows.db'}"}
        if postgres_admin:
            ours["ours, PostgreSQL"] = stack.enter_context(fresh_postgres(postgres_admin))
        if args.before:
            for name in list(ours):
                db = name.partition(", ")[2]
                ours[f"before, {db}"] = (
                    f"sqlite:///{workdir / 'before.db'}"
                    if db == "SQLite"
                    else stack.enter_context(fresh_postgres(postgres_admin or ""))
                )
        # One after the other: alembic's context is global to the process, not per thread.
        servers.extend(
            start_ours(name, url, workdir, args.before if name.startswith("before") else None)
            for name, url in ours.items()
        )
        if postgres_admin:
            sync = postgres_setting(postgres_admin, "synchronous_commit")
            fsync = postgres_setting(postgres_admin, "fsync")
            print(f"PostgreSQL: synchronous_commit={sync}, fsync={fsync}")
        for server in servers:
            wait_ready(server)
        print(
            f"{rounds} rounds of {seconds:g} s per server, {args.connections} requests in flight,"
            f" servers taking turns; 1 gunicorn process x {THREADS} threads each"
        )
        tallies = {server.name: Tally() for server in servers}
        for r in range(rounds):
            order = servers if r % 2 == 0 else list(reversed(servers))
            for server in order:
                load = one_round(server, seconds, args.connections, None)
                tallies[server.name].add(load, load.server_cpu_s, load.db_cpu_s)
                print(
                    f"  round {r + 1} {server.name:<24} {load.events_per_s:8.0f} events/s"
                    f"  ({load.requests / seconds:.0f} requests/s, load generator"
                    f" {load.driver_cpu_s / seconds:.0%} of a core)"
                )
        bare = tallies["bare Flask"]
        print(
            f"load generator at most {max(t.driver_cpu_share for t in tallies.values()):.0%}"
            " of a core in any round"
        )
        ours_servers = [s for s in servers if s.name.startswith("ours")]
        for server in ours_servers:
            ours = tallies[server.name]
            db = server.name.partition(", ")[2]
            results.add(
                f"ingest, {db}: events/s, ours vs bare Flask",
                ours.rate,
                "events/s",
                baseline=bare.rate,
                baseline_name="bare Flask POST /webhook (200, nothing else), same gunicorn",
                target=ratio_at_least(0.8 if db == "SQLite" else 0.6),
            )
            if "bare Flask + signature" in tallies:
                results.add(
                    f"ingest, {db}: events/s, ours vs bare Flask + signature check",
                    ours.rate,
                    "events/s",
                    baseline=tallies["bare Flask + signature"].rate,
                    baseline_name="bare Flask that also checks X-Hub-Signature-256",
                )
            results.add(
                f"ingest, {db}: gunicorn CPU per event, ours vs bare Flask",
                ours.cpu_s / ours.events * 1e6,
                "µs",
                baseline=bare.cpu_s / bare.events * 1e6,
                baseline_name="bare Flask, same gunicorn",
            )
            if ours.db_cpu_s:
                results.add(
                    f"ingest, {db}: database server CPU per event (its backends)",
                    ours.db_cpu_s / ours.events * 1e6,
                    "µs",
                )
        for server in servers:
            if not server.name.startswith("before"):
                continue
            db = server.name.partition(", ")[2]
            before = tallies[server.name]
            results.add(
                f"ingest, {db}: events/s, before ({args.before}) vs bare Flask",
                before.rate,
                "events/s",
                baseline=bare.rate,
                baseline_name="bare Flask, same gunicorn",
            )
            results.add(
                f"ingest, {db}: events/s, ours vs before ({args.before})",
                tallies[f"ours, {db}"].rate,
                "events/s",
                baseline=before.rate,
                baseline_name="the same server from the older copy, same rounds",
            )
            results.add(
                f"ingest, {db}: gunicorn CPU per event, before vs bare Flask",
                before.cpu_s / before.events * 1e6,
                "µs",
                baseline=bare.cpu_s / bare.events * 1e6,
                baseline_name="bare Flask, same gunicorn",
            )
        # Latency at half of ours' peak, open loop, ours and bare at the same rate. Half
        # of the slowest round, not of the best: on a shared machine the best round can be
        # twice a typical one, and half of it would be the whole of what ours has then.
        # In turns, as the peak rounds: `rounds` windows each (ours, bare; then bare, ours;
        # ...), the latencies of each server's windows pooled; one window of each, one after
        # the other, could give either a stretch of another session's load that the other
        # did not get.
        for server in ours_servers:
            db = server.name.partition(", ")[2]
            rate = min(tallies[server.name].rates) / 2
            requests_rate = rate / 1.2  # ~1.2 events per request in the mix
            pair = (server, servers[0])
            timed = {s.name: Load(latency_s) for s in pair}
            windows: dict[str, list[float]] = {s.name: [] for s in pair}
            for r in range(rounds):
                for s in pair if r % 2 == 0 else pair[::-1]:
                    window = one_round(s, latency_s / rounds, 32, requests_rate)
                    timed[s.name].requests += window.requests
                    timed[s.name].latencies_ms += window.latencies_ms
                    windows[s.name].append(percentile(window.latencies_ms, 0.99))
            for which, load in timed.items():
                print(
                    f"  {which:<24} at {requests_rate:.0f} requests/s"
                    f" ({load.requests / latency_s:.0f} answered/s): p50"
                    f" {percentile(load.latencies_ms, 0.5):.1f} ms, p99"
                    f" {percentile(load.latencies_ms, 0.99):.1f} ms (windows' p99:"
                    f" {', '.join(f'{p:.1f}' for p in windows[which])})"
                )
            for q, name, target in ((0.5, "p50", None), (0.99, "p99", value_at_most(25))):
                results.add(
                    f"ingest, {db}: {name} ms to the 200 at half ours' slowest round"
                    f" ({requests_rate:.0f} requests/s)",
                    percentile(timed[server.name].latencies_ms, q),
                    "ms",
                    baseline=percentile(timed[servers[0].name].latencies_ms, q),
                    baseline_name="bare Flask at the same rate",
                    target=target,
                )
        # Nothing lost, nothing doubled: the inbox holds every event answered 200.
        failures = 0
        stop_all(servers)  # every request answered has been committed, nothing is in flight
        for server in [s for s in servers if s.database_url is not None]:
            assert server.database_url is not None
            stored = inbox_count(server.database_url)
            print(
                f"{server.name}: {server.acked_events:,} events answered 200,"
                f" {stored:,} in the inbox"
            )
            if stored != server.acked_events:
                failures += 1
                print(f"FAILED: {server.name} lost or doubled events")
        print()
        print(results.table())
        results.write(args.json)
        print(f"\nwritten to {args.json}")
        return 1 if failures else 0


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
