"""The worker decides many contacts per transaction (issue 13): what batching could break.

Each test stores webhook events as the webhook would (signed bodies parsed and
fitted into the inbox), lets the worker decide, and reads what the contacts
would get: the outbox rows, in order, per contact. A real database each time
(SQLite and PostgreSQL) and the Graph API simulator for profile look-ups.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from service_world import PAGE, SECRET, START, TOKEN
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pageflows.clock import FakeClock
from pageflows.serve import Service, build_service
from pageflows.service.config import PageConfig, Settings
from pageflows.service.storage.inbox import store_batch
from pageflows.service.storage.models import (
    Contact,
    ContactField,
    ContactTag,
    FollowUp,
    InboxEvent,
    OutboxMessage,
)
from pageflows.simulator import RunningSimulator, running_simulator
from pageflows.webhook.fit import inbox_row
from pageflows.webhook.parse import parse_body

FLOW = """\
on keyword "count":
    if tagged "seen":
        send "again {contact.first_name|there}"
    else:
        tag "seen"
        send "first {contact.first_name|there}"

on keyword "boom":
    send "boom answered"

on keyword "vip":
    tag "vip"
    set color = "red"
    send "vip on"

on keyword "plain":
    untag "vip"
    set color = "blue"
    send "vip off"

on keyword "later":
    send "ok"
    after 1h:
        send "reminder"

on keyword "nudge":
    send "ok"
    after 1h:
        typing 1s
        send "still there, {contact.first_name|there}?"
        handoff "asked for a human"
