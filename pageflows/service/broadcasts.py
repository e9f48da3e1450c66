"""Broadcast runs: listed, started by an operator or by the schedule, enumerated in batches,
finished, retried.

A run is one `broadcast_runs` row per page and name; the insert that lands is
the claim, so a broadcast runs once whoever asks (the schedule, `broadcast
send`, two workers at once). Its contacts become one follow-up each (purpose
"broadcast", key `broadcast:{page}:{name}:{psid}`, unique), written a batch at
a time with the cursor `after_psid` moved in the same transaction: a crash
mid-way resumes after the last committed batch, and a contact written twice is
refused by the key, so nobody gets it twice and no transaction holds the whole
audience. The worker decides each follow-up under the contact's lock and the
sender paces the messages by the page's rate (pace.py).

Run status: enumerating (contacts being written) -> running (every delivery
written, being decided) -> done (none pending); too_late (the schedule found
it more than a day late and did not send; an operator may still send it).

A recurring broadcast (`every friday at "09:00"`, issue 12) has one run per
occurrence, named `weekly_menu@2026-12-04T08:00Z` (the occurrence in UTC): the
same claim, keys and report, so an occurrence goes once whoever asks, and the
next one is simply the next name. An occurrence the schedule finds more than
LATE_OCCURRENCE late (the server was down at its time) is recorded too_late, not
sent, as is each one missed since the broadcast's previous run.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pageflows.engine import timing
from pageflows.rules import model as m
from pageflows.rules.compile import Program
from pageflows.service.storage.models import BroadcastRun, Contact, FollowUp, OutboxMessage

log = logging.getLogger("pageflows.broadcasts")
BATCH = 1000
ENUMERATING, RUNNING, DONE, TOO_LATE = "enumerating", "running", "done", "too_late"
# issue 12 (time): how late an occurrence of a recurring broadcast may still go out.
LATE_OCCURRENCE = timedelta(hours=6)
MISSED_RECORDED = 60  # occurrences recorded too_late at most, after a long stop


class BroadcastError(Exception):
    """An operator's request refused: why, in one sentence, and the facts behind it."""

    def __init__(self, status: int, error: str, **details: Any) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = details


def delivery_key(page_id: str, name: str, psid: str) -> str:
    return f"broadcast:{page_id}:{name}:{psid}"


def retry_key(page_id: str, name: str, psid: str, attempt: int) -> str:
    return f"broadcast-retry:{page_id}:{name}:{psid}:{attempt}"


def _prefixes(page_id: str, name: str) -> tuple[str, str]:
    return f"broadcast:{page_id}:{name}:", f"broadcast-retry:{page_id}:{name}:"


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def known(program: Program, name: str) -> None:
    """Refuse a name the flows do not declare, listing the ones they do."""
    if base_name(name) not in program.broadcasts:
        raise BroadcastError(
            404, f"no broadcast named {name!r} in the flows", known=sorted(program.broadcasts)
        )


def run_json(run: BroadcastRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "status": run.status,
        "requested": run.requested,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "contacts": run.contacts,
    }


