"""The ingest benchmark runs end to end: it serves, drives, and finds in the inbox exactly the
events that were answered 200 (it exits 1 otherwise). Figures are written, never judged here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ingest_benchmark_loses_nothing_and_writes_its_figures(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    script = str(ROOT / "bench" / "bench_ingest.py")
    run = subprocess.run(
        [sys.executable, script, "--quick", "--no-postgres", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "events answered 200" in run.stdout
    rows = json.loads(path.read_text(encoding="utf-8"))
    names = {r["name"] for r in rows}
    assert "ingest, SQLite: events/s, ours vs bare Flask" in names
    assert "ingest, SQLite: gunicorn CPU per event, ours vs bare Flask" in names
    assert all(r["bench"] == "ingest" and r["value"] > 0 for r in rows)
