"""Every flow file in the repository (examples, golden cases with their mistakes, fixtures)
is drawn: both drawings are well formed, every quick reply or goto that leads to a step
of the flow is an arrow to that step's card, and every message carries its place for
the numbers the console puts on it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from pageflows.cli import main
from pageflows.engine.policy import check_tag
from pageflows.rules.diagram import MESSAGE_ROWS, flow_diagram
from pageflows.rules.diagram_mermaid import node_id, to_mermaid
from pageflows.rules.diagram_svg import to_svg
from pageflows.rules.load import load_paths, load_texts

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p
    for folder in ("examples", "tests/golden/cases", "tests/fixtures")
    for p in (ROOT / folder).rglob("*.flow")
)
SVG = "{http://www.w3.org/2000/svg}"


def test_there_are_flows_to_draw() -> None:
    assert len(FILES) > 40


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_flow_is_drawn_well_formed(path: Path) -> None:
    result = load_paths([str(path)], date(2026, 11, 28), check_tag)
    for flow in result.flows:
        diagram = flow_diagram(flow)
        assert [lane.title.split(" ")[0] for lane in diagram.lanes].count("step") == len(flow.steps)
        lanes = {lane.id for lane in diagram.lanes}
        for edge in diagram.edges:
            step = edge.target.rsplit(":", 1)[-1]
            assert (
                edge.target in lanes
                or edge.target.startswith("elsewhere:")
                or flow.may_define(step)
                or flow.step(step) is None  # a goto to a missing step: PF201 says so
            )
        for lane in diagram.lanes:
            for row in lane.rows:
                assert (row.site is not None) == (row.kind in MESSAGE_ROWS)
        counts = {row.site: {"sent": 3, "replied": 1} for lane in diagram.lanes
                  for row in lane.rows if row.site}  # fmt: skip
        svg = ElementTree.fromstring(to_svg(diagram, counts))
        assert svg.tag == f"{SVG}svg"
        assert len(svg.findall(f".//{SVG}g[@class]")) >= len(diagram.lanes)
        mermaid = to_mermaid(diagram)
        assert mermaid.startswith("flowchart TD\n")
        for lane in diagram.lanes:
            assert f"subgraph {node_id(lane.id)}[" in mermaid
        assert mermaid.count("subgraph ") == mermaid.count("\n    end")


def test_a_quick_reply_to_a_step_is_an_arrow_to_its_card() -> None:
    flow = (
        'on keyword "hi":\n'
        '    send "Book?"\n'
        '        quick "Yes" -> yes\n'
        '        quick "Later" -> tag "later"\n'
        "step yes:\n"
        "    after 1d unless replied:\n"
        '        send "Still there?"\n'
    )
    loaded = load_texts({"t.flow": flow.encode()}, date(2026, 11, 28), check_tag)
    diagram = flow_diagram(loaded.flows[0])
    trigger, step = diagram.lanes
    assert trigger.title == 'on keyword "hi"' and step.title == "step yes"
    (send,) = trigger.rows
    assert [(t.title, t.does, t.target) for t in send.taps] == [
        ("Yes", "-> yes", "t:step:yes"),
        ("Later", "tag later", None),
    ]
    assert [(e.source, e.target, e.label) for e in diagram.edges] == [(send.id, step.id, "Yes")]
    after, follow = step.rows
    assert (after.text, follow.depth, follow.site) == ("after 1d unless replied", 1, "t:7:9")
    assert re.search(r'-->\|"Yes"\| t_step_yes', to_mermaid(diagram))


def test_graph_refuses_a_folder_and_says_which_files_it_holds() -> None:
    run = CliRunner().invoke(main, ["graph", str(ROOT / "examples" / "restaurant")])
    assert run.exit_code == 2
    assert "is a folder: name one of its flow files (booking.flow" in run.output


def test_graph_of_a_broken_flow_prints_its_errors_and_draws_what_was_read(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.flow"
    broken.write_text('on keyword "hi":\n    send "Hello"\nstep later:\n    sendd "x"\n')
    run = CliRunner().invoke(main, ["graph", str(broken), "--format", "mermaid"])
    assert run.exit_code == 1
    assert '"sendd" is not a word of the flow language' in run.stderr
    assert "the diagram shows what could be read" in run.stderr
    assert run.stdout.startswith("flowchart TD") and "Hello" in run.stdout


def test_graph_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "booking.svg"
    flow = str(ROOT / "examples" / "restaurant" / "booking.flow")
    run = CliRunner().invoke(main, ["graph", flow, "-o", str(out)])
    assert run.exit_code == 0 and f"wrote {out} (svg)" in run.stderr
    assert ElementTree.parse(out).getroot().tag == f"{SVG}svg"