def list_broadcasts(
    engine: Engine, page_id: str, program: Program, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Every broadcast in the page's flows, with its run if it has one (a recurring one's
    latest run, and its next occurrence after `now`)."""
    with Session(engine) as session:
        runs = {
            r.name: r
            for r in session.scalars(select(BroadcastRun).where(BroadcastRun.page_id == page_id))
        }
        listed = []
        for name, (flow, cast) in sorted(program.broadcasts.items()):
            listed.append(
                {
                    "name": name,
                    "flow": flow,
                    "audience": cast.audience,
                    "audience_value": cast.audience_value,
                    "tag": cast.tag,
                    "send_at": cast.send_at.isoformat(),
                    "local_time": f"{cast.local_time:%Y-%m-%d %H:%M} {cast.timezone}",
                    "run": run_json(runs.get(name)),
                    "when": f"at {cast.local_time:%Y-%m-%d %H:%M} {cast.timezone}",
                }
            )
            if cast.recurring:  # issue 12: time
                listed[-1].update(_recurring_json(session, page_id, cast, now))
        return listed


def claim(
    session: Session, page_id: str, name: str, now: datetime, requested: str, status: str
) -> bool:
    """Insert the run row unless another process (or request) already did: True if ours."""
    inserted = session.execute(
        _insert(session)(BroadcastRun)
        .values(
            page_id=page_id,
            name=name,
            started_at=now,
            contacts=0,
            status=status,
            requested=requested,
        )
        .on_conflict_do_nothing(index_elements=["page_id", "name"])
        .returning(BroadcastRun.name)
    ).first()
    return inserted is not None


def start(engine: Engine, page_id: str, program: Program, name: str, now: datetime) -> BroadcastRun:
    """An operator's `send`: the run starts now, whatever its scheduled time (the schedule
    then finds the run and leaves it). Refused if it already ran; a run the schedule found
    too late may still be sent by a person."""
    known(program, name)
    if program.broadcasts[base_name(name)][1].recurring:
        name = run_name(base_name(name), now)  # issue 12: an extra occurrence, now
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if not claim(session, page_id, name, now, "operator", ENUMERATING):
            run = session.get(BroadcastRun, (page_id, name), with_for_update=True)
            assert run is not None
            if run.status != TOO_LATE:
                raise BroadcastError(
                    409,
                    f"broadcast {name!r} already ran (started {run.started_at:%Y-%m-%d %H:%M} "
                    f"UTC, {run.requested}); see its report: pageflows broadcast report {name}",
                    run=run_json(run),
                    report=f"/api/broadcasts/{name}/report",
                )
            run.status, run.requested, run.started_at = ENUMERATING, "operator", now
            run.finished_at, run.after_psid, run.contacts = None, None, 0
        run = session.get(BroadcastRun, (page_id, name))
        assert run is not None
    log.info("broadcast %s: started by an operator", name)
    return run


# The worker's look for runs to go on with, five times a second when idle (issue 13,
# eighth session): built once, on a plain connection; through an ORM session each cost
# 0.7 ms of CPU, a third of an idle pass over due work.
_ENUMERATING = select(BroadcastRun.name).where(
    BroadcastRun.page_id == bindparam("page"), BroadcastRun.status == ENUMERATING
)
_RUNNING = select(BroadcastRun.page_id, BroadcastRun.name).where(BroadcastRun.status == RUNNING)


def enumerate_runs(engine: Engine, page_id: str, now: datetime, batch: int = BATCH) -> int:
    """Write the deliveries of every run of the page still enumerating, a batch per
    transaction; returns how many contacts were written."""
    with engine.connect() as connection:
        names = connection.scalars(_ENUMERATING, {"page": page_id}).all()
    return sum(enumerate_run(engine, page_id, name, now, batch) for name in names)


def enumerate_run(engine: Engine, page_id: str, name: str, now: datetime, batch: int) -> int:
    """From the run's cursor to the last contact, one committed batch at a time."""
    written = 0
    while True:
        with Session(engine) as session, session.begin():
            run = session.get(BroadcastRun, (page_id, name), with_for_update=True)
            if run is None or run.status != ENUMERATING:
                return written  # another process finished it
            psids = session.scalars(
                select(Contact.psid)
                .where(Contact.page_id == page_id, Contact.psid > (run.after_psid or ""))
                .order_by(Contact.psid)
                .limit(batch)
            ).all()
            if psids:
                add_deliveries(session, [_delivery(page_id, name, psid, now) for psid in psids])
                run.after_psid = psids[-1]
                run.contacts += len(psids)
                written += len(psids)
            if len(psids) < batch:
                # Nobody to decide for: done now, not when a worker next looks.
                run.status = RUNNING if run.contacts else DONE
                run.finished_at = None if run.contacts else now
                log.info("broadcast %s: %d contact(s) to decide for", name, run.contacts)
                return written


