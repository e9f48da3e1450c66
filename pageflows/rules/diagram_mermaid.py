"""A flow's diagram as Mermaid text (`pageflows graph FLOW --format mermaid`).

Mermaid draws in GitHub, GitLab and most wikis: a lane is a subgraph, its rows a
chain of nodes in order, a quick reply or goto an edge to the step's subgraph.
Labels are quoted; quotes inside become #quot; (Mermaid's escape).
"""

from __future__ import annotations

import re

from pageflows.rules.diagram import Diagram, Row

SHAPES = {"ask": ('{{"', '"}}'), "after": ('(["', '"])'), "if": ('{"', '"}'), "split": ('{"', '"}')}
DEFAULT_SHAPE = ('["', '"]')


def node_id(raw: str) -> str:
    """Mermaid ids are words: anything else becomes _ (ids stay unique: rows are numbered)."""
    return re.sub(r"\W", "_", raw)


def label(text: str) -> str:
    return text.replace('"', "#quot;").replace("\n", " ")


def row_label(row: Row, counts: dict[str, dict[str, int]] | None) -> str:
    text = label(row.text)
    for tap in row.taps:
        text += f"<br/>&#9656; {label(tap.title)}: {label(tap.does)}"
    numbers = counts.get(row.site) if counts and row.site else None
    if numbers:
        text += "<br/><small>" + " · ".join(f"{k} {v}" for k, v in numbers.items()) + "</small>"
    return text


def to_mermaid(diagram: Diagram, counts: dict[str, dict[str, int]] | None = None) -> str:
    lines = ["flowchart TD"]
    for lane in diagram.lanes:
        lines.append(f'    subgraph {node_id(lane.id)}["{label(lane.title)}"]')
        lines.append("        direction TB")
        previous = None
        for row in lane.rows:
            start, end = SHAPES.get(row.kind, DEFAULT_SHAPE)
            indent = "&nbsp;&nbsp;" * row.depth
            lines.append(f"        {node_id(row.id)}{start}{indent}{row_label(row, counts)}{end}")
            if previous is not None:
                lines.append(f"        {node_id(previous)} --> {node_id(row.id)}")
            previous = row.id
        if not lane.rows:
            lines.append(f'        {node_id(lane.id)}_empty["(nothing)"]')
        lines.append("    end")
    for name in diagram.elsewhere:
        lines.append(f'    {node_id("elsewhere:" + name)}[/"{label(name)}"/]')
    for edge in diagram.edges:
        arrow = "-.->" if edge.kind == "no_answer" else "-->"
        lines.append(
            f'    {node_id(edge.source)} {arrow}|"{label(edge.label)}"| {node_id(edge.target)}'
        )
    return "\n".join(lines) + "\n"
