"""What the worker benchmarks (4, 5 and 7) share: a flow, a fresh database, events, a simulator.

The workload is what a busy shop's Page sees: new contacts saying a keyword,
tapping a quick reply, asking for a quote and answering the ask with their
email (which schedules a follow-up), four events per contact, contacts
interleaved as they would be on the wire. Events enter the inbox through the
real ingest path (a Facebook webhook body -> `webhook.parse.parse_body` ->
`webhook.fit.inbox_row` -> `storage.inbox.store_batch`), or over HTTP as signed
POSTs to the webhook where a benchmark says so.

The worker is driven only through its public API (`serve.build_service`,
`Worker.process_inbox`, `Worker.process_due`) or its CLI (`pageflows worker`),
so the scripts measure whatever the worker does, today or after a change.

The Graph API is the simulator (pageflows/simulator) in a process of its own,
over HTTP, as in production: the worker looks up a new contact's profile
there. bench/timed_simulator.py wraps it to note when each send arrives.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pageflows.clock import FakeClock  # noqa: E402
from pageflows.ports import free_port  # noqa: E402
from pageflows.serve import Service, build_service  # noqa: E402
from pageflows.service.config import PageConfig, Settings  # noqa: E402
from pageflows.service.storage.inbox import store_batch  # noqa: E402
from pageflows.webhook.fit import inbox_row  # noqa: E402
from pageflows.webhook.parse import Parsed, parse_body  # noqa: E402

PAGE = "104123456789012"
TOKEN = "bench-page-token"
SECRET = "bench-app-secret"
VERIFY = "bench-verify"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
MAX_PACE = 40.0  # messages a second: the most a page may be configured to send (config.py)
PYTHON = sys.executable
PAGEFLOWS = str(Path(sys.executable).with_name("pageflows"))

FLOW = """\
on keyword "hi", "hello" exact:
    send "Hi {contact.first_name|there}! What can I do for you?"
        quick "Prices" -> prices
        quick "Shipping" -> shipping

on keyword "quote":
    ask "What's your email? We'll send the quote there." into email as email:
        invalid "That doesn't look like an email. Could you check it?"
    tag "lead"
    send "Thanks! We'll write to {contact.email} within the day."
    after 20h unless replied:
        send "Any questions about your quote? Just ask here."

step prices:
    send "Our prices start at $19. See https://shop.example.com/prices"

step shipping:
    send "We ship to the EU, the UK and the US in 2 to 5 working days."

on message:
    send "Sorry, I didn't get that. Say hi to start."
"""

# The four events of one contact, in order; "{qr}" is the Prices quick reply's payload.
SCRIPT = ("hi", "{qr}", "can I get a quote", "{psid}@example.com")
EVENTS_PER_CONTACT = len(SCRIPT)


# --------------------------------------------------------------------------- databases


@contextlib.contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A new, empty database: a SQLite file in `folder`, or a PostgreSQL database on the
    server PAGEFLOWS_TEST_POSTGRES_URL names (`eval "$(bash .ci/postgres.sh)"`), dropped after."""
    if kind == "sqlite":
        path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        return
    import psycopg

    server = postgres_server()
    name = f"pageflows_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_server() -> str:
    url = os.environ.get("PAGEFLOWS_TEST_POSTGRES_URL", "")
    if not url:
        raise SystemExit(
            'PostgreSQL: PAGEFLOWS_TEST_POSTGRES_URL is not set; run eval "$(bash .ci/postgres.sh)"'
            " first, or pass --databases sqlite"
        )
    return url