def add_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert follow-up rows, skipping keys already there (a batch written again after a
    crash). One statement run for many parameter sets: compiling a 1,000-row VALUES
    clause costs far more than the insert."""
    statement = _insert(session)(FollowUp.__table__).on_conflict_do_nothing(index_elements=["key"])
    session.connection().execute(statement, rows)


def _delivery(page_id: str, name: str, psid: str, now: datetime) -> dict[str, Any]:
    return {
        "key": delivery_key(page_id, name, psid),
        "page_id": page_id,
        "contact_id": psid,
        "purpose": "broadcast",
        "due_at": now,
        "spec": {"name": base_name(name), "run": name} if "@" in name else {"name": name},
        "status": "pending",
        "created_at": now,
    }


def pending(session: Session, page_id: str, name: str) -> int:
    first, again = _prefixes(page_id, name)
    return (
        session.scalar(
            select(func.count())
            .select_from(FollowUp)
            .where(
                FollowUp.page_id == page_id,
                FollowUp.purpose == "broadcast",
                FollowUp.status == "pending",
                FollowUp.key.startswith(first, autoescape=True)
                | FollowUp.key.startswith(again, autoescape=True),
            )
        )
        or 0
    )


def finish_runs(engine: Engine, now: datetime) -> int:
    """Mark done each running run with no delivery left to decide."""
    finished = 0
    with engine.connect() as connection:
        running = connection.execute(_RUNNING).all()
    for page_id, name in running:
        with Session(engine) as session, session.begin():
            if pending(session, page_id, name):
                continue
            session.execute(
                update(BroadcastRun)
                .where(
                    BroadcastRun.page_id == page_id,
                    BroadcastRun.name == name,
                    BroadcastRun.status == RUNNING,
                )
                .values(status=DONE, finished_at=now)
            )
            finished += 1
            log.info("broadcast %s: every delivery decided", name)
    return finished


def retry(engine: Engine, page_id: str, program: Program, name: str, now: datetime) -> int:
    """The contacts whose latest message of this broadcast failed are decided again by the
    worker through today's policy: a new follow-up each (a distinct key per attempt)."""
    known(program, name)
    if program.broadcasts[base_name(name)][1].recurring and "@" not in name:
        with Session(engine) as session:  # issue 12: a recurring one's latest occurrence
            latest = next(iter(runs_of(session, page_id, name)), None)
        name = latest.name if latest else name
    _, again = _prefixes(page_id, name)
    with Session(engine) as session, session.begin():
        run = session.get(BroadcastRun, (page_id, name), with_for_update=True)
        if run is None:
            raise BroadcastError(409, f"broadcast {name!r} has not run; nothing to retry")
        if run.status != DONE:
            raise BroadcastError(
                409,
                f"broadcast {name!r} is still {run.status}; retry it once it is done "
                f"(pageflows broadcast report {name})",
                run=run_json(run),
            )
        failed = failed_contacts(session, page_id, name)
        tried = Counter(
            key[len(again) :].rsplit(":", 1)[0]
            for key in session.scalars(
                select(FollowUp.key).where(
                    FollowUp.page_id == page_id, FollowUp.key.startswith(again, autoescape=True)
                )
            )
        )
        rows = [
            {
                **_delivery(page_id, name, psid, now),
                "key": retry_key(page_id, name, psid, tried[psid] + 1),
            }
            for psid in failed
        ]
        for start_at in range(0, len(rows), BATCH):
            add_deliveries(session, rows[start_at : start_at + BATCH])
        if rows:
            run.status, run.finished_at = RUNNING, None
    log.info("broadcast %s: %d failed contact(s) to decide again", name, len(rows))
    return len(rows)


def latest_message_ids(page_id: str, name: str) -> Select[int]:
    """Each contact's latest message of the broadcast (its id): what report and retry
    count by, so a retried contact counts once, by its last attempt."""
    return (
        select(func.max(OutboxMessage.id))
        .where(
            OutboxMessage.page_id == page_id,
            OutboxMessage.broadcast == name,
            OutboxMessage.kind == "message",
        )
        .group_by(OutboxMessage.contact_id)
    )


def failed_contacts(session: Session, page_id: str, name: str) -> list[str]:
    """Contacts whose latest message of this broadcast failed."""
    latest = latest_message_ids(page_id, name)
    return list(
        session.scalars(
            select(OutboxMessage.contact_id)
            .where(OutboxMessage.id.in_(latest), OutboxMessage.status == "failed")
            .order_by(OutboxMessage.contact_id)
        )
    )


# ------------------------------------------------------------------ issue 12: recurring


