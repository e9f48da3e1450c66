"""GET /api: what the API offers; GET /api/status: pages, backlog, broadcasts and workers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from pageflows.api.context import ApiContext, page_or_404
from pageflows.service import status as service_status


def register(blueprint: Blueprint, context: ApiContext) -> None:
    @blueprint.get("/")
    def index() -> Response:
        """Every route of the API, so a person (or the console) can find its way."""
        routes = sorted(
            {
                (rule.rule, ",".join(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})))
                for rule in current_app.url_map.iter_rules()
                if rule.endpoint.startswith("api.")
            }
        )
        return jsonify(routes=[{"path": path, "methods": methods} for path, methods in routes])

    @blueprint.get("/status")
    def status() -> Response:
        """What `pageflows status` shows: each page (paused and what to do), the backlog,
        failed messages, follow-ups, running broadcasts and each worker's heartbeat."""
        pages = context.settings.pages
        if request.args.get("page"):  # one page's report; an unknown one is a 404
            pages = (page_or_404(context),)
        report: dict[str, Any] = service_status.report(context.engine, pages, context.clock.now())
        return jsonify(report)
