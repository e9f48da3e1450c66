"""GET /api: what the API offers; GET /api/status: pages, backlog and workers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from pageflows.api.context import ApiContext
from pageflows.service import health


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
        report: dict[str, Any] = health.report(context.engine, context.clock.now())
        report["pages"] = [
            {"id": p.id, "name": p.name, "human_agent": p.human_agent, "username": p.username}
            for p in context.settings.pages
        ]
        return jsonify(report)