def run_name(name: str, occurrence: datetime) -> str:
    """The run of one occurrence: `weekly_menu@2026-12-04T08:00Z` (UTC, to the minute)."""
    return f"{name}@{occurrence.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


def base_name(run: str) -> str:
    """The broadcast a run belongs to: `weekly_menu` for `weekly_menu@...` and itself."""
    return run.split("@", 1)[0]


def occurrence_of(run: str) -> datetime | None:
    _, _, at = run.partition("@")
    try:
        return datetime.strptime(at, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC) if at else None
    except ValueError:
        return None


def zone_of(cast: m.Broadcast) -> ZoneInfo:
    return timing.zone(cast.timezone) or ZoneInfo("UTC")


def hhmm(cast: m.Broadcast) -> str:
    return f"{cast.local_time:%H:%M}"


def next_occurrence(cast: m.Broadcast, now: datetime) -> datetime:
    return timing.occurrences(cast.every, hhmm(cast), zone_of(cast), now)


def runs_of(session: Session, page_id: str, name: str) -> list[BroadcastRun]:
    """A recurring broadcast's runs, latest occurrence first."""
    runs = session.scalars(
        select(BroadcastRun).where(
            BroadcastRun.page_id == page_id,
            BroadcastRun.name.startswith(f"{name}@", autoescape=True),
        )
    ).all()
    return sorted(runs, key=lambda r: r.name, reverse=True)


def start_occurrences(engine: Engine, page_id: str, cast: m.Broadcast, now: datetime) -> int:
    """Claim the latest occurrence at or before `now` (once, by its run's name), or
    record it too_late if it is more than LATE_OCCURRENCE late; occurrences missed
    between the previous run and it are recorded too_late as well. A broadcast with no
    run yet (new in the flows) does not start with an occurrence already that late."""
    latest = timing.latest_occurrence(cast.every, hhmm(cast), zone_of(cast), now)
    run = run_name(cast.name, latest)
    with Session(engine) as session, session.begin():
        if session.get(BroadcastRun, (page_id, run)) is not None:
            return 0
        previous = runs_of(session, page_id, cast.name)
        since = occurrence_of(previous[0].name) if previous else None
        late = now - latest > LATE_OCCURRENCE
        if late and not previous:
            return 0  # a broadcast new to this page starts with its next occurrence
        missed = _missed(cast, since, latest)
        for at in missed:
            claim(session, page_id, run_name(cast.name, at), now, "schedule", TOO_LATE)
        if not claim(session, page_id, run, now, "schedule", TOO_LATE if late else ENUMERATING):
            return 0
    if late or missed:
        log.warning(
            "broadcast %s: %d occurrence(s) missed while nothing ran (latest due %s),"
            " recorded too_late, not sent",
            cast.name,
            len(missed) + (1 if late else 0),
            latest.isoformat(),
        )
    return 0 if late else 1


def _missed(cast: m.Broadcast, since: datetime | None, latest: datetime) -> list[datetime]:
    """Occurrences after the previous run's and before `latest`: none ran."""
    if since is None:
        return []
    found: list[datetime] = []
    at = next_occurrence(cast, since)
    while at < latest and len(found) < MISSED_RECORDED:
        found.append(at)
        at = next_occurrence(cast, at)
    return found


def _recurring_json(
    session: Session, page_id: str, cast: m.Broadcast, now: datetime | None
) -> dict[str, Any]:
    """A recurring broadcast as listed: its rule, its next occurrence, its latest run."""
    latest = next(iter(runs_of(session, page_id, cast.name)), None)
    upcoming = next_occurrence(cast, now) if now else None
    local = f"{cast.every_text} at {hhmm(cast)} {cast.timezone}"
    listed: dict[str, Any] = {
        "every": cast.every_text,
        "local_time": local,
        "send_at": upcoming.isoformat() if upcoming else None,
        "next": upcoming.isoformat() if upcoming else None,
        "run": run_json(latest),
        "run_name": latest.name if latest else None,
        "when": local
        + (
            f" (next {timing.say_local(upcoming, zone_of(cast), cast.timezone)})"
            if upcoming
            else ""
        ),
    }
    return listed
