"""Races a review found between processes (and threads), each pinned by the behaviour that
must hold: order per contact, one probe per page, the pace shared, no starved page."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))
from test_server_sender import PAGE, PSID, START, Outbox, ScriptedFacebook, engine  # noqa: F401

from pageflows.clock import FakeClock, SystemClock
from pageflows.service.graph.client import Sent
from pageflows.service.pace import Pacer
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import InboxEvent, OutboxMessage, PageState
from pageflows.service.worker import Worker


def test_a_database_error_while_recording_a_send_never_lets_the_next_message_overtake(
    engine: Any,  # noqa: F811  (the fixture of test_server_sender)
) -> None:
    """A DB error while recording a delivered message: the group goes on to the next row."""
    box = Outbox(engine, ScriptedFacebook())
    box.queue("first"), box.queue("second")
    real, failed = box.sender.record, []

    def flaky(claimed, body, outcome, token):
        if not failed:
            failed.append(claimed.id)
            raise OperationalError("UPDATE outbox", {}, Exception("server closed the connection"))
        return real(claimed, body, outcome, token)

    box.sender.record = flaky
    box.sender.drain()
    box.clock.advance(timedelta(seconds=31))
    box.sender.record = real
    box.run_until_quiet()
    texts = [r.json["message"]["text"] for r in box.transport.requests]
    assert texts == ["first", "second"], texts


def test_a_contacts_later_event_never_runs_while_its_earlier_one_is_being_marked_failed(
    postgres_url,
) -> None:
    """Another process holds E1's row (recording its failure): the next pass for the
    contact waits for E1 instead of skipping to E2, and takes E1 once it is free."""
    db = make_engine(postgres_url)
    upgrade(db)
    with Session(db) as s, s.begin():
        for n in (1, 2):
            s.add(
                InboxEvent(
                    page_id=PAGE,
                    contact_id=PSID,
                    kind="message",
                    dedup_key=f"k{n}",
                    received_at=START,
                    payload={},
                    status="pending",
                )
            )
    e1, e2 = sorted(db.connect().execute(text("select id from inbox")).scalars())
    other = db.connect()
    tx = other.begin()
    other.execute(text("select * from inbox where id=:i for update"), {"i": e1})  # `_failed`
    worker = Worker(db, {}, FakeClock(START))
    passing = threading.Thread(target=worker.process_one, args=(None, PAGE, PSID, START))
    passing.start()
    passing.join(timeout=1.0)
    assert passing.is_alive()  # waiting for E1, not deciding E2

    def statuses() -> dict[int, str]:
        with Session(db) as s:
            return {r.id: r.status for r in s.scalars(select(InboxEvent))}

    assert statuses()[e2] == "pending"
    tx.rollback()  # the other process is done with E1
    passing.join(timeout=10)
    assert not passing.is_alive()
    after = statuses()
    assert after[e1] != "pending" and after[e2] == "pending"  # E1 first, E2 still waits
    other.close()
    db.dispose()


def test_a_throttled_page_gets_one_probe_across_processes(postgres_url) -> None:
    db = make_engine(postgres_url)
    upgrade(db)
    a = Outbox(db, ScriptedFacebook())
    b = Outbox(db, ScriptedFacebook(), clock=a.clock)
    for n in range(5):
        a.queue(f"m{n}", psid=f"90000000000000{n:02d}")
    a.sender.claim(0)  # page rows made
    with Session(db) as s, s.begin():
        s.execute(
            update(PageState).values(rate_limit_strikes=3, slow_until=START - timedelta(seconds=1))
        )
    probes = a.sender.claim(10) + b.sender.claim(10)
    assert len(probes) == 1


def test_many_processes_never_book_slots_beyond_their_claims_lease(postgres_url) -> None:
    db = make_engine(postgres_url)
    upgrade(db)
    clock = FakeClock(START)
    boxes = [Outbox(db, ScriptedFacebook(), clock=clock) for _ in range(17)]
    for n in range(17 * 40):
        boxes[0].queue(f"m{n}", psid=f"9{n:015d}")
    claims = [box.sender.claim(200) for box in boxes]
    lease = boxes[0].sender.lease
    slots = [row.slot for claim in claims for row in claim if row.slot is not None]
    # Processes claim until the pace is booked a little ahead, then leave the rest queued:
    # no claimed row waits for a slot beyond its lease (it would be taken over unsent).
    assert slots and max(slots) - START < lease
    assert any(not claim for claim in claims)  # the later ones found the page booked


@pytest.mark.parametrize("rounds", [200])
def test_sqlite_never_hands_out_one_slot_twice(tmp_path, rounds) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(db)
    with Session(db) as s, s.begin():
        s.add(PageState(page_id=PAGE, rate_limit_strikes=0, updated_at=START))
    pacer = Pacer(db, SystemClock(), {PAGE: 20})
    dupes = 0
    for _ in range(rounds):
        got: list = []
        barrier = threading.Barrier(4)

        def go(barrier: threading.Barrier = barrier, got: list[Any] = got) -> None:
            barrier.wait()
            got.extend(pacer.reserve(PAGE))

        threads = [threading.Thread(target=go) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        dupes += len(got) - len(set(got))
    assert dupes == 0


def test_rows_waiting_to_retry_never_starve_the_page(engine) -> None:  # noqa: F811
    box = Outbox(engine, ScriptedFacebook())
    with Session(engine) as s, s.begin():
        for n in range(500):
            s.add(
                OutboxMessage(
                    page_id=PAGE,
                    contact_id=f"8{n:015d}",
                    kind="notify",
                    body={"url": "http://crm.invalid/hook", "payload": {}},
                    preview="notify",
                    status="queued",
                    created_at=START,
                    attempts=3,
                    next_attempt_at=START + timedelta(minutes=10),
                )
            )
    reply = box.queue("a reply to someone else")
    n = box.sender.drain()
    assert box.row(reply).status == "sent"


def _same_queue(db: Any, page: str) -> None:
    """Contacts with one or two messages and a notify among them, as a claim meets them."""
    with Session(db) as s, s.begin():
        for n in range(12):
            for text_ in ("first", "second")[: 1 + n % 2]:
                s.add(
                    OutboxMessage(
                        page_id=page,
                        contact_id=f"9{n:015d}",
                        kind="notify" if n == 5 else "message",
                        body={"recipient": {"id": f"9{n:015d}"}, "message": {"text": text_}}
                        if n != 5
                        else {"url": "http://crm.invalid/hook", "payload": {}},
                        preview=text_,
                        status="queued",
                        created_at=START,
                        attempts=0,
                    )
                )


def test_turns_reserved_inside_the_claim_are_those_reserved_after_it(engine) -> None:  # noqa: F811
    """issue 13: E. On PostgreSQL a claim books its rows' turns in its own transaction
    (`slots_in_claim`); booked after it, in a transaction of their own, as SQLite does, the
    same rows get the same turns and the page's next free turn is the same: two pages with
    the same queue, one sender each way, claim for claim."""
    other = "104999999999999"
    clock = FakeClock(START)
    senders = []
    for page, inside in ((PAGE, True), (other, False)):
        box = Outbox(engine, ScriptedFacebook(), clock=clock)
        box.sender.clients = {page: box.client}
        box.sender.pacer = Pacer(engine, clock, {page: 10})
        box.sender.slots_in_claim = inside
        _same_queue(engine, page)
        senders.append(box.sender)
    for _ in range(4):
        inside, after = (sender.claim(7) for sender in senders)
        assert [(r.contact_id, r.kind, r.body, r.slot) for r in inside] == [
            (r.contact_id, r.kind, r.body, r.slot) for r in after
        ]
        with Session(engine) as s:
            booked = dict(s.execute(select(PageState.page_id, PageState.next_send_at)).all())
        assert booked[PAGE] == booked[other]
        with Session(engine) as s, s.begin():  # sent: the contacts' next ones may go
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "claimed")
                .values(status="sent", lease_until=None, claim_token=None)
            )
        clock.advance(timedelta(milliseconds=300))


def test_claims_and_missed_turns_never_share_a_turn_on_postgresql(postgres_url) -> None:
    """issue 13: E. Claims that book turns inside their transaction (several processes, on
    threads here) and lanes booking a fresh turn for one they missed (`Pacer.reserve`),
    all at once: no turn is handed out twice and none closer than the page's interval."""
    db = make_engine(postgres_url)
    upgrade(db)
    clock = SystemClock()
    boxes = [Outbox(db, ScriptedFacebook(), clock=clock) for _ in range(4)]  # type: ignore[arg-type]
    for n in range(4 * 30):
        boxes[0].queue(f"m{n}", psid=f"9{n:015d}")
    boxes[0].sender.claim(0)  # the page's row
    got: list[Any] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(boxes) + 2)

    def claims(box: Outbox) -> None:
        assert box.sender.slots_in_claim
        barrier.wait()
        claimed, deadline = 0, time.monotonic() + 10
        # Five claims that got rows: one finding the page's row locked by another (SKIP
        # LOCKED) or its turns booked ahead gets none, and on a loaded machine all five
        # tries of a thread could (the bound below then failed with every turn distinct).
        while claimed < 5 and time.monotonic() < deadline:
            rows = box.sender.claim(6)
            claimed += bool(rows)
            with lock:
                got.extend(row.slot for row in rows)
            if not rows:
                time.sleep(0.01)

    def missed(pacer: Pacer) -> None:
        barrier.wait()
        for _ in range(10):
            slots = pacer.reserve(PAGE)
            with lock:
                got.extend(slots)

    threads = [threading.Thread(target=claims, args=(box,)) for box in boxes]
    threads += [threading.Thread(target=missed, args=(box.sender.pacer,)) for box in boxes[:2]]
    [t.start() for t in threads]
    [t.join() for t in threads]
    turns = sorted(got)
    assert len(turns) > 20 and len(set(turns)) == len(turns)
    interval = boxes[0].sender.pacer.interval(PAGE)
    assert all(b - a >= interval for a, b in itertools.pairwise(turns))
    db.dispose()


def test_a_contact_with_a_message_claimed_elsewhere_gets_nothing_more_until_it_is_done(
    engine,  # noqa: F811
) -> None:
    """The claim leaves out every contact with a message claimed or in flight in another
    process (issue 13: E, now a condition of the candidates' query): its next message waits,
    other contacts' go."""
    a = Outbox(engine, ScriptedFacebook())
    b = Outbox(engine, ScriptedFacebook(), clock=a.clock)
    first, second = a.queue("first"), a.queue("second")
    other = a.queue("to someone else", psid="9000000000000002")
    [mine] = a.sender.claim(1)
    assert mine.id == first
    assert [row.id for row in b.sender.claim(10)] == [other]
    assert a.sender.start_attempt(mine)  # in flight now: still nothing more for the contact
    assert b.sender.claim(10) == []
    a.sender.record(mine, mine.body, Sent("m_first"), "page-token")
    assert [row.id for row in b.sender.claim(10)] == [second]
