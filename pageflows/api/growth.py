"""Links, QR codes, arrivals and per-step numbers: where contacts come from, what they do.

GET /api/links            every ref in the flows with its m.me link and arrivals by way
GET /api/qr/<ref>.png|svg a QR code of the ref's link (?size=N pixels, 64-4096)
GET /api/growth           arrivals per ref and way (link, qr, ad, comment, direct), ref missing
GET /api/stats            per flow step: sent, delivered, read, clicked, replied (?flow=)
/growth and /stats take ?since= and ?until= (ISO times with a zone).
Each takes ?page=ID (default: the only, or first, configured page).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from pageflows.api.context import ApiContext, page_or_404
from pageflows.api.errors import ApiError
from pageflows.rules.compile import Program
from pageflows.service import arrivals, links, step_stats
from pageflows.service.config import PageConfig


def register(blueprint: Blueprint, context: ApiContext) -> None:
    def page() -> PageConfig:
        return page_or_404(context)

    def program(of: PageConfig) -> Program:
        found = context.programs().get(of.id)
        if found is None:
            raise ApiError(
                409,
                f"the flows of page {of.id} are not loaded here (the API reads the flows"
                " `pageflows serve` runs; check them with `pageflows check`)",
            )
        return found

    def moment(name: str) -> datetime | None:
        raw = request.args.get(name)
        if raw is None:
            return None
        # A "+02:00" written in a URL without %2B arrives as " 02:00": read it as meant.
        raw = re.sub(r" (\d\d:?\d\d)$", r"+\1", raw)
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise ApiError(400, f"{name} must be an ISO date or time", given=raw) from None
        if value.tzinfo is None:
            raise ApiError(400, f"{name} needs a time zone, such as 2026-11-01T00:00Z", given=raw)
        return value

    def period() -> tuple[datetime | None, datetime | None]:
        since, until = moment("since"), moment("until")
        if since is not None and until is not None and since >= until:
            raise ApiError(400, "since must be before until", since=str(since), until=str(until))
        return since, until

    @blueprint.get("/links")
    def links_route() -> Response:
        of = page()
        rows = links.link_rows(of, program(of))
        counted = arrivals.counts(context.engine, of.id)
        for row in rows:
            row["arrivals"] = counted.ref(row["ref"]).by_via
        body: dict[str, Any] = {"page": of.id, "username": of.username, "refs": rows}
        if not of.username:
            body["missing_username"] = links.HOW_TO_SET_USERNAME
        return jsonify(body)

    def qr(ref: str, fmt: links.QrFormat) -> Response:
        of = page()
        raw_size = request.args.get("size", str(links.QR_SIZE_DEFAULT))
        try:
            size = links.check_size(int(raw_size))
        except ValueError:
            raise ApiError(
                400,
                f"size must be a whole number of pixels, {links.QR_SIZE_MIN} to"
                f" {links.QR_SIZE_MAX}",
                given=raw_size,
            ) from None
        try:
            found = links.find_ref(program(of), ref)
        except LookupError as exc:
            raise ApiError(404, str(exc), ref=ref) from None
        try:
            url = links.mme_link(links.username_of(of), found.ref, qr=True)
        except links.LinkError as exc:
            raise ApiError(409, str(exc), ref=ref) from None
        response = Response(links.qr_image(url, fmt, size), mimetype=links.MEDIA_TYPES[fmt])
        response.headers["Content-Disposition"] = (
            f'inline; filename="qr-{_file_safe(found.ref)}.{fmt}"'
        )
        response.headers["X-Pageflows-Link"] = url
        return response

    @blueprint.get("/qr/<path:ref>.png")
    def qr_png(ref: str) -> Response:
        return qr(ref, "png")

    @blueprint.get("/qr/<path:ref>.svg")
    def qr_svg(ref: str) -> Response:
        return qr(ref, "svg")

    @blueprint.get("/growth")
    def growth() -> Response:
        of = page()
        counted = arrivals.counts(context.engine, of.id, *period())
        return jsonify(counted.as_json())

    @blueprint.get("/stats")
    def stats() -> Response:
        of = page()
        flow = request.args.get("flow") or None
        compiled = program(of)
        if flow is not None and flow not in compiled.flows:
            raise ApiError(404, f"no flow named {flow!r}", flows=sorted(compiled.flows))
        between = step_stats.Period(*period())
        return jsonify(step_stats.step_stats(context.engine, of.id, compiled, flow, between))


def _file_safe(ref: str) -> str:
    """The ref as a file name: what the CLI writes (qr-REF.png), unsafe characters as _."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", ref)[:200]
