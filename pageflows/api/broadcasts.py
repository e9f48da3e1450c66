"""Broadcasts over the API: list, preview (a dry run), send, report, retry.

Every route takes `?page=<page id>` (default: the only, or first, page). The
work is `pageflows.service.broadcasts` (shared with `pageflows broadcast`);
here it becomes JSON: an unknown broadcast is a 404 listing the known ones, a
second send a 409 pointing at the report.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from pageflows.api.context import ApiContext, page_or_404
from pageflows.api.errors import ApiError
from pageflows.rules.compile import Program
from pageflows.service import broadcasts
from pageflows.service.broadcast_preview import preview
from pageflows.service.broadcast_report import report
from pageflows.service.broadcasts import BroadcastError
from pageflows.service.config import PageConfig


def register(blueprint: Blueprint, context: ApiContext) -> None:
    """Add the broadcast routes to the /api blueprint."""

    def page_and_program() -> tuple[PageConfig, Program]:
        page = page_or_404(context)
        program = context.programs().get(page.id)
        if program is None:
            raise ApiError(404, f"no flows are loaded for page {page.id}", page=page.id)
        return page, program

    def refused(exc: BroadcastError) -> ApiError:
        return ApiError(exc.status, exc.error, **exc.details)

    @blueprint.get("/broadcasts")
    def broadcasts_list() -> Response:
        """Every broadcast in the page's flows, its schedule and its run."""
        page, program = page_and_program()
        now = context.clock.now()
        listed = broadcasts.list_broadcasts(context.engine, page.id, program, now)
        return jsonify(page=page.id, broadcasts=listed)

    @blueprint.get("/broadcasts/<name>/preview")
    def broadcasts_preview(name: str) -> Response:
        """What `send` would do now: by mode, skipped by reason, with sample contacts."""
        page, program = page_and_program()
        try:
            broadcasts.known(program, name)
        except BroadcastError as exc:
            raise refused(exc) from None
        return jsonify(preview(context.engine, page, program, name, context.clock.now()))

    @blueprint.post("/broadcasts/<name>/send")
    def broadcasts_send(name: str) -> tuple[Response, int]:
        """Start the run now; the worker decides and sends, paced by the page's rate."""
        page, program = page_and_program()
        now = context.clock.now()
        try:
            run = broadcasts.start(context.engine, page.id, program, name, now)
        except BroadcastError as exc:
            raise refused(exc) from None
        broadcasts.enumerate_runs(context.engine, page.id, now)
        answer: dict[str, Any] = {
            "broadcast": name,
            "page": page.id,
            "run": broadcasts.run_json(run),
            "report": f"/api/broadcasts/{name}/report",
        }
        return jsonify(answer), 202

    @blueprint.get("/broadcasts/<name>/report")
    def broadcasts_report(name: str) -> Response:
        """Per contact, its latest message of the broadcast: sent, delivered, read, failed..."""
        page, program = page_and_program()
        try:
            broadcasts.known(program, name)
            return jsonify(report(context.engine, page.id, name))
        except BroadcastError as exc:
            raise refused(exc) from None

    @blueprint.post("/broadcasts/<name>/retry")
    def broadcasts_retry(name: str) -> tuple[Response, int]:
        """The failed contacts decided again through today's policy."""
        page, program = page_and_program()
        try:
            count = broadcasts.retry(context.engine, page.id, program, name, context.clock.now())
        except BroadcastError as exc:
            raise refused(exc) from None
        return jsonify(broadcast=name, page=page.id, retrying=count), 202
