"""The short crash run CI does on SQLite and PostgreSQL: four SIGKILLs in 20 s of traffic each.

The pass criteria are the product's guarantees, not tuned to today's code:
no owed message lost, no decision doubled, and every message Facebook got
twice belongs to an outbox row marked possible_duplicate. A failure prints
the table and the work folder (serve logs, result.json with examples).
Set PAGEFLOWS_CRASH_SEED to replay a seed; the kill moments and the traffic
follow it, the thread timings do not.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from .harness import Options, run
from .verdict import table

DURATION = 15.0  # seconds of traffic in CI (the long form: make crash)
KILLS = 4
RATE = 20.0


def test_serve_survives_sigkill_with_nothing_lost_or_silently_doubled(
    database_url: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("PAGEFLOWS_CRASH_SEED") or random.SystemRandom().randrange(10**6))
    counts = run(
        Options(
            database_url=database_url,
            duration=DURATION,
            kills=KILLS,
            rate=RATE,
            seed=seed,
            workdir=tmp_path / "crash",
            verbose=False,
        )
    )
    report = table([counts])
    examples = json.dumps(counts.examples, indent=1)[:4000]
    if not counts.passed:
        pytest.fail(f"\n{report}\nwork folder: {counts.workdir}\nexamples: {examples}", False)