"""


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with running_simulator() as running:
        running.control.set_clock(START)
        running.control.register_page(
            page_id=PAGE, token=TOKEN, app_secret=SECRET, webhook_url="http://127.0.0.1:9/x"
        )
        yield running


def service(
    url: str, sim: RunningSimulator, tmp: Path, clock: FakeClock, flow: str = FLOW
) -> Service:
    flows = tmp / "flows"
    flows.mkdir(exist_ok=True)
    (flows / "main.flow").write_text(flow, "utf-8")
    settings = Settings(
        database_url=url,
        app_secret=SECRET,
        verify_token="v",
        graph_url=sim.url,
        pages=(PageConfig(id=PAGE, token=TOKEN, name="Shop", rate=100),),
    )
    return build_service(settings, str(flows), clock, concurrency=2)


def say(svc: Service, psid: str, text: str, step: int, stored_as: str | None = None) -> None:
    """One message from `psid`, stored as the webhook stores it (with `stored_as` for its
    text: what an older version could have stored, which the webhook now cleans)."""
    at = int((START + timedelta(seconds=step)).timestamp() * 1000)
    item = {"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": at,
            "message": {"mid": f"m-{psid}-{step}", "text": text}}  # fmt: skip
    raw = json.dumps({"object": "page", "entry": [{"id": PAGE, "messaging": [item]}]})
    parsed = parse_body(raw.encode(), 1_000_000, received_at=START)
    assert not hasattr(parsed, "reason"), parsed
    rows = [inbox_row(e) for e in parsed.events]
    if stored_as is not None:
        document = json.dumps(json.loads(rows[0]["payload"].text))  # a dict is stored too
        rows[0]["payload"] = json.loads(document.replace(text, stored_as))
    assert store_batch(svc.engine, rows, START) == 1


def decided(svc: Service) -> dict[str, list[str]]:
    """What each contact gets, in order (the outbox: queued or skipped, with its text)."""
    got: dict[str, list[str]] = defaultdict(list)
    with Session(svc.engine) as session:
        for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
            got[row.contact_id].append(row.preview)
    return dict(got)


def inbox(svc: Service) -> dict[str, list[tuple[str, int]]]:
    rows: dict[str, list[tuple[str, int]]] = defaultdict(list)
    with Session(svc.engine) as session:
        for row in session.scalars(select(InboxEvent).order_by(InboxEvent.id)):
            rows[row.contact_id or ""].append((row.status, row.attempts))
    return dict(rows)


def drain(svc: Service) -> int:
    total = 0
    while done := svc.worker.process_inbox():
        total += done
    return total


def test_a_contacts_events_in_one_batch_run_in_order_and_each_sees_the_one_before(
    database_url: str, sim: RunningSimulator, tmp_path: Path
) -> None:
    svc = service(database_url, sim, tmp_path, FakeClock(START))
    try:
        people = {"7001": "Ana", "7002": "Bo", "7003": "Cy"}
        for psid, name in people.items():
            sim.control.add_contact(psid, first_name=name)
        for step in range(3):  # interleaved: 7001, 7002, 7003, 7001, ...
            for psid in people:
                say(svc, psid, "count", step)
        assert drain(svc) == 9
        # Three new contacts, each named (its profile looked up before the batch), and the
        # second and third "count" of each saw the tag the first one added.
        assert decided(svc) == {
            psid: [f"first {name}", f"again {name}", f"again {name}"]
            for psid, name in people.items()
        }
        assert all(status == "done" for rows in inbox(svc).values() for status, _ in rows)
    finally:
        svc.stop()


def test_an_event_that_raises_waits_for_its_retry_its_contact_waits_the_others_go_on(
    database_url: str, sim: RunningSimulator, tmp_path: Path
) -> None:
    clock = FakeClock(START)
    svc = service(database_url, sim, tmp_path, clock)
    try:
        for psid in ("7001", "7002", "7003"):
            sim.control.add_contact(psid)
        say(svc, "7001", "count", 0)
        say(svc, "7002", "boom", 1)  # raises while it is decided, this time
        say(svc, "7003", "count", 2)
        say(svc, "7002", "count", 3)  # must wait behind the failed one
        say(svc, "7001", "count", 4)
        real = svc.worker.decide
        broken = [True]

        def flaky(session: Any, runtime: Any, event: Any, now: Any) -> Any:
            if broken[0] and getattr(event, "text", "") == "boom":
                raise RuntimeError("a bug deciding this one event")
            return real(session, runtime, event, now)

        svc.worker.decide = flaky  # type: ignore[method-assign]
        drain(svc)
        assert decided(svc) == {
            "7001": ["first Alice", "again Alice"],
            "7003": ["first Alice"],
        }
        waiting = inbox(svc)["7002"]
        assert waiting == [("pending", 1), ("pending", 0)]  # tried once; the later one waits

        broken[0] = False  # fixed; its retry comes after the backoff
        assert drain(svc) == 0  # not before its time
        clock.advance(timedelta(seconds=2))
        drain(svc)
        assert decided(svc)["7002"] == ["boom answered", "first Alice"]  # in their order
        assert [status for status, _ in inbox(svc)["7002"]] == ["done", "done"]
    finally:
        svc.stop()


def test_a_row_the_database_cannot_hold_is_isolated_and_the_batch_is_decided(
    postgres_url: str, sim: RunningSimulator, tmp_path: Path
) -> None:
    """PostgreSQL refuses a NUL in text: the contact's last message cannot be stored (the
    webhook cleans NULs now; an event stored before could hold one). The
    batch's commit fails; its events are decided again one at a time, and only that
    event waits for its retry; its contact's next event waits behind it."""
    clock = FakeClock(START)
    svc = service(postgres_url, sim, tmp_path, clock)
    try:
        for psid in ("7001", "7002", "7003"):
            sim.control.add_contact(psid)
        say(svc, "7001", "count", 0)
        say(svc, "7002", "count", 1, stored_as="count\\u0000")
        say(svc, "7003", "count", 2)
        drain(svc)
        assert decided(svc) == {"7001": ["first Alice"], "7003": ["first Alice"]}
        assert inbox(svc)["7002"] == [("pending", 1)]
        say(svc, "7002", "count", 3)  # (in the same batch, its text would replace the bad one)
        drain(svc)
        assert inbox(svc)["7002"] == [("pending", 1), ("pending", 0)]  # waits behind it
        clock.advance(timedelta(seconds=2))
        drain(svc)  # its retry, with its contact's next event: that text is the one kept
        assert inbox(svc)["7002"] == [("done", 1), ("done", 0)]
        assert decided(svc)["7002"] == ["first Alice", "again Alice"]
    finally:
        svc.stop()


