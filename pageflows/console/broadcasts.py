"""The Broadcasts page: each broadcast's state, its preview, send, progress, report, retry.

The work is `pageflows.service.broadcasts` and its preview and report, as for
`pageflows broadcast` and /api/broadcasts; here it is drawn for a person. The
preview is the confirm step: the send button sits under who would get the
message and how, and the service still refuses a second send (with why). While
a run is going, a little script polls `/broadcasts/NAME/progress` (the report's
numbers as JSON) and updates them in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as Redirect

from pageflows.api.context import ApiContext
from pageflows.engine.render import preview as one_line
from pageflows.rules.compile import Program
from pageflows.service import broadcasts
from pageflows.service.broadcast_preview import preview
from pageflows.service.broadcast_report import report
from pageflows.service.broadcasts import BroadcastError
from pageflows.service.config import PageConfig

NAV = ("console.broadcasts", "Broadcasts")
GOING = (broadcasts.ENUMERATING, broadcasts.RUNNING)
STATE_WORDS = {
    broadcasts.ENUMERATING: "running",
    broadcasts.RUNNING: "running",
    broadcasts.DONE: "done",
    broadcasts.TOO_LATE: "too late",
}
PROGRESS_FIELDS = ("contacts", "decided", "pending", "queued", "sent", "delivered", "read")


def state_of(listed: dict[str, Any], now: datetime) -> dict[str, str]:
    """One broadcast as a badge and a line: not started, scheduled for, running, done, too
    late, or recurring with its next run."""
    run = listed["run"]
    recurring = "every" in listed
    if run is None:
        if recurring:
            return {"badge": "recurring", "line": listed["when"]}
        if datetime.fromisoformat(listed["send_at"]) > now:
            return {"badge": "scheduled", "line": f"scheduled for {listed['local_time']}"}
        return {"badge": "not started", "line": f"was due {listed['local_time']}; not sent"}
    word = STATE_WORDS.get(run["status"], run["status"])
    started = f"{datetime.fromisoformat(run['started_at']):%Y-%m-%d %H:%M} UTC"
    line = {
        "running": f"started {started} ({run['requested']}), {run['contacts']} contact(s)",
        "done": f"started {started} ({run['requested']}), {run['contacts']} contact(s)",
        "too late": "the schedule found it too late (the server was not running at its"
        " time) and did not send it; you may still send it",
    }.get(word, "")
    if recurring:
        line = f"{listed['when']}. Latest run, {listed.get('run_name') or ''}: {word}; {line}"
    return {"badge": word, "line": line}


def bubble(message: dict[str, Any] | None) -> dict[str, Any] | None:
    """A message as Messenger draws it: its text, its buttons, its quick-reply chips."""
    if message is None:
        return None
    if "text" in message:
        chips = [q.get("title", "") for q in message.get("quick_replies", [])]
        return {"text": message["text"], "buttons": [], "chips": chips}
    payload = message.get("attachment", {}).get("payload", {})
    kind = payload.get("template_type")
    if kind == "button":
        titles = [b.get("title", "") for b in payload.get("buttons", [])]
        return {"text": payload.get("text", ""), "buttons": titles, "chips": []}
    if kind == "notification_messages":
        return {"text": payload.get("title", ""), "buttons": ["Get messages"], "chips": []}
    return {"text": one_line(message), "buttons": [], "chips": []}


def progress_of(shown: dict[str, Any]) -> dict[str, Any]:
    """The report's numbers a running broadcast's page updates without a reload."""
    numbers = {key: shown[key] for key in PROGRESS_FIELDS}
    numbers["failed"] = shown["failed"]["count"]
    numbers["skipped"] = shown["skipped"]["count"]
    numbers["status"] = shown["run"]["status"]
    numbers["going"] = shown["run"]["status"] in GOING or bool(shown["pending"])
    return numbers


def register(blueprint: Blueprint, context: ApiContext) -> None:
    def page_and_program() -> tuple[PageConfig, Program | None]:
        page = context.page(request.args.get("page") or None)
        if page is None:
            abort(404)
        return page, context.programs().get(page.id)

    def listed_one(page: PageConfig, program: Program, name: str) -> dict[str, Any]:
        now = context.clock.now()
        for listed in broadcasts.list_broadcasts(context.engine, page.id, program, now):
            if listed["name"] == name:
                return {**listed, "state": state_of(listed, now)}
        abort(404, f'No broadcast called "{name}" in this page\'s flows.')

    def report_or_none(page: PageConfig, name: str) -> dict[str, Any] | None:
        try:
            return report(context.engine, page.id, name)
        except BroadcastError:  # it has not run: nothing to report yet
            return None

    def known(program: Program | None, name: str) -> Program:
        if program is None or broadcasts.base_name(name) not in program.broadcasts:
            abort(404, f'No broadcast called "{name}" in this page\'s flows.')
        return program

    def detail(name: str, refused: str | None = None, status: int = 200) -> tuple[str, int]:
        page, program = page_and_program()
        program = known(program, name)
        shown = report_or_none(page, name)
        return render_template(
            "broadcast.html",
            page=page,
            broadcast=listed_one(page, program, name),
            report=shown,
            progress=progress_of(shown) if shown else None,
            refused=refused,
            sent=request.args.get("sent"),
            retrying=request.args.get("retrying"),
        ), status

    @blueprint.get("/broadcasts", endpoint="broadcasts")
    def broadcasts_page() -> str:
        page, program = page_and_program()
        now = context.clock.now()
        listed = []
        if program is not None:
            for one in broadcasts.list_broadcasts(context.engine, page.id, program, now):
                going = one["run"] is not None and one["run"]["status"] in GOING
                shown = report_or_none(page, one["name"]) if going else None
                progress = progress_of(shown) if shown else None
                listed.append({**one, "state": state_of(one, now), "progress": progress})
        return render_template(
            "broadcasts.html", page=page, loaded=program is not None, broadcasts=listed
        )

    @blueprint.get("/broadcasts/<name>")
    def broadcast(name: str) -> tuple[str, int]:
        return detail(name)

    @blueprint.get("/broadcasts/<name>/preview")
    def broadcast_preview(name: str) -> str:
        page, program = page_and_program()
        program = known(program, name)
        shown = preview(context.engine, page, program, name, context.clock.now())
        return render_template(
            "broadcast_preview.html",
            page=page,
            broadcast=listed_one(page, program, name),
            preview=shown,
            bubble=bubble(shown["message"]),
        )

    @blueprint.post("/broadcasts/<name>/send")
    def broadcast_send(name: str) -> Redirect | tuple[str, int]:
        page, program = page_and_program()
        program = known(program, name)
        if request.form.get("confirm") != "yes":
            return detail(
                name,
                "Nothing was sent: send it from its preview, once you have read who would get it.",
                400,
            )
        now = context.clock.now()
        try:
            broadcasts.start(context.engine, page.id, program, name, now)
        except BroadcastError as exc:
            return detail(name, exc.error, exc.status)
        written = broadcasts.enumerate_runs(context.engine, page.id, now)
        return redirect(url_for("console.broadcast", name=name, sent=written, page=_page_arg()))

    @blueprint.get("/broadcasts/<name>/progress")
    def broadcast_progress(name: str) -> Response:
        page, program = page_and_program()
        known(program, name)
        shown = report_or_none(page, name)
        if shown is None:
            return jsonify(status=None, going=False)
        return jsonify(progress_of(shown))

    @blueprint.post("/broadcasts/<name>/retry")
    def broadcast_retry(name: str) -> Redirect | tuple[str, int]:
        page, program = page_and_program()
        program = known(program, name)
        try:
            count = broadcasts.retry(context.engine, page.id, program, name, context.clock.now())
        except BroadcastError as exc:
            return detail(name, exc.error, exc.status)
        return redirect(url_for("console.broadcast", name=name, retrying=count, page=_page_arg()))


def _page_arg() -> str | None:
    """Keep `?page=` across a redirect, when the person picked one (None: left out)."""
    return request.args.get("page") or None
