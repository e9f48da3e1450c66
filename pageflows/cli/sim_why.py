"""Why the bot stayed silent, for `pageflows simulator say/tap/...`.

The simulator sees only what reached Facebook; the reasons for silence (no trigger
matched, automation paused, a message skipped by the policy) are in pageflows' own
database. This reads that database directly, as `pageflows conversation` does (the
same `--config` / ./pageflows.toml / PAGEFLOWS_DATABASE_URL), rather than the operator
API, whose sandbox token changes each run and is printed only to the terminal of
`serve`. Without a database here, the simulator's own facts are all it says.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from pageflows.cli.operate import missing_sqlite_file
from pageflows.clock import SystemClock
from pageflows.service import silence
from pageflows.service.config import ConfigError, read_settings
from pageflows.service.storage.database import DatabaseUrlError, make_engine


@dataclass(frozen=True)
class Watch:
    """pageflows' database and the page's row ids before an action."""

    engine: Engine
    page_id: str
    before: silence.Mark


def watch(config_path: str, page_id: str) -> Watch | None:
    """Mark the page's rows now, or None when no pageflows database is found here."""
    try:
        settings = read_settings(os.environ, Path(config_path))
        if missing_sqlite_file(settings.database_url) is not None:
            return None  # never create an empty SQLite file in the wrong folder
        engine = make_engine(settings.database_url)
        return Watch(engine, page_id, silence.mark(engine, page_id))
    except (ConfigError, DatabaseUrlError, SQLAlchemyError):
        return None


def unsent_lines(outcome: silence.Outcome) -> list[str]:
    """What pageflows decided but Facebook never got, as `pageflows chat` writes it."""
    lines: list[str] = []
    for row in outcome.unsent:
        how = {"skipped": f"skipped {row.reason}", "held": "held", "failed": "failed"}.get(
            row.status, f"{row.status}, not sent yet"
        )
        lines.append(f"not sent > [{how}] {row.preview}")
        if row.detail:
            lines.append(f"           {row.detail}")
    for reason, detail in outcome.not_scheduled:  # issue 12: R
        lines.append(f"not sent > [follow-up not scheduled ({reason})] {_plain(detail)}")
    return lines


def _plain(detail: str) -> str:
    """The engine's sentence without the prefix the line already says."""
    return detail.removeprefix("not scheduled: ")


def silent_reason(outcome: silence.Outcome, psid: str) -> str:
    """One sentence: why no message reached the contact."""
    if outcome.parked:
        return (
            f"pageflows failed on this event and parked it ({outcome.parked[-1]});"
            " `pageflows inbox` lists it"
        )
    if outcome.pending:
        return (
            "pageflows has stored the event but not processed it yet: is a worker running?"
            " (`serve --web-only` runs none; `pageflows worker` does)"
        )
    if outcome.events == 0:
        return (
            "pageflows has no record of this event: the simulator's webhook URL may point to"
            " another server, or its database is not the one read here (--config)"
        )
    if outcome.notes and not outcome.unsent:  # issue 12: R: what the engine itself said
        return "; ".join(dict.fromkeys(outcome.notes))
    if outcome.handed_off:
        return (
            "a human has this conversation (handoff): automation waits until the thread is"
            " handed back"
        )
    if outcome.paused_until is not None:
        return (
            f"a person is answering this contact: automation waits until"
            f" {outcome.paused_until:%Y-%m-%d %H:%M} UTC (or `pageflows contact resume {psid}`)"
        )
    if outcome.unsent:
        return "pageflows decided to answer, but nothing it decided was sent (above: why)"
    if outcome.sent:
        return "pageflows sent an answer the simulator has not shown yet; run the command again"
    if outcome.decided:  # issue 12: R: a trigger ran, and the engine noted nothing
        if outcome.not_scheduled:
            return "the flow that ran sends nothing now, and its follow-up was not scheduled"
        return "the flow that ran sends nothing: it only tags, sets fields or waits"
    return (
        "pageflows processed it and sent nothing: no trigger matched it, or the flow that ran"
        " only tags, sets fields or waits"
    )


def explain(seen: Watch, psid: str, answered: bool) -> list[str]:
    """Lines after the bot's answers: its unsent messages, and why it was silent if it was."""
    try:
        outcome = silence.since(seen.engine, seen.page_id, psid, seen.before, _now())
    except SQLAlchemyError:
        return []
    lines = unsent_lines(outcome)
    if not answered:
        lines.append(f"(silent: {silent_reason(outcome, psid)})")
    return lines


def _now() -> datetime:
    return SystemClock().now()
