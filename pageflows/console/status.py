"""The Status page: pages, backlog, failures, paused pages, with what to do.

The same report as `pageflows status` and GET /api/status (service/status.py),
drawn for a person: a paused page comes first with the way out.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from pageflows.api.context import ApiContext
from pageflows.service import status as service_status

NAV = ("console.status", "Status")


def register(blueprint: Blueprint, context: ApiContext) -> None:
    @blueprint.get("/status")
    def status() -> str:
        report = service_status.report(context.engine, context.settings.pages, context.clock.now())
        report["pages"].sort(key=lambda p: p["state"] != "paused")
        return render_template("status.html", report=report)