def test_a_contact_another_process_is_deciding_is_left_to_it_and_the_others_are_decided(
    postgres_url: str, sim: RunningSimulator, tmp_path: Path
) -> None:
    """Two worker processes: while one holds a batch with contact 7002 open (deciding it),
    the other decides every other contact and none of 7002's events."""
    clock = FakeClock(START)
    first = service(postgres_url, sim, tmp_path, clock)
    second = service(postgres_url, sim, tmp_path, clock)
    try:
        sim.control.add_contact("7002")
        say(first, "7002", "count", 0)
        say(first, "7002", "count", 1)
        inside, release = threading.Event(), threading.Event()
        real = first.worker.decide

        def slow(session: Any, runtime: Any, event: Any, now: Any) -> Any:
            inside.set()
            release.wait(20)
            return real(session, runtime, event, now)

        first.worker.decide = slow  # type: ignore[method-assign]
        holder = threading.Thread(target=first.worker.process_inbox)
        holder.start()
        assert inside.wait(20)
        for n, psid in enumerate(("7001", "7003", "7004")):
            sim.control.add_contact(psid)
            say(second, psid, "count", 10 + n)
        say(second, "7002", "count", 20)
        assert drain(second) == 3  # 7001, 7003, 7004; not 7002's, held by the first
        assert inbox(second)["7002"] == [("pending", 0)] * 3
        release.set()
        holder.join(30)
        assert not holder.is_alive()
        first.worker.decide = real  # type: ignore[method-assign]
        drain(second)
        assert decided(second)["7002"] == ["first Alice", "again Alice", "again Alice"]
    finally:
        release.set()
        first.stop()
        second.stop()


def test_due_follow_ups_of_many_contacts_fire_once_each_and_a_bad_one_is_parked(
    database_url: str, sim: RunningSimulator, tmp_path: Path
) -> None:
    clock = FakeClock(START)
    svc = service(database_url, sim, tmp_path, clock)
    try:
        psids = [f"70{n:02d}" for n in range(30)]
        for step, psid in enumerate(psids):
            sim.control.add_contact(psid)
            say(svc, psid, "later", step)
        drain(svc)
        with Session(svc.engine) as session, session.begin():  # one that cannot be read
            bad = session.scalars(select(FollowUp).where(FollowUp.contact_id == "7007")).one()
            bad.spec = {}
        clock.advance(timedelta(hours=1, minutes=1))
        while svc.worker.process_due():
            pass
        with Session(svc.engine) as session:
            statuses = {f.contact_id: f.status for f in session.scalars(select(FollowUp))}
        assert statuses == {psid: "parked" if psid == "7007" else "done" for psid in psids}
        got = decided(svc)
        assert got == {psid: ["ok"] if psid == "7007" else ["ok", "reminder"] for psid in psids}
    finally:
        svc.stop()


