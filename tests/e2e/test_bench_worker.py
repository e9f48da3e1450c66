"""Tiny runs of the worker benchmarks (bench/bench_worker.py, bench_followups.py,
bench_workers.py): each writes the rows docs/performance.md describes.

No timing is asserted (bench/ measures, tests check). What is asserted is what
each script checks of the work it timed before writing a row: every event
decided (none pending or parked), every follow-up fired once with one queued
message, every APScheduler job run once (none missed, the job table empty),
every worker process exiting 0 on SIGTERM. A script whose work went wrong exits
non-zero and writes nothing. Here, not in tests/unit beside test_bench_results.py:
they start real processes (the simulator, gunicorn, `pageflows serve` and `worker`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"name", "value", "unit", "baseline", "ratio", "target", "met", "bench", "quick"}
POSTGRES = os.environ.get("PAGEFLOWS_TEST_POSTGRES_URL", "")


def run_bench(script: str, path: Path, *args: str, quick: bool = True) -> list[dict[str, Any]]:
    form = ["--quick"] if quick else []
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *form, "--json", str(path), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    for row in rows:
        assert row.keys() >= KEYS
        assert row["value"] > 0
        assert row["baseline"] is not None and row["baseline"] > 0
        assert row["ratio"] == pytest.approx(row["value"] / row["baseline"])
        assert (row["met"] is None) == (row["target"] is None)
        assert row["quick"] is quick
    return rows


def databases() -> str:
    return "sqlite,postgresql" if POSTGRES else "sqlite"


def test_worker_benchmark_writes_decisions_per_second(tmp_path: Path) -> None:
    rows = run_bench(
        "bench_worker.py", tmp_path / "results.json", "--databases", databases(),
        "--contacts", "6", "--skip-ingest", "--skip-e2e",
    )  # fmt: skip
    names = [r["name"] for r in rows]
    assert "decisions/s, sqlite, one worker, 24 events: ours (value target)" in names
    assert {r["bench"] for r in rows} == {"worker"}
    assert all(r["unit"] == "events/s" for r in rows)
    assert all(r["target"] == "value >= 1000" for r in rows if ", sqlite," in r["name"])


def test_worker_benchmark_beside_ingest_and_end_to_end(tmp_path: Path) -> None:
    """The long form's other figures: with a webhook taking POSTs beside the worker, and
    the latency through `pageflows serve` to the simulator (every contact answered)."""
    rows = run_bench(
        "bench_worker.py", tmp_path / "results.json", "--databases", "sqlite",
        "--contacts", "4", "--rounds", "1", "--ingest-rate", "10", "--e2e-seconds", "1",
        "--e2e-warmup", "0.5", quick=False,
    )  # fmt: skip
    names = [r["name"] for r in rows]
    assert names[0] == "decisions/s, sqlite, one worker, 16 events: ours (value target)"
    assert names[1] == (
        "decisions/s, sqlite, one worker, 16 events, with ingest at 10/s beside it vs alone"
    )
    assert names[2].startswith("end to end, sqlite, ") and names[2].endswith(": p99 ms")
    assert rows[1]["target"] == "ratio >= 0.5"
    assert rows[2]["unit"] == "ms" and rows[2]["value"] >= rows[2]["baseline"]  # p99 >= p50
    assert names[3].startswith("end to end, sqlite, cold start: the ")
    assert names[3].endswith(" contacts of the first 0.5 s after serve answered: the slowest, ms")
    assert rows[3]["target"] is None and rows[3]["value"] >= rows[3]["baseline"]  # max >= p50


def test_followups_benchmark_runs_ours_and_apscheduler(tmp_path: Path) -> None:
    rows = run_bench(
        "bench_followups.py", tmp_path / "results.json", "--databases", databases(),
        "--count", "12",
    )  # fmt: skip
    names = [r["name"] for r in rows]
    assert "due follow-ups, sqlite, 12: ours vs APScheduler jobs inserting a row" in names
    assert "due follow-ups, sqlite, 12: ours vs APScheduler jobs doing nothing" in names
    targets = {r["name"]: r["target"] for r in rows}
    assert targets["due follow-ups, sqlite, 12: ours vs APScheduler jobs inserting a row"] == (
        "ratio >= 10"
    )


@pytest.mark.skipif(not POSTGRES, reason='PostgreSQL: eval "$(bash .ci/postgres.sh)" first')
def test_workers_benchmark_compares_processes_on_postgresql(tmp_path: Path) -> None:
    rows = run_bench(
        "bench_workers.py", tmp_path / "results.json", "--processes", "1,2", "--contacts", "4"
    )
    cores = os.cpu_count()
    assert [r["name"] for r in rows] == [
        f"worker processes on PostgreSQL, 16 events: most the cores allow vs 1 ({cores} cores;"
        " all cores / cores busy with 1 process)",
        f"worker processes on PostgreSQL, 16 events: 2 vs 1 ({cores} cores)",
    ]
    assert {r["bench"] for r in rows} == {"workers"}
    # Some core was busy while one process decided, and no more than all of them.
    assert rows[0]["value"] >= 1.0
