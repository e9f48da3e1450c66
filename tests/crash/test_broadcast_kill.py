"""A broadcast an operator starts (`pageflows broadcast send`, a real CLI process) while
`pageflows serve` sends it: serve is SIGKILLed mid-broadcast and started again, and
the simulator (Facebook) received the broadcast exactly once per contact, at a pace
never above the page's rate in any one-second window.

Real processes and the real clock, on SQLite and PostgreSQL. On PostgreSQL a killed
process's claimed messages come back when their leases end (30 s), so that form
takes about 40 s; on SQLite the one worker ends the leases when it starts again.
A message in flight at the kill may reach Facebook twice: then it is flagged
possible_duplicate (ARCHITECTURE.md), and only then may a contact have two.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fresh_databases import fresh_postgres

from .pace import UNANSWERED, arrived_at, max_in_one_second
from .processes import pageflows_command, wait_until
from .stack import Stack, Topology
from .webhooks import Event, batch_body

NAME = "killed"
TEXT = "the killed broadcast"
CONTACTS = 40
RATE = 10.0
FLOW = (
    f'{UNANSWERED}\nbroadcast {NAME} to everyone at "2030-01-01 09:00" in "UTC":\n'
    f'    send "{TEXT}"\n'
)
PSID_BASE = 7_400_000_000_000_000


# The short form (`make test`) runs on SQLite (about 16 s); on PostgreSQL a killed process's
# claims wait out their 30 s lease, so that form (about 45 s) runs with the long ones:
# `make crash` sets PAGEFLOWS_CRASH_LONG=1.
DATABASES = ["sqlite", "postgresql"] if os.environ.get("PAGEFLOWS_CRASH_LONG") else ["sqlite"]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pageflows.db'}"
        return
    yield from fresh_postgres()


def test_a_broadcast_killed_mid_way_and_restarted_reaches_each_contact_once(
    database_url: str, tmp_path: Path
) -> None:
    workdir = tmp_path / "kill"
    flows = workdir / "flows"
    flows.mkdir(parents=True)
    (flows / "main.flow").write_text(FLOW, "utf-8")
    with Stack(workdir, database_url, Topology(page_rate=RATE), flows) as stack:
        facebook = stack.facebook(random.Random(0), 0.0)
        try:
            psids = [str(PSID_BASE + n) for n in range(1, CONTACTS + 1)]
            for psid in psids:
                stack.sim.add_contact(psid)
            events = [Event(n, p, 0, "hello", f"m_kill_{n:03d}") for n, p in enumerate(psids, 1)]
            for start in range(0, CONTACTS, 10):
                batch = events[start : start + 10]
                body = batch_body(stack.page.page_id, batch, int(time.time() * 1000))
                facebook.submit(body, [e.number for e in batch])
            assert wait_until(lambda: stack.tables.inbox_statuses().get("done") == CONTACTS, 60)

            sent = subprocess.run(
                [*pageflows_command(), "broadcast", "send", NAME, str(flows)],
                env=stack.server.environment(), cwd=workdir, capture_output=True, text=True,
                timeout=60, check=False,
            )  # fmt: skip
            assert sent.returncode == 0, sent.stderr
            assert f"{CONTACTS} contact(s) to decide for" in sent.stdout
            assert "1 worker(s) alive" in sent.stdout

            def broadcast_calls() -> int:
                return sum(
                    1 for m in stack.sim.messages() if m["request"]["message"].get("text") == TEXT
                )

            assert wait_until(lambda: broadcast_calls() >= CONTACTS // 4, 30, 0.02)
            stack.server.kill()
            killed_moment = datetime.now(UTC)
            killed_at = broadcast_calls()
            assert killed_at < CONTACTS, "the broadcast ended before the kill"
            print(f"killed after {killed_at} of {CONTACTS} broadcast calls")
            stack.server.start()
            drained = stack.drain(facebook, 90)
            assert drained.done, drained
            seen = stack.observe()
        finally:
            facebook.close()
    got = Counter(
        str(m["recipient_id"])
        for m in seen.log
        if m["ok"] and m["request"]["message"].get("text") == TEXT
    )
    flagged = {row.contact_id for row in seen.outbox if row.possible_duplicate}
    assert set(got) == set(psids), f"missing: {set(psids) - set(got)}"
    doubled = {psid for psid, n in got.items() if n > 1}
    assert doubled <= flagged, f"doubled without a flag: {doubled - flagged}"
    assert all(n <= 2 for n in got.values())
    calls = [arrived_at(m) for m in seen.log if m["ok"]]
    ours = [
        arrived_at(m) for m in seen.log if m["ok"] and m["request"]["message"].get("text") == TEXT
    ]
    # Paced, not fast by chance: the calls before the kill alone span (n - 1) / rate.
    assert (max(ours[:killed_at]) - min(ours)).total_seconds() >= (killed_at - 1) / RATE * 0.9
    print(
        f"doubled {sorted(doubled)}, flagged {len(flagged)}, max in 1 s {max_in_one_second(calls)}"
    )
    assert max_in_one_second(calls) <= RATE, densest(seen.log, killed_moment)


def densest(log: list[dict[str, Any]], killed: datetime) -> list[str]:
    """The accepted calls of the busiest second, for the failure message."""
    calls = sorted((arrived_at(m), m) for m in log if m["ok"])
    best: list[str] = []
    for at, _ in calls:
        window = [
            f"{t:%H:%M:%S.%f} {m['recipient_id']} {(m['request'].get('message') or {}).get('text')}"
            for t, m in calls
            if at <= t < at + timedelta(seconds=1)
        ]
        best = max(best, window, key=len)
    return [f"killed at {killed:%H:%M:%S.%f}", *best]
