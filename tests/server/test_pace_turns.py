"""Turns of a page's pace handed to whichever call is ready (`Pacer.book`, `Pacer.wait_for`):
a call that is late does not cost the page a turn while another call was ready for it, and
no turn is ever used twice, so no more calls start than turns were reserved."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pageflows.clock import FakeClock, SystemClock
from pageflows.service.pace import Pacer
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import PageState

PAGE = "104123456789012"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def paced(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add(PageState(page_id=PAGE, rate_limit_strikes=0, updated_at=START))
    yield engine
    engine.dispose()


def test_a_ready_call_takes_the_earliest_turn_not_yet_missed(paced: Engine) -> None:
    clock = FakeClock(START)
    pacer = Pacer(paced, clock, {PAGE: 10})
    turns = pacer.reserve(PAGE, 3)  # as a claim books them: next_send_at moved past them
    pacer.book(PAGE, turns)
    # The first call is late: 30 ms after the first turn (grace: 20 ms), which has passed
    # unused. The call takes the next turn, not a fresh one at the end of the schedule.
    clock.set(turns[0] + timedelta(milliseconds=30))
    assert pacer.wait_for(PAGE, turns[0]) == turns[1]
    # The call whose own turn that was, ready in time for the one after, uses it.
    assert pacer.wait_for(PAGE, turns[1]) == turns[2]
    assert pacer.booked(PAGE) == []
    # Nothing booked is left: a fresh turn, after every one reserved before.
    fresh = pacer.wait_for(PAGE, turns[2])
    assert fresh > turns[2] and fresh == clock.now()


def test_calls_ready_early_go_in_the_order_of_the_turns_whichever_row_they_send(
    paced: Engine,
) -> None:
    clock = FakeClock(START)
    pacer = Pacer(paced, clock, {PAGE: 10})
    turns = pacer.reserve(PAGE, 4)
    pacer.book(PAGE, turns[2:])  # booked in two claims, the later one first
    pacer.book(PAGE, turns[:2])
    assert pacer.booked(PAGE) == turns
    assert [pacer.wait_for(PAGE) for _ in turns] == turns


def test_no_turn_is_ever_handed_out_twice(paced: Engine) -> None:
    """Calls of many threads take turns booked by claims while more are booked: each turn
    goes to one call, and none is used that was not reserved."""
    pacer = Pacer(paced, SystemClock(), {PAGE: 250})
    booked: list[datetime] = []
    taken: list[datetime] = []
    lock = threading.Lock()

    def claim() -> None:
        for _ in range(10):
            turns = pacer.reserve(PAGE, 10)
            with lock:
                booked.extend(turns)
            pacer.book(PAGE, turns)

    def call() -> None:
        for _ in range(25):
            turn = pacer.wait_for(PAGE)
            with lock:
                taken.append(turn)

    threads = [threading.Thread(target=claim)] + [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == 100
    assert len(set(taken)) == len(taken)
    reserved_fresh = [t for t in taken if t not in booked]  # a call found nothing booked
    assert len(set(booked) | set(reserved_fresh)) == len(booked) + len(reserved_fresh)