def test_tags_and_fields_operators_search_by_follow_a_batch_of_one_contacts_events(
    database_url: str, sim: RunningSimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A contact tagged, untagged and tagged again (its field changed each time) in one
    batch, another tagged then untagged: the rows operators search by end as the state."""
    svc = service(database_url, sim, tmp_path, FakeClock(START))
    try:
        for psid in ("7001", "7002"):
            sim.control.add_contact(psid)
        say(svc, "7002", "vip", 0)
        drain(svc)  # 7002 is stored with its tag; then both in one batch
        for step, text in enumerate(("vip", "plain", "vip")):
            say(svc, "7001", text, 10 + step)
        say(svc, "7002", "plain", 20)
        assert drain(svc) == 4
        # issue 13: F. In one batch: 7002's stored field row changed, not inserted again
        # (a UNIQUE failure that sent the batch to the one-at-a-time path).
        assert "could not be decided together" not in caplog.text
        with Session(svc.engine) as session:
            tags = {(t.psid, t.tag) for t in session.scalars(select(ContactTag))}
            fields = {(f.psid, f.name, f.value) for f in session.scalars(select(ContactField))}
        assert tags == {("7001", "vip")}
        assert fields == {("7001", "color", "red"), ("7002", "color", "blue")}
        assert decided(svc) == {
            "7001": ["vip on", "vip off", "vip on"],
            "7002": ["vip on", "vip off"],
        }
    finally:
        svc.stop()


def test_a_pass_locks_only_the_contacts_its_limit_of_events_can_reach() -> None:
    # issue 13: a batch that locked contacts it could not decide in the pass kept every
    # other process away from them; batches now end where the pass's events end.
    from pageflows.service.worker import BATCH_CONTACTS, _batches

    counts = {("p", f"c{i}"): 4 for i in range(125)}
    batches = _batches(counts, 200)
    assert [len(b) for b in batches] == [50, 50, 25]
    assert [pair for b in batches for pair in b] == list(counts)  # every contact, in order
    assert _batches({("p", "big"): 500, ("p", "next"): 1}, 200) == [[("p", "big")], [("p", "next")]]
    many = {("p", f"c{i}"): 1 for i in range(250)}
    assert max(len(b) for b in _batches(many, 10_000)) == BATCH_CONTACTS


def outbox_as_contact_sees_it(svc: Service, psids: list[str]) -> list[list[dict[str, Any]]]:
    """Every column of each contact's outbox rows, in order, but the ids and the contact."""
    got: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with Session(svc.engine) as session:
        for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
            values = {c.key: getattr(row, c.key) for c in OutboxMessage.__table__.columns}
            body = json.loads(json.dumps(values.pop("body")).replace(row.contact_id, "PSID"))
            del values["id"], values["contact_id"]
            got[row.contact_id].append({**values, "body": body})
    return [got[psid] for psid in psids]


def test_follow_ups_fired_in_a_batch_write_the_outbox_rows_one_at_a_time_writes(
    database_url: str, sim: RunningSimulator, tmp_path: Path
) -> None:
    """issue 13: W. A batch of due follow-ups writes its outbox rows in one statement at
    its end: the same rows, column for column and in the same order per contact, as the
    follow-ups fired one per transaction (the path a failed batch falls back to)."""
    clock = FakeClock(START)
    svc = service(database_url, sim, tmp_path, clock)
    try:
        batch = [f"71{n:02d}" for n in range(6)]
        alone = [f"72{n:02d}" for n in range(6)]
        for step, psid in enumerate(batch + alone):
            sim.control.add_contact(psid, first_name="Ana" if step % 2 else "Bo")
            say(svc, psid, "nudge" if step % 3 else "later", step % 6)
        drain(svc)
        clock.advance(timedelta(hours=1, minutes=1))
        with Session(svc.engine) as session:
            due = session.scalars(select(FollowUp).order_by(FollowUp.id)).all()
            ids: dict[tuple[str, str], list[int]] = defaultdict(list)
            for row in due:
                ids[(row.page_id, row.contact_id)].append(row.id)
        now = clock.now()
        assert svc.worker.fire_batch([(PAGE, p) for p in batch], ids, now) == len(batch)
        assert svc.worker._fire_one_at_a_time([(PAGE, p) for p in alone], ids, now) == len(alone)
        fired = outbox_as_contact_sees_it(svc, batch)
        assert fired == outbox_as_contact_sees_it(svc, alone)
        kinds = [[(r["kind"], r["status"], r["preview"]) for r in rows] for rows in fired]
        assert kinds[0] == [("message", "queued", "ok"), ("message", "queued", "reminder")]
        assert kinds[1][1:] == [
            ("typing", "queued", "\u2026 typing 1s"),
            ("message", "queued", "still there, Ana?"),
            ("handoff", "queued", "handoff"),
        ]
        with Session(svc.engine) as session:
            assert {f.status for f in session.scalars(select(FollowUp))} == {"done"}
    finally:
        svc.stop()


def test_inbox_events_decided_in_a_batch_write_the_outbox_rows_one_at_a_time_writes(
    database_url: str, sim: RunningSimulator, tmp_path: Path
) -> None:
    """issue 13: W. The same for a batch of inbox events (its outbox rows also go out in
    one statement at its end): several events per contact, a tag seen by the next one."""
    svc = service(database_url, sim, tmp_path, FakeClock(START))
    try:
        batch = [f"73{n:02d}" for n in range(4)]
        alone = [f"74{n:02d}" for n in range(4)]
        for group in (batch, alone):
            for n, psid in enumerate(group):
                sim.control.add_contact(psid, first_name=f"N{n}")
                for step, text in enumerate(("count", "nudge", "count", "vip", "later")):
                    say(svc, psid, text, 10 * n + step)
        assert svc.worker.decide_batch([(PAGE, p) for p in batch], 100) == 20
        assert svc.worker._one_at_a_time([(PAGE, p) for p in alone], 100) == 20
        decided_batch = outbox_as_contact_sees_it(svc, batch)
        assert decided_batch == outbox_as_contact_sees_it(svc, alone)
        assert [r["preview"] for r in decided_batch[1]] == [
            "first N1", "ok", "again N1", "vip on", "ok"
        ]  # fmt: skip
    finally:
        svc.stop()


# issue 13: F. Follow-ups that change the contact (tags, fields), several of one contact
# due together (the later one reads what the earlier one wrote), one the contact replied
# before (cancelled, with the reason) and the window closing, to fire in a batch.
STATEFUL_FLOW = """\
on keyword "later":
    send "ok"
    after 1h:
        send "reminder"

on keyword "tagme":
    send "ok"
    after 1h:
        tag "nudged"
        set stage = "late"
        send "tagged"

on keyword "untag":
    tag "old"
    set color = "red"
    send "ok"
    after 2h:
        untag "old"
        set color = "blue"
        send "untagged"

on keyword "check":
    send "ok"
    after 3h:
        if tagged "nudged":
            send "saw the tag"
        else:
            send "no tag"

on keyword "quiet":
    send "ok"
    after 1h unless replied:
        send "are you there?"

on window closing in 1h:
    send "closing soon"
"""
SAYINGS = (("later",), ("tagme", "check"), ("untag", "later"), ("quiet", "hello"),
           ("tagme", "untag", "check"))  # fmt: skip


def stored_as_contact_sees_it(svc: Service, psid: str) -> dict[str, Any]:
    """Every column of the contact's row, follow-ups, tags and fields, but its id (the
    contact's id written as PSID) and the rows' own ids."""

    def values(row: Any) -> dict[str, Any]:
        got = {c.key: getattr(row, c.key) for c in type(row).__table__.columns}
        for key in ("id", "psid", "contact_id"):
            got.pop(key, None)
        return cast(dict[str, Any], json.loads(json.dumps(got, default=str).replace(psid, "PSID")))

    with Session(svc.engine) as session:
        contact = session.get(Contact, (PAGE, psid))
        follow_ups = session.scalars(
            select(FollowUp).where(FollowUp.contact_id == psid).order_by(FollowUp.id)
        )
        tags = session.scalars(select(ContactTag).where(ContactTag.psid == psid))
        fields = session.scalars(select(ContactField).where(ContactField.psid == psid))
        return {
            "contact": values(contact),
            "follow_ups": [values(f) for f in follow_ups],
            "tags": sorted(t.tag for t in tags),
            "fields": sorted((f.name, f.value) for f in fields),
        }


def stored_raw(svc: Service, psid: str) -> dict[str, list[dict[str, Any]]]:
    """issue 13: F2. The contact's contact, follow-up and outbox rows as the database holds
    them (read with no column types: a time on SQLite as its very text), but the ids and
    the PSID; a JSON column's value parsed (its text's spacing may differ)."""
    json_columns = {"state", "spec", "body"}
    got: dict[str, list[dict[str, Any]]] = {}
    with svc.engine.connect() as connection:
        for table, column, order in (("contacts", "psid", "psid"),
                                     ("follow_ups", "contact_id", "id"),
                                     ("outbox", "contact_id", "id")):  # fmt: skip
            rows = connection.execute(
                text(f"SELECT * FROM {table} WHERE {column} = :psid ORDER BY {order}"),
                {"psid": psid},
            ).mappings()
            got[table] = []
            for row in rows:
                values = {
                    key: json.loads(value) if key in json_columns and isinstance(value, str)
                    else value
                    for key, value in row.items()
                    if key not in ("id", "psid", "contact_id")
                }  # fmt: skip
                got[table].append(
                    json.loads(json.dumps(values, default=repr).replace(psid, "PSID"))
                )
    return got


def test_follow_ups_fired_in_a_batch_store_what_one_at_a_time_stores(
    database_url: str, sim: RunningSimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """issue 13: F. A batch of due follow-ups reads its rows as plain values and writes
    the contacts and follow-ups back with one statement each: every column of the
    contacts, their follow-ups, tags, fields and outbox rows is what the follow-ups
    fired one per transaction (the ORM path a failed batch falls back to) store."""
    clock = FakeClock(START)
    svc = service(database_url, sim, tmp_path, clock, STATEFUL_FLOW)
    try:
        batch = [f"75{n:02d}" for n in range(len(SAYINGS))]
        alone = [f"76{n:02d}" for n in range(len(SAYINGS))]
        for group in (batch, alone):
            for n, psid in enumerate(group):
                sim.control.add_contact(psid, first_name=f"N{n}")
                for step, text in enumerate(SAYINGS[n]):
                    say(svc, psid, text, 10 * n + step)
        drain(svc)
        clock.advance(timedelta(hours=23, minutes=30))  # every one due, the window's too
        now = clock.now()
        with Session(svc.engine) as session:
            due = session.scalars(
                select(FollowUp)
                .where(FollowUp.status == "pending", FollowUp.due_at <= now)
                .order_by(FollowUp.due_at, FollowUp.id)
            ).all()
            ids: dict[tuple[str, str], list[int]] = defaultdict(list)
            for row in due:
                ids[(row.page_id, row.contact_id)].append(row.id)
        fired = sum(len(ids[(PAGE, p)]) for p in batch)
        assert fired == sum(len(ids[(PAGE, p)]) for p in alone) == 14
        assert svc.worker.fire_batch([(PAGE, p) for p in batch], ids, now) == fired
        # Decided as a batch, not by the one-at-a-time path it falls back to (a field row
        # inserted twice did that: the comparison below would then compare a path to itself).
        assert "could not be decided together" not in caplog.text
        assert svc.worker._fire_one_at_a_time([(PAGE, p) for p in alone], ids, now) == fired
        for one, other in zip(batch, alone, strict=True):
            assert stored_as_contact_sees_it(svc, one) == stored_as_contact_sees_it(svc, other)
            assert stored_raw(svc, one) == stored_raw(svc, other)  # the very text of a time
        assert outbox_as_contact_sees_it(svc, batch) == outbox_as_contact_sees_it(svc, alone)
        sent = [[r["preview"] for r in rows] for rows in outbox_as_contact_sees_it(svc, batch)]
        assert sent[1] == ["ok", "ok", "tagged", "saw the tag", "closing soon"]
        assert sent[2] == ["ok", "ok", "reminder", "untagged", "closing soon"]
        quiet = stored_as_contact_sees_it(svc, batch[3])
        assert [(f["purpose"], f["status"], f["reason"]) for f in quiet["follow_ups"]] == [
            ("follow_up", "cancelled", "contact_replied"),
            ("window_closing", "superseded", None),  # by "hello"'s
            ("window_closing", "done", None),
        ]
        last = stored_as_contact_sees_it(svc, batch[4])
        assert last["tags"] == ["nudged"]
        assert last["fields"] == [("color", "blue"), ("stage", "late")]
    finally:
        svc.stop()


def test_the_next_batch_s_new_contacts_are_looked_up_ahead_once_each_and_named(
    database_url: str, sim: RunningSimulator, tmp_path: Path
) -> None:
    """issue 13: while a batch is decided, the next one's new contacts are looked up (a
    pass of 20 events holds one batch of 10 two-event contacts here, so the look-ups
    started in a pass serve the next): each is asked for once, and greeted by name."""
    svc = service(database_url, sim, tmp_path, FakeClock(START))
    try:
        psids = [f"79{n:02d}" for n in range(30)]
        for n, psid in enumerate(psids):
            sim.control.add_contact(psid, first_name=f"P{n}")
        asked = profiles_asked(svc)
        for step in range(2):
            for n, psid in enumerate(psids):
                say(svc, psid, "count", 100 * step + n)
        assert svc.worker.process_inbox(20) == 20
        deadline = time.monotonic() + 10
        while len(asked) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)  # the next batch's look-ups run beside the worker
        assert len(asked) == 20  # the 10 contacts decided, and the next 10
        passes = 1
        while svc.worker.process_inbox(20):
            passes += 1
        assert passes == 3
        assert sorted(asked) == psids  # once each, none twice
        got = decided(svc)
        assert got == {psid: [f"first P{n}", f"again P{n}"] for n, psid in enumerate(psids)}
    finally:
        svc.stop()


def test_inbox_events_decided_in_a_batch_store_what_one_at_a_time_stores(
    database_url: str, sim: RunningSimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """issue 13: a batch of inbox events reads its events and contacts as plain values and
    writes them, its new contacts, follow-ups and arrivals with one statement each: every
    column of the contacts (new ones: inserted by the batch), their follow-ups (a window
    closing superseded by the contact's next message in the same batch), tags, fields,
    arrivals, outbox rows and the events themselves is what one event per transaction
    (the ORM path a failed batch falls back to) stores."""
    svc = service(database_url, sim, tmp_path, FakeClock(START), STATEFUL_FLOW)
    try:
        batch = [f"77{n:02d}" for n in range(len(SAYINGS))]
        alone = [f"78{n:02d}" for n in range(len(SAYINGS))]
        for group in (batch, alone):
            for n, psid in enumerate(group):
                sim.control.add_contact(psid, first_name=f"N{n}")
                for step, text in enumerate(SAYINGS[n]):
                    say(svc, psid, text, 10 * n + step)
        events = sum(len(saying) for saying in SAYINGS)
        assert svc.worker.decide_batch([(PAGE, p) for p in batch], 100) == events
        assert "could not be decided together" not in caplog.text  # not the fallback path
        assert svc.worker._one_at_a_time([(PAGE, p) for p in alone], 100) == events
        for one, other in zip(batch, alone, strict=True):
            assert stored_as_contact_sees_it(svc, one) == stored_as_contact_sees_it(svc, other)
            assert stored_raw(svc, one) == stored_raw(svc, other)  # the very text of a time
            assert arrivals_and_events_raw(svc, one) == arrivals_and_events_raw(svc, other)
        assert outbox_as_contact_sees_it(svc, batch) == outbox_as_contact_sees_it(svc, alone)
        first = stored_as_contact_sees_it(svc, batch[2])
        assert first["contact"]["first_name"] == "N2"  # its profile, looked up before
        assert first["tags"] == ["old"]
        assert first["fields"] == [("color", "red")]
        quiet = stored_as_contact_sees_it(svc, batch[3])
        assert [(f["purpose"], f["status"]) for f in quiet["follow_ups"]] == [
            ("follow_up", "pending"),
            ("window_closing", "superseded"),  # by "hello"'s, in the same batch
            ("window_closing", "pending"),
        ]
        raw = arrivals_and_events_raw(svc, batch[1])
        assert [row["via"] for row in raw["arrivals"]] == ["direct"]
        assert [row["status"] for row in raw["inbox"]] == ["done", "done"]
    finally:
        svc.stop()


def arrivals_and_events_raw(svc: Service, psid: str) -> dict[str, list[dict[str, Any]]]:
    """The contact's arrival and inbox rows as the database holds them, as `stored_raw`."""
    got: dict[str, list[dict[str, Any]]] = {}
    with svc.engine.connect() as connection:
        for table, column, columns in (
            ("arrivals", "psid", "page_id, ref, source, via, ref_missing, at"),
            ("inbox", "contact_id", "status, processed_at, error, attempts, notes, kind"),
        ):
            rows = connection.execute(
                text(f"SELECT {columns} FROM {table} WHERE {column} = :psid ORDER BY id"),
                {"psid": psid},
            ).mappings()
            got[table] = [
                {
                    key: json.loads(value) if key == "notes" and isinstance(value, str) else value
                    for key, value in row.items()
                }
                for row in rows
            ]
    return got


def test_only_new_contacts_with_an_event_that_makes_them_are_looked_up_once(
    database_url: str, sim: RunningSimulator, tmp_path: Path
) -> None:
    """issue 13: E. A batch looks up the profile of a contact not stored yet whose events
    make one (a message), not of a stored contact, nor of one with a read receipt alone."""
    svc = service(database_url, sim, tmp_path, FakeClock(START))
    try:
        for psid, name in (("7001", "Ana"), ("7004", "Di"), ("7005", "Ed")):
            sim.control.add_contact(psid, first_name=name)
        asked = profiles_asked(svc)
        say(svc, "7001", "count", 0)
        assert drain(svc) == 1 and asked == ["7001"]
        say(svc, "7001", "count", 1)
        say(svc, "7004", "count", 2)
        at = int((START + timedelta(seconds=3)).timestamp() * 1000)
        read = {"sender": {"id": "7005"}, "recipient": {"id": PAGE}, "timestamp": at,
                "read": {"watermark": at}}  # fmt: skip
        raw = json.dumps({"object": "page", "entry": [{"id": PAGE, "messaging": [read]}]})
        parsed = parse_body(raw.encode(), 1_000_000, received_at=START)
        assert store_batch(svc.engine, [inbox_row(e) for e in parsed.events], START) == 1
        assert drain(svc) == 3
        assert asked == ["7001", "7004"]
        assert decided(svc) == {"7001": ["first Ana", "again Ana"], "7004": ["first Di"]}
    finally:
        svc.stop()


def profiles_asked(svc: Any) -> list[str]:
    """The contacts whose profile the worker asks the Graph API for, in order, from now."""
    client = svc.worker.pages[PAGE].client
    real, asked = client.get_profile, []

    def get_profile(psid: str) -> Any:
        asked.append(psid)
        return real(psid)

    client.get_profile = get_profile
    return asked
