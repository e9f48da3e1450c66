"""`pageflows graph` on the example flows, compared with the drawings kept in graphs/.

Mermaid text and SVG are both deterministic, so a change to the drawing shows as
a diff. After changing the drawing on purpose, rewrite them with

    PAGEFLOWS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden/test_graph_golden.py

and look at the SVGs in a browser before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pageflows.cli import main

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = Path(__file__).resolve().parent / "graphs"
UPDATE = os.environ.get("PAGEFLOWS_UPDATE_GOLDEN") == "1"
FLOWS = ["examples/restaurant/booking.flow", "examples/restaurant/welcome.flow",
         "examples/flows/lead_capture.flow"]  # fmt: skip


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize(("fmt", "suffix"), [("mermaid", "mmd"), ("svg", "svg")])
def test_each_example_flow_is_drawn_as_kept(
    flow: str, fmt: str, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    run = CliRunner().invoke(main, ["graph", flow, "--format", fmt])
    assert run.exit_code == 0, run.output
    expected = GRAPHS / f"{Path(flow).stem}.{suffix}"
    if UPDATE:
        expected.write_text(run.stdout)
    assert run.stdout == expected.read_text()
