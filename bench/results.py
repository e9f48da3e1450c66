"""The benchmarks' shared results: figures, a baseline from the same run, a target.

Every benchmark (bench/bench_*.py) measures its own figure and, in the same run
on the same machine, a baseline doing the same job (ahocorasick-rs, a bare
Flask endpoint, APScheduler's job store...). Absolute numbers move with the
machine and its load; the ratio of two numbers measured side by side moves far
less, so targets are stated on ratios wherever the issue gives one.

A benchmark builds a `Results`, adds one `Figure` per measured number, prints
the table and writes it: `bench/results.json` is a list of objects with
`name`, `value`, `unit`, `baseline`, `ratio`, `target` and `met` (plus `bench`,
`baseline_name`, `quick`, `load` and `measured_at`). Writing merges: the
figures of other benchmarks already in the file are kept, those of this one
are replaced, so `make bench` builds the file one benchmark at a time.

`target` is a string such as "ratio <= 1.0" or "value <= 300": the bound is on
the ratio (value / baseline) or on the value itself; `met` is whether it held
in this run, or null for a figure given for information only.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_PATH = Path(__file__).resolve().parent / "results.json"

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}


@dataclass(frozen=True)
class Target:
    """A bound on a figure's ratio to its baseline, or on its value."""

    on: str  # "ratio" or "value"
    op: str  # one of _OPS
    bound: float

    def __post_init__(self) -> None:
        if self.on not in ("ratio", "value") or self.op not in _OPS:
            raise ValueError(f"bad target: {self.on} {self.op} {self.bound}")

    def __str__(self) -> str:
        return f"{self.on} {self.op} {self.bound:g}"

    def met(self, value: float, ratio: float | None) -> bool | None:
        measured = value if self.on == "value" else ratio
        return None if measured is None else _OPS[self.op](measured, self.bound)

    @classmethod
    def parse(cls, text: str) -> Target:
        """ "ratio <= 1.5" -> Target("ratio", "<=", 1.5)."""
        on, op, bound = text.split()
        return cls(on, op, float(bound))


def ratio_at_most(bound: float) -> Target:
    return Target("ratio", "<=", bound)


def ratio_at_least(bound: float) -> Target:
    return Target("ratio", ">=", bound)


def value_at_most(bound: float) -> Target:
    return Target("value", "<=", bound)


@dataclass(frozen=True)
class Figure:
    """One measured number, as written to results.json."""

    name: str
    value: float
    unit: str
    baseline: float | None
    ratio: float | None
    target: str | None
    met: bool | None
    bench: str
    baseline_name: str | None
    quick: bool
    load: float
    measured_at: str


@dataclass
class Results:
    """The figures of one benchmark run."""

    bench: str
    quick: bool = False
    figures: list[Figure] = field(default_factory=list)

    def add(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        baseline: float | None = None,
        baseline_name: str | None = None,
        target: Target | None = None,
    ) -> Figure:
        """Record `value` (and its ratio to `baseline`, measured in the same run)."""
        ratio = None if baseline is None or baseline == 0 else value / baseline
        figure = Figure(
            name=name,
            value=value,
            unit=unit,
            baseline=baseline,
            ratio=ratio,
            target=None if target is None else str(target),
            met=None if target is None else target.met(value, ratio),
            bench=self.bench,
            baseline_name=baseline_name,
            quick=self.quick,
            load=round(os.getloadavg()[0], 2),
            measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        self.figures.append(figure)
        return figure

    def table(self) -> str:
        """The figures as a fixed-width table, one line each."""
        lines = [
            f"{'figure':<58} {'value':>11} {'unit':<8} {'baseline':>11} {'ratio':>8}"
            f"  {'target':<14} met"
        ]
        for f in self.figures:
            met = {True: "yes", False: "NO", None: "-"}[f.met]
            lines.append(
                f"{f.name:<58} {_num(f.value):>11} {f.unit:<8} {_num(f.baseline):>11}"
                f" {_num(f.ratio):>8}  {f.target or '-':<14} {met}"
            )
        return "\n".join(lines)

    def write(self, path: Path = RESULTS_PATH) -> None:
        """Merge into `path`: other benchmarks' figures stay, this one's are replaced."""
        kept = [r for r in read(path) if r.get("bench") != self.bench]
        rows = kept + [asdict(f) for f in self.figures]
        path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read(path: Path = RESULTS_PATH) -> list[dict[str, Any]]:
    """The figures in `path` ([] if there is no such file yet)."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a list of figures")
    return rows


def arguments(description: str) -> argparse.ArgumentParser:
    """The options every benchmark takes: --quick and --json."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="smaller and shorter (make bench-quick)"
    )
    parser.add_argument(
        "--json", type=Path, default=RESULTS_PATH, help=f"results file (default {RESULTS_PATH})"
    )
    return parser


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0 or 0.01 <= abs(x) < 1e6:
        return f"{x:,.3g}" if abs(x) < 100 else f"{x:,.0f}"
    return f"{x:.2e}"