def databases(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    for kind in kinds:
        if kind not in ("sqlite", "postgresql"):
            raise SystemExit(f"--databases: {kind!r} is neither sqlite nor postgresql")
    return kinds


# --------------------------------------------------------------------------- flows, settings


def write_flows(folder: Path) -> Path:
    flows = folder / "flows"
    flows.mkdir(exist_ok=True)
    (flows / "shop.flow").write_text(FLOW, "utf-8")
    return flows


def settings(database_url: str, graph_url: str, rate: float = 20.0) -> Settings:
    return Settings(
        database_url=database_url,
        app_secret=SECRET,
        verify_token=VERIFY,
        graph_url=graph_url,
        pages=(PageConfig(id=PAGE, token=TOKEN, name="Bench shop", rate=rate),),
    )


def environment(database_url: str, graph_url: str, rate: float = MAX_PACE) -> dict[str, str]:
    """The same settings for a `pageflows serve` / `pageflows worker` process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFLOWS_")}
    env.update(
        PAGEFLOWS_DATABASE_URL=database_url,
        PAGEFLOWS_APP_SECRET=SECRET,
        PAGEFLOWS_VERIFY_TOKEN=VERIFY,
        PAGEFLOWS_PAGE_ID=PAGE,
        PAGEFLOWS_PAGE_TOKEN=TOKEN,
        PAGEFLOWS_PAGE_RATE=f"{rate:g}",
        PAGEFLOWS_GRAPH_URL=graph_url,
    )
    return env


def service(
    database_url: str, flows: Path, graph_url: str, clock: FakeClock | None = None
) -> Service:
    """The worker side as `pageflows worker` builds it (migrated, not started)."""
    return build_service(
        settings(database_url, graph_url), str(flows), clock or FakeClock(START), graph_url
    )


def quick_reply_payload(svc: Service) -> str:
    """The payload the first message's "Prices" quick reply carries, as the engine made it."""
    from pageflows.engine.contact import ContactState
    from pageflows.engine.core import handle
    from pageflows.engine.effects import Send
    from pageflows.engine.events import MessageIn

    program = svc.worker.pages[PAGE].program
    event = MessageIn(contact_id="0", timestamp=START, text="hi")
    decision = handle(program, ContactState(id="0"), event, START)
    for effect in decision.effects:
        if isinstance(effect, Send):
            replies = effect.outbound.message.get("quick_replies") or []
            if replies:
                return str(replies[0]["payload"])
    raise RuntimeError("the bench flow's first message has no quick reply")


# --------------------------------------------------------------------------- events


def psid(prefix: int, n: int) -> str:
    """A contact id unique to a benchmark round (`prefix`) and contact (`n`)."""
    return f"{prefix:04d}{n:011d}"


def messaging(contact: str, step: int, qr: str, at: datetime) -> dict[str, Any]:
    """One `messaging[]` item as Facebook sends it: the contact's step-th event."""
    text = SCRIPT[step].format(qr=qr, psid=contact)
    message: dict[str, Any] = {"mid": f"m_{contact}_{step}", "text": text}
    if step == 1:
        message["text"] = "Prices"
        message["quick_reply"] = {"payload": qr}
    return {
        "sender": {"id": contact},
        "recipient": {"id": PAGE},
        "timestamp": int(at.timestamp() * 1000),
        "message": message,
    }


def event_items(prefix: int, contacts: int, qr: str, at: datetime) -> list[dict[str, Any]]:
    """Every contact's four events; contacts interleaved a few at a time, as on the wire
    (a contact's next event comes after a few others' events, never before its own)."""
    items: list[dict[str, Any]] = []
    group = 8
    for first in range(0, contacts, group):
        members = range(first, min(first + group, contacts))
        for step in range(EVENTS_PER_CONTACT):
            for n in members:
                items.append(messaging(psid(prefix, n), step, qr, at))
    return items


def body(items: list[dict[str, Any]]) -> bytes:
    entry = [{"id": PAGE, "time": items[0]["timestamp"], "messaging": items}]
    return json.dumps({"object": "page", "entry": entry}).encode()


def signature(raw: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


def store(engine: Any, items: list[dict[str, Any]], received_at: datetime, batch: int = 50) -> int:
    """Into the inbox as the webhook stores them: parsed from a body, `batch` per POST."""
    stored = 0
    for start in range(0, len(items), batch):
        parsed = parse_body(body(items[start : start + batch]), received_at=received_at)
        assert isinstance(parsed, Parsed), parsed
        result = store_batch(engine, [inbox_row(e) for e in parsed.events], received_at)
        assert isinstance(result, int), result
        stored += result
    return stored


# --------------------------------------------------------------------------- processes


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited {proc.returncode} before answering")
        with contextlib.suppress(requests.RequestException):
            requests.get(url, timeout=1)
            return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


@dataclass
class Simulator:
    root: str  # http://127.0.0.1:PORT
    url: str  # the Graph API base, with its version
    proc: subprocess.Popen[bytes]
    delay: float = 0.0  # seconds it takes to answer each Graph call

    def sends(self) -> list[dict[str, Any]]:
        """(psid, wall time) of every send that reached it (timed_simulator.py)."""
        answer: list[dict[str, Any]] = requests.get(f"{self.root}/_bench/sends", timeout=30).json()
        return answer

    def posts(self) -> list[dict[str, Any]]:
        """(psid, wall time) of every webhook POST it started, on the clock of `sends`."""
        answer: list[dict[str, Any]] = requests.get(f"{self.root}/_bench/posts", timeout=30).json()
        return answer

    def clear(self) -> None:
        requests.post(f"{self.root}/_bench/clear", timeout=10)


@contextlib.contextmanager
def simulator(
    webhook_url: str = "http://127.0.0.1:9/webhook", delay: float = 0.0
) -> Iterator[Simulator]:
    """The Graph API simulator in a process of its own (its CPU is not the worker's)."""
    port = free_port()
    command = [PYTHON, str(ROOT / "bench" / "timed_simulator.py"), "--port", str(port),
               "--page-id", PAGE, "--token", TOKEN, "--app-secret", SECRET,
               "--webhook-url", webhook_url, "--delay", str(delay)]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    root = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{root}/_bench/sends", proc=proc)
        version = requests.get(f"{root}/_bench/version", timeout=5).text
        yield Simulator(root, f"{root}/{version}", proc, delay)
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()


def drain(step: Callable[[], int], pending: Callable[[], int], timeout: float = 600.0) -> None:
    """Call `step` until `pending()` says nothing is left (a pass may do nothing while
    another holds a contact; it is called again)."""
    deadline = time.monotonic() + timeout
    while pending():
        step()
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not drain in time")


def drain_while_busy(
    step: Callable[[], int], pending: Callable[[], int], timeout: float = 600.0
) -> None:
    """As `drain`, but `pending()` is asked only after a pass that did nothing: a pass that
    decided something is followed by another straight away, as `pageflows worker` does
    (serve.py), so the timed drain is the worker's work and not the benchmark's counts
    of what is left (a count of the pending follow-ups per pass of 500 reads an index
    range that, at 100,000, is longer than the pass's own reads)."""
    deadline = time.monotonic() + timeout
    while True:
        if not step() and not pending():
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not drain in time")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank, of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values)


def tempdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="pageflows-bench-")


def start_time() -> datetime:
    return START


def later(delta: timedelta) -> datetime:
    return START + delta


# --------------------------------------------------------------------------- load


@contextlib.contextmanager
def web(
    database_url: str, flows: Path, graph_url: str, logs: Path, worker: bool = False,
    port: int = 0,
) -> Iterator[str]:  # fmt: skip
    """`pageflows serve` on `port` or a free one (gunicorn; --web-only unless `worker`)."""
    port = port or free_port()
    command = [PAGEFLOWS, "serve", str(flows), "--port", str(port)]
    if not worker:
        command.append("--web-only")
    log = (logs / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen(
        command, env=environment(database_url, graph_url), stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{url}/healthz", timeout=90, proc=proc)
        except RuntimeError as exc:
            tail = log.name and Path(log.name).read_text("utf-8", "replace")[-2000:]
            raise RuntimeError(f"{exc}; its log ends:\n{tail}") from None
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def poster(url: str, rate: float, prefix: int, qr: str) -> Iterator[None]:
    """A process posting signed webhook bodies (one event each) to `url` at `rate` a second,
    new contacts' four events as in `event_items`, until the block ends."""
    command = [PYTHON, str(Path(__file__)), "post", url, f"{rate:g}", str(prefix), qr]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"the poster did not start (exit {proc.wait()})")
        yield
    finally:
        proc.terminate()
        proc.wait(30)


def steady_items(prefix: int, qr: str) -> Iterator[dict[str, Any]]:
    """`event_items` without end, eight contacts at a time, made as they are posted."""
    group = 0
    while True:
        yield from event_items(prefix + group, 8, qr, datetime.now(UTC))
        group += 10_000


def post_steadily(url: str, rate: float, prefix: int, qr: str) -> None:
    """The poster process: steady posts, each answered 200 before the next is due or not."""
    session = requests.Session()
    session.trust_env = False
    interval, due = 1.0 / rate, time.monotonic()
    for i, item in enumerate(steady_items(prefix, qr)):
        item["timestamp"] = int(time.time() * 1000)
        raw = body([item])
        answer = session.post(
            f"{url}/webhook",
            data=raw,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature(raw)},
            timeout=30,
        )
        if answer.status_code != 200:
            raise SystemExit(f"the webhook answered {answer.status_code}: {answer.text[:200]}")
        if i == 0:
            print("ready", flush=True)
        due += interval
        time.sleep(max(0.0, due - time.monotonic()))


if __name__ == "__main__" and sys.argv[1:2] == ["post"]:
    post_steadily(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
