"""The benchmark harness (bench/results.py) and a tiny run of the matching benchmark.

No timing is asserted here (the machine is shared; bench/ measures, tests check):
only that results.json holds what the issue asks for, that a rerun replaces a
benchmark's own figures and keeps the others', and that the matching benchmark's
index and its ahocorasick-rs baseline give the same answers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.results import Results, Target, ratio_at_most, read, value_at_most  # noqa: E402

KEYS = {"name", "value", "unit", "baseline", "ratio", "target", "met"}


def test_ratio_and_target_are_computed(tmp_path: Path) -> None:
    results = Results("demo")
    fast = results.add("a", 2.0, "µs", baseline=4.0, target=ratio_at_most(1.0))
    slow = results.add("b", 6.0, "µs", baseline=4.0, target=ratio_at_most(1.0))
    small = results.add("c", 250.0, "bytes", baseline=234.0, target=value_at_most(300))
    info = results.add("d", 1.0, "s")
    assert (fast.ratio, fast.met, fast.target) == (0.5, True, "ratio <= 1")
    assert (slow.ratio, slow.met) == (1.5, False)
    assert small.met is True  # the bound is on the value, whatever the ratio
    assert (info.baseline, info.ratio, info.target, info.met) == (None, None, None, None)
    assert "NO" in results.table().splitlines()[2]


def test_write_merges_by_benchmark(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    first = Results("one")
    first.add("x", 1.0, "s", baseline=2.0)
    first.add("gone", 1.0, "s")
    first.write(path)
    other = Results("two")
    other.add("y", 3.0, "s")
    other.write(path)
    again = Results("one")
    again.add("x", 5.0, "s", baseline=2.0)
    again.write(path)
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert [(r["bench"], r["name"], r["value"]) for r in rows] == [
        ("two", "y", 3.0),
        ("one", "x", 5.0),
    ]
    assert all(row.keys() >= KEYS for row in rows)
    assert read(tmp_path / "missing.json") == []


def test_target_parses_its_own_spelling() -> None:
    for target in (ratio_at_most(1.5), value_at_most(300), Target("ratio", ">=", 0.8)):
        assert Target.parse(str(target)) == target
    with pytest.raises(ValueError):
        Target("speed", "<=", 1)


def test_matching_benchmark_writes_its_figures(tmp_path: Path) -> None:
    pytest.importorskip("ahocorasick_rs")
    path = tmp_path / "results.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_matching.py"),
            "--quick",
            "--sizes",
            "10,60",
            "--memory-size",
            "300",
            "--json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Exit 1 would mean our index and the ahocorasick-rs baseline disagreed somewhere.
    assert run.returncode == 0, run.stdout + run.stderr
    rows = json.loads(path.read_text(encoding="utf-8"))
    names = [r["name"] for r in rows]
    assert "match, 60 keywords: ours vs ahocorasick-rs on folded text" in names
    assert "memory, 300 keywords: ours (tracemalloc) per keyword" in names
    for row in rows:
        assert row.keys() >= KEYS
        assert row["bench"] == "matching"
        # A few hundred keywords may not grow the resident set by a page: >= 0 there.
        assert row["value"] > 0 or "resident set" in row["name"]
        if row["baseline"] is not None:
            assert row["ratio"] == pytest.approx(row["value"] / row["baseline"])
        assert (row["met"] is None) == (row["target"] is None)
