"""The crash window made deterministic: serve is killed while a Graph API call is in flight.

The simulator is told to hold every Send API call for a few seconds before it
accepts it (`POST /_sim/faults {"delay_seconds": ...}`); serve decides the
reply, calls the Send API, and is SIGKILLed while it waits. The simulator
then accepts the message, but serve never learns it. Started again, serve
must not send it silently a second time: either it sends nothing more, or it
sends once more with the outbox row marked possible_duplicate.

The random run finds this window now and then; this finds it every time, so
whoever changes the sender can see the verdict in seconds.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from .flow import reply_text
from .processes import wait_until
from .stack import Stack
from .verdict import Counts, RunFacts, judge
from .webhooks import Event, batch_body

SEND_DELAY = 3.0  # seconds the simulator holds each Send API call
PSID = "7199999999000001"


def kill_during_send(
    database_url: str, workdir: Path | None = None, drain: float = 120.0
) -> Counts:
    workdir = (workdir or Path(tempfile.mkdtemp(prefix="pageflows-crash-scenario-"))).resolve()
    database = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    facts = RunFacts(database=database, seed=0, duration=0.0, rate=0.0, workdir=str(workdir))
    with Stack(workdir, database_url) as stack:
        sim, server = stack.sim, stack.server
        sim.call("POST", "faults", {"delay_seconds": SEND_DELAY})
        sim.add_contact(PSID)
        facebook = stack.facebook(random.Random(0), redeliver=0.0)
        event = Event(1, PSID, 0, "ping0", "m_crash_scenario_1")
        try:
            facebook.submit(batch_body(stack.page.page_id, [event], int(time.time() * 1000)), [1])
            decided = wait_until(
                lambda: any(r.text == reply_text(0) for r in stack.tables.outbox()), 15.0
            )
            if not decided:
                raise RuntimeError("serve never decided the reply; see serve-001.log")
            time.sleep(SEND_DELAY / 3)  # the sender is now inside the Graph call
            server.kill()
            facts.kills = facts.kills_after_send = 1
            wait_until(lambda: any(e["ok"] for e in sim.messages()), SEND_DELAY + 5)
            sim.call("POST", "faults", {"delay_seconds": 0})
            server.start()
            drained = stack.drain(facebook, drain)
            seen = stack.observe()
        finally:
            facebook.close()
        facts.serve_starts, facts.serve_exits = server.generation, list(server.exits)
    facts.drained, facts.drain_seconds, facts.backlog = (
        drained.done,
        drained.seconds,
        drained.backlog,
    )
    return judge(facts, [event], facebook.accepted, facebook.stats, seen)
