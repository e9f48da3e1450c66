"""The page's pace across processes: a broadcast several workers send at once never goes
faster than PAGEFLOWS_PAGE_RATE, as Facebook's clock (the simulator's) sees the calls.

The contacts write first (a message no trigger answers: they become known and
their 24 h windows open, nothing is sent), then the flow gains a broadcast
`to everyone` due this very minute and every worker is restarted with SIGTERM
to load it, as an operator deploys a new flow. The workers share the
broadcast's deliveries and its sends; the verdict reads the simulator's log:
each contact got the broadcast exactly once, and no sliding one-second window
holds more accepted Send API calls than the rate.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .processes import wait_until
from .stack import Stack, Topology
from .webhooks import Event, batch_body

BROADCAST = "pace"
BROADCAST_TEXT = "the pace broadcast"
UNANSWERED = 'on keyword "pace-never-said" exact:\n    send "never"\n'
PSID_BASE = 7_300_000_000_000_000
BATCH = 10  # contacts per webhook POST while they write first


def flow_with_broadcast(at: datetime) -> str:
    """The first flow plus a broadcast to everyone at `at`'s minute (already due)."""
    return (
        f"{UNANSWERED}\n"
        f'broadcast {BROADCAST} to everyone at "{at:%Y-%m-%d %H:%M}" in "UTC":\n'
        f'    send "{BROADCAST_TEXT}"\n'
    )


def arrived_at(entry: dict[str, Any]) -> datetime:
    """When a call reached the simulator (its log's `received_at`, before any answer time):
    what Facebook's rate limit counts; its `at` is when the answer was ready, which a busy
    machine's scheduling can bunch."""
    return datetime.fromisoformat(entry.get("received_at") or entry["at"])


def max_in_one_second(moments: list[datetime]) -> int:
    """The most calls any sliding one-second window holds."""
    ordered = sorted(moments)
    most, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= timedelta(seconds=1):
            start += 1
        most = max(most, end - start + 1)
    return most


@dataclass
class PaceResult:
    contacts: int
    page_rate: float
    workers: int
    calls: int = 0  # Send API calls the simulator accepted
    refused: int = 0
    max_in_one_second: int = 0
    achieved_rate: float = 0.0  # calls per second, first call to last
    send_seconds: float = 0.0  # first call to last
    broadcast_started: dict[str, int] = field(default_factory=dict)
    missing: int = 0  # contacts that never got the broadcast
    doubled: int = 0  # extra copies
    sends_by_process: dict[str, int] = field(default_factory=dict)
    stop_codes: list[int | None] = field(default_factory=list)
    drained: bool = False
    drain_seconds: float = 0.0
    log_problems: list[str] = field(default_factory=list)
    workdir: str = ""
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}

    def judge(self) -> None:
        found = []
        if self.max_in_one_second > self.page_rate:
            found.append(
                f"{self.max_in_one_second} calls in one second; the page's rate is"
                f" {self.page_rate:g}"
            )
        if self.broadcast_started != {BROADCAST: self.contacts}:
            found.append(f"broadcast runs {self.broadcast_started}, wanted one for every contact")
        if self.missing or self.doubled:
            found.append(f"broadcast missing for {self.missing}, doubled {self.doubled} time(s)")
        if self.refused:
            found.append(f"{self.refused} call(s) refused by the simulator")
        if not self.drained:
            found.append("the workers did not finish the broadcast")
        if any(code != 0 for code in self.stop_codes):
            found.append(f"a SIGTERMed worker did not exit 0: {self.stop_codes}")
        if self.log_problems:
            found.append(f"{len(self.log_problems)} error line(s): {self.log_problems[:5]}")
        senders = [name for name, n in self.sends_by_process.items() if n]
        if self.workers > 1 and len(senders) < 2:
            found.append(f"one process sent everything: {self.sends_by_process}")
        self.failures = found


def broadcast_pace(
    database_url: str,
    workdir: Path,
    contacts: int = 200,
    page_rate: float = 10.0,
    workers: int = 4,
    web: int = 2,
    timeout: float = 120.0,
) -> PaceResult:
    result = PaceResult(contacts, page_rate, workers, workdir=str(workdir))
    flows = workdir / "flows"
    flows.mkdir(parents=True, exist_ok=True)
    (flows / "pace.flow").write_text(UNANSWERED, "utf-8")
    topology = Topology(web=web, workers=workers, page_rate=page_rate)
    with Stack(workdir, database_url, topology, flows) as stack:
        facebook = stack.facebook(random.Random(0), 0.0)
        try:
            psids = [str(PSID_BASE + n) for n in range(1, contacts + 1)]
            events = [
                Event(n, psid, 0, "hello", f"m_pace_{n:05d}") for n, psid in enumerate(psids, 1)
            ]
            for psid in psids:
                stack.sim.add_contact(psid)
            for start in range(0, len(events), BATCH):
                batch = events[start : start + BATCH]
                body = batch_body(stack.page.page_id, batch, int(time.time() * 1000))
                facebook.submit(body, [e.number for e in batch])
            known = wait_until(
                lambda: stack.tables.inbox_statuses().get("done") == contacts, timeout, 0.2
            )
            if not known:
                raise RuntimeError(
                    f"the contacts' first messages were not all processed: "
                    f"{stack.tables.inbox_statuses()}"
                )
            (flows / "pace.flow").write_text(flow_with_broadcast(datetime.now(UTC)), "utf-8")
            result.stop_codes = stack.stop_together(stack.workers)
            for worker in stack.workers:
                worker.start()
            begun = time.monotonic()
            wait_until(lambda: bool(stack.tables.broadcast_runs()), 60, 0.2)
            drained = stack.drain(facebook, timeout)
            result.drained, result.drain_seconds = drained.done, round(time.monotonic() - begun, 1)
            seen = stack.observe()
            result.broadcast_started = stack.tables.broadcast_runs()
        finally:
            facebook.close()
    calls = [arrived_at(e) for e in seen.log if e["ok"]]
    result.calls, result.refused = len(calls), len(seen.log) - len(calls)
    if calls:
        result.max_in_one_second = max_in_one_second(calls)
        result.send_seconds = round((max(calls) - min(calls)).total_seconds(), 2)
        if result.send_seconds:
            result.achieved_rate = round((len(calls) - 1) / result.send_seconds, 2)
    got = Counter(
        str(e["recipient_id"])
        for e in seen.log
        if e["ok"] and (e["request"].get("message") or {}).get("text") == BROADCAST_TEXT
    )
    result.missing = sum(1 for psid in psids if not got.get(psid))
    result.doubled = sum(n - 1 for n in got.values() if n > 1)
    result.sends_by_process = seen.sends_by_process
    result.log_problems = seen.log_problems
    result.judge()
    return result
