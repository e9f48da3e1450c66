"""The Growth page: every ref with its m.me link and QR codes, and who arrived how.

The same numbers as `pageflows links`, GET /api/links and /api/growth: the
refs come from the flows (service/links.py), the arrivals from the database
(service/arrivals.py), over a period the person picks. QR codes are served
here too, behind the console's sign-in (the API's /api/qr wants a bearer
token a browser does not have), in PNG and SVG at a few sizes, each as a
download named like the CLI's file (qr-REF.png).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from pageflows.api.context import ApiContext
from pageflows.service import arrivals, links
from pageflows.service.config import PageConfig

NAV = ("console.growth", "Growth")
# The choices of the period picker: (value in the address, label, days back or None).
PERIODS: tuple[tuple[str, str, int | None], ...] = (
    ("7d", "Last 7 days", 7),
    ("30d", "Last 30 days", 30),
    ("all", "All time", None),
)
DEFAULT_PERIOD = "30d"
QR_SIZES = (256, 512, 1024)  # pixels: a screen, a flyer, a poster


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    since: datetime | None


def period_of(key: str | None, now: datetime) -> Period:
    """The picked period, from now back; an unknown choice is the default, not an error."""
    chosen = next((p for p in PERIODS if p[0] == key), None)
    if chosen is None:
        chosen = next(p for p in PERIODS if p[0] == DEFAULT_PERIOD)
    value, label, days = chosen
    return Period(value, label, None if days is None else now - timedelta(days=days))


def file_name(ref: str, fmt: str, size: int) -> str:
    """What the download is saved as: the CLI's qr-REF name, with its size."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", ref)[:200]
    return f"qr-{safe}-{size}.{fmt}"


def growth_view(context: ApiContext, page: PageConfig, period: Period) -> dict[str, Any]:
    """The page's rows: each flow ref with its link and arrivals; refs that arrived but no
    flow names (a pattern's match, an old campaign); arrivals without a ref."""
    program = context.programs().get(page.id)
    counted = arrivals.counts(context.engine, page.id, period.since)
    rows = links.link_rows(page, program) if program is not None else []
    for row in rows:
        found = counted.ref(row["ref"])
        row["arrivals"] = found.by_via
        row["total"] = found.total
    named = {row["ref"] for row in rows}
    others = [r for r in counted.refs if r.ref not in named]
    return {
        "loaded": program is not None,
        "rows": rows,
        "others": others,
        "without_ref": counted.without_ref,
        "without_ref_total": sum(counted.without_ref.values()),
        "ref_missing": counted.ref_missing,
        "total": sum(r.total for r in counted.refs) + sum(counted.without_ref.values()),
    }


def register(blueprint: Blueprint, context: ApiContext) -> None:
    def page() -> PageConfig:
        found = context.page(request.args.get("page") or None)
        if found is None:
            abort(404)
        return found

    @blueprint.get("/growth")
    def growth() -> str:
        of = page()
        period = period_of(request.args.get("period"), context.clock.now())
        return render_template(
            "growth.html",
            page=of,
            period=period,
            periods=PERIODS,
            vias=arrivals.VIAS,
            sizes=QR_SIZES,
            how_to_set_username=links.HOW_TO_SET_USERNAME,
            **growth_view(context, of, period),
        )

    def qr(ref: str, fmt: links.QrFormat) -> Response:
        of = page()
        program = context.programs().get(of.id)
        raw_size = request.args.get("size", str(links.QR_SIZE_DEFAULT))
        try:
            size = links.check_size(int(raw_size))
        except ValueError:
            why = f"size must be {links.QR_SIZE_MIN} to {links.QR_SIZE_MAX} pixels; got {raw_size}"
            return Response(f"No QR code: {why}\n", status=400, mimetype="text/plain")
        try:
            if program is None:
                raise LookupError("the flows are not loaded")
            found = links.find_ref(program, ref)
            url = links.mme_link(links.username_of(of), found.ref, qr=True)
        except (ValueError, LookupError) as exc:  # LinkError is a ValueError
            return Response(f"No QR code: {exc}\n", status=404, mimetype="text/plain")
        answer = Response(links.qr_image(url, fmt, size), mimetype=links.MEDIA_TYPES[fmt])
        how = "attachment" if request.args.get("download") else "inline"
        answer.headers["Content-Disposition"] = (
            f'{how}; filename="{file_name(found.ref, fmt, size)}"'
        )
        answer.headers["X-Pageflows-Link"] = url
        return answer

    @blueprint.get("/growth/qr/<path:ref>.png")
    def growth_qr_png(ref: str) -> Response:
        return qr(ref, "png")

    @blueprint.get("/growth/qr/<path:ref>.svg")
    def growth_qr_svg(ref: str) -> Response:
        return qr(ref, "svg")
