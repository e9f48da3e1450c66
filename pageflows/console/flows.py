"""The Flows page: each flow drawn, the findings of `pageflows check` on it, and per step
the funnel (sent, delivered, read, clicked, replied).

The diagram is rules/diagram_svg.py's, the same `pageflows graph FLOW` draws, with
the numbers of service/step_stats.py (what GET /api/stats answers) on each message
and each card. The flows are read again on each visit, so the findings are those
of the files as they are now; the numbers are of the messages sent so far.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Blueprint, abort, render_template, request
from markupsafe import Markup

from pageflows.api.context import ApiContext
from pageflows.rules.diagram import flow_diagram
from pageflows.rules.diagram_svg import to_svg
from pageflows.rules.report import render_text
from pageflows.service import step_stats
from pageflows.service.config import PageConfig

NAV = ("console.flows", "Flows")
PERIODS = {"7": timedelta(days=7), "30": timedelta(days=30), "all": None}


def _page(context: ApiContext) -> PageConfig:
    page = context.page(request.args.get("page") or None)
    if page is None:
        abort(404, "No page with that id is configured here.")
    return page


def _period(context: ApiContext) -> tuple[str, step_stats.Period]:
    chosen = request.args.get("days", "all")
    span = PERIODS.get(chosen)
    if chosen not in PERIODS:
        chosen = "all"
    since = context.clock.now() - span if span is not None else None
    return chosen, step_stats.Period(since=since)


def register(blueprint: Blueprint, context: ApiContext) -> None:
    @blueprint.get("/flows")
    def flows() -> str:
        page = _page(context)
        result = context.load_flows(page)
        rows = []
        for flow in result.flows if result else ():
            mine = [d for d in result.diagnostics if Path(d.span.path) == Path(flow.path)]  # type: ignore[union-attr]
            rows.append(
                {
                    "name": flow.name,
                    "path": flow.path,
                    "triggers": len(flow.triggers),
                    "steps": len(flow.steps),
                    "broadcasts": len(flow.broadcasts),
                    "errors": sum(d.is_error for d in mine),
                    "warnings": sum(not d.is_error for d in mine),
                }
            )
        return render_template("flows.html", page=page, flows=rows, loaded=result is not None)

    @blueprint.get("/flows/<name>")
    def flow(name: str) -> str:
        page = _page(context)
        result = context.load_flows(page)
        found = next((f for f in result.flows if f.name == name), None) if result else None
        if result is None or found is None:
            abort(404, f'No flow called "{name}" in this page\'s folder.')
        findings = tuple(d for d in result.diagnostics if Path(d.span.path) == Path(found.path))
        chosen, period = _period(context)
        program = result.program or context.programs().get(page.id)
        stats = (
            step_stats.step_stats(context.engine, page.id, program, name, period)
            if program is not None
            else {"steps": []}
        )
        counts = {
            message["origin"]: {k: message[k] for k in step_stats.COUNTS}
            for step in stats["steps"]
            for message in step["messages"]
        }
        diagram = flow_diagram(found)
        return render_template(
            "flow.html",
            page=page,
            flow=found,
            svg=Markup(to_svg(diagram, counts)),  # our own SVG, its texts escaped
            findings=render_text(findings, result.sources) if findings else "",
            errors=sum(d.is_error for d in findings),
            warnings=sum(not d.is_error for d in findings),
            steps=stats["steps"],
            days=chosen,
            periods=list(PERIODS),
        )
