"""issue 13: A. The `check` benchmark, run tiny: its flows check as generated, its rows are written.

No timing is asserted (bench/ measures, tests check). What is: the generated
folders are what the benchmark says they are (the clean one checks with no
finding, the other with exactly one warning per trigger, else the run fails),
and results.json holds every figure with its baseline and ratio.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bench_check import flow_text  # noqa: E402

KEYS = {"name", "value", "unit", "baseline", "ratio", "target", "met"}


def test_generated_flows_are_seeded_and_realistic() -> None:
    text = flow_text(3, 50, findings=False)
    assert text == flow_text(3, 50, findings=False)
    assert text.count("\non keyword ") == 50
    assert "quick " in text and "\nstep " in text and "on ref " in text and "\n# " in text
    with_findings = flow_text(3, 50, findings=True)
    assert with_findings.count("{contact.first_name}") == 50


def test_check_benchmark_writes_its_figures(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_check.py"),
            "--quick",
            "--in-process",
            "--findings",
            "--sizes",
            "20,40",
            "--json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Exit non-zero would mean a generated folder did not check as the benchmark expects.
    assert run.returncode == 0, run.stdout + run.stderr
    rows = json.loads(path.read_text(encoding="utf-8"))
    names = {r["name"] for r in rows}
    assert "check cli, 40 triggers, clean, vs Lark" in names
    assert "check in-process, 40 triggers, findings, vs Lark" in names
    assert "check cli, clean, 40 vs 20 triggers" in names
    for row in rows:
        assert row.keys() >= KEYS
        assert row["bench"] == "check"
        assert row["quick"] is True
        assert row["value"] > 0
        if row["baseline"] is not None:
            assert row["ratio"] == pytest.approx(row["value"] / row["baseline"])
        assert (row["met"] is None) == (row["target"] is None)
