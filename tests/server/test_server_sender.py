"""What happens to a queued message when Facebook says no: retried, failed, held, paused.

Facebook is a plain function here (FunctionTransport) answering with the
error bodies Facebook really sends (copied from
/work/shared/messenger/samples/graph_error_examples.json; the 613 and code 4
bodies use the texts in errors.md). The outbox is a real database, SQLite and
PostgreSQL, and time is a FakeClock, so backoff is checked without sleeping.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pageflows.clock import FakeClock
from pageflows.service import health, pages
from pageflows.service.graph.client import GraphClient
from pageflows.service.graph.transport import FunctionTransport, Request, Response, TransportError
from pageflows.service.sender import LEASE, Sender, release_held
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import Contact, OutboxMessage

PAGE = "104123456789012"
PSID = "9000000000000001"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def graph_error(status: int, code: int, message: str, **extra: Any) -> Response:
    error = {"message": message, "type": "OAuthException", "code": code, **extra}
    return Response(status, {"error": {**error, "fbtrace_id": "AbCdEfGhIjK"}})


RATE_LIMIT_613 = graph_error(400, 613, "(#613) Calls to this api have exceeded the rate limit.")
APP_LIMIT_4 = graph_error(400, 4, "(#4) Application request limit reached")
PAGE_LIMIT_32 = graph_error(400, 32, "(#32) Page request limit reached")
UNKNOWN_1 = graph_error(500, 1, "An unknown error has occurred.")
OUTSIDE_WINDOW_MESSAGE = (
    "(#10) This message is sent outside of allowed window. Learn more about the new policy "
    "here: https://developers.facebook.com/docs/messenger-platform/policy-overview"
)
OUTSIDE_WINDOW = graph_error(400, 10, OUTSIDE_WINDOW_MESSAGE, error_subcode=2018278)
INVALID_TOKEN = graph_error(400, 190, "Invalid OAuth access token.")
TOKEN_EXPIRED = graph_error(
    400,
    190,
    "Error validating access token: Session has expired on Thursday, 01-Jan-26 00:00:00 PST. "
    "The current time is Friday, 02-Jan-26 00:00:00 PST.",
    error_subcode=463,
)
PERMISSION_200 = graph_error(403, 200, "(#200) Permissions error")


def accepted(n: int) -> Response:
    return Response(200, {"recipient_id": PSID, "message_id": f"m_accepted_{n}"})


Answer = Response | Exception


class ScriptedFacebook:
    """Answers the Send API with a script, then accepts everything."""

    def __init__(self, *script: Answer) -> None:
        self.script = list(script)
        self.calls = 0

    def __call__(self, request: Request) -> Response:
        assert request.method == "POST" and request.path == "me/messages"
        self.calls += 1
        answer = self.script.pop(0) if self.script else accepted(self.calls)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


class Outbox:
    def __init__(
        self,
        engine: Engine,
        facebook: Callable[[Request], Response],
        token: str = "page-token",
        clock: FakeClock | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock or FakeClock(START)
        self.transport = FunctionTransport(facebook)
        self.client = GraphClient(self.transport, token)
        self.sender = Sender(engine, {PAGE: self.client}, self.clock, random.Random(7))

    def restart(self, facebook: Callable[[Request], Response], token: str) -> Outbox:
        """A new process on the same database, perhaps with a new token."""
        fresh = Outbox(self.engine, facebook, token, self.clock)
        pages.resume_if_token_replaced(self.engine, {PAGE: token}, self.clock.now())
        return fresh

    def queue(
        self,
        text: str = "Your order has shipped",
        psid: str = PSID,
        expires_at: datetime | None = None,
    ) -> int:
        with Session(self.engine) as session, session.begin():
            row = OutboxMessage(
                page_id=PAGE,
                contact_id=psid,
                kind="message",
                body={
                    "recipient": {"id": psid},
                    "messaging_type": "RESPONSE",
                    "message": {"text": text},
                },
                preview=text,
                messaging_type="RESPONSE",
                status="queued",
                created_at=self.clock.now(),
                expires_at=expires_at or self.clock.now() + timedelta(hours=24),
                attempts=0,
            )
            session.add(row)
            session.flush()
            return row.id

    def row(self, row_id: int) -> OutboxMessage:
        with Session(self.engine) as session:
            found = session.get(OutboxMessage, row_id)
            assert found is not None
            session.expunge(found)
            return found

    def rows(self) -> list[OutboxMessage]:
        with Session(self.engine) as session:
            found = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
            session.expunge_all()
            return found

    def run_until_quiet(self, step: timedelta = timedelta(seconds=1), limit: int = 10_000) -> None:
        """Drain, letting time pass, until nothing is queued (bounded)."""
        for _ in range(limit):
            self.sender.drain()
            if not any(r.status in ("queued", "claimed", "sending") for r in self.rows()):
                return
            self.clock.advance(step)
        raise AssertionError("the outbox never drained")


def outbox(engine: Engine, *script: Answer) -> Outbox:
    return Outbox(engine, ScriptedFacebook(*script))


@pytest.mark.parametrize(
    "answer", [RATE_LIMIT_613, APP_LIMIT_4, PAGE_LIMIT_32], ids=["613", "code4", "code32"]
)
def test_a_rate_limited_message_waits_and_then_goes_out(engine: Engine, answer: Response) -> None:
    box = outbox(engine, answer)
    row_id = box.queue()
    assert box.sender.drain() == 1
    waiting = box.row(row_id)
    assert waiting.status == "queued" and waiting.attempts == 1
    assert waiting.next_attempt_at is not None and waiting.next_attempt_at > START
    assert waiting.error_code == answer.body["error"]["code"]

    assert box.sender.drain() == 0  # not before its time: Facebook is not hammered
    assert len(box.transport.requests) == 1
    box.clock.set(waiting.next_attempt_at)
    assert box.sender.drain() == 1
    sent = box.row(row_id)
    assert sent.status == "sent" and sent.message_id == "m_accepted_2"
    assert sent.attempts == 2 and sent.sent_at == waiting.next_attempt_at
    assert sent.possible_duplicate is False


def rate_limited_until(clock: FakeClock, until: datetime) -> Callable[[Request], Response]:
    calls = [0]

    def facebook(request: Request) -> Response:
        calls[0] += 1
        return RATE_LIMIT_613 if clock.now() < until else accepted(calls[0])

    return facebook


def test_40_seconds_of_rate_limiting_slow_the_page_and_lose_nothing(engine: Engine) -> None:
    """Before: 100 replies became 500 calls (95 in one second) and all 100 failed."""
    clock = FakeClock(START)
    box = Outbox(engine, rate_limited_until(clock, START + timedelta(seconds=40)), clock=clock)
    ids = [box.queue(f"reply {n}", psid=f"90000000000{n:05d}") for n in range(100)]
    box.run_until_quiet(step=timedelta(milliseconds=500))
    rows = [box.row(i) for i in ids]
    assert [r.status for r in rows] == ["sent"] * 100
    during = [r for r in box.transport.requests if r.json is not None]
    refused = len(during) - 100
    assert refused <= 12  # one probe per backoff step while Facebook says 613, not 400 calls
    assert not any(r.possible_duplicate for r in rows)
    with Session(engine) as session:
        assert pages.strikes(session, PAGE) == 0  # recovered: full pace again


def test_facebooks_estimate_of_when_access_returns_is_respected(engine: Engine) -> None:
    usage = (
        '{"104123456789012":[{"type":"pages","call_count":100,'
        '"estimated_time_to_regain_access":3}]}'
    )
    limited = Response(400, RATE_LIMIT_613.body, {"X-Business-Use-Case-Usage": usage})
    box = outbox(engine, limited)
    row_id = box.queue()
    box.sender.drain()
    waiting = box.row(row_id)
    assert waiting.next_attempt_at == START + timedelta(minutes=3)
    box.clock.advance(timedelta(minutes=2, seconds=59))
    assert box.sender.drain() == 0
    box.clock.advance(timedelta(seconds=1))
    assert box.sender.drain() == 1 and box.row(row_id).status == "sent"


def test_a_graph_outage_of_60_seconds_loses_none_of_the_replies_due_in_it(engine: Engine) -> None:
    """Before: 60 of 119 replies were failed for good after 5 tries over ~32 s."""
    clock = FakeClock(START)
    up_at = START + timedelta(seconds=60)
    calls = [0]

    def facebook(request: Request) -> Response:
        calls[0] += 1
        if clock.now() < up_at:
            raise TransportError("POST me/messages: ConnectionError", maybe_delivered=False)
        return accepted(calls[0])

    box = Outbox(engine, facebook, clock=clock)
    for n in range(119):
        box.queue(f"reply {n}", psid=f"91000000000{n:05d}")
        box.sender.drain()
        clock.advance(timedelta(milliseconds=500))
    box.run_until_quiet(step=timedelta(milliseconds=500))
    rows = box.rows()
    assert len(rows) == 119 and {r.status for r in rows} == {"sent"}
    assert not any(r.possible_duplicate for r in rows)  # a refused connection cannot deliver
    assert max(r.sent_at for r in rows if r.sent_at) < up_at + timedelta(seconds=90)


def test_a_reply_that_cannot_go_before_its_window_closes_is_skipped_with_the_reason(
    engine: Engine,
) -> None:
    box = outbox(engine, *[UNKNOWN_1] * 10_000)
    row_id = box.queue(expires_at=START + timedelta(minutes=10))
    box.run_until_quiet(step=timedelta(seconds=5))
    skipped = box.row(row_id)
    assert skipped.status == "skipped" and skipped.reason == "window_closed_while_waiting"
    assert "09:10" in (skipped.detail or "") and skipped.error_code == 1
    calls = len(box.transport.requests)
    assert 10 <= calls <= 40  # retried all along the window, with backoff
    box.clock.advance(timedelta(hours=1))
    box.sender.drain()
    assert len(box.transport.requests) == calls


def test_a_reply_whose_window_reopened_while_it_waited_still_goes(engine: Engine) -> None:
    box = outbox(engine, UNKNOWN_1)
    row_id = box.queue(expires_at=START + timedelta(seconds=1))
    with Session(engine) as session, session.begin():
        session.add(
            Contact(
                page_id=PAGE,
                psid=PSID,
                state={"id": PSID},
                last_user_message_at=START + timedelta(seconds=30),
                updated_at=START,
            )
        )
    box.sender.drain()
    box.clock.advance(timedelta(minutes=5))
    box.sender.drain()
    assert box.row(row_id).status == "sent"


def test_a_message_outside_the_window_fails_at_once_with_facebooks_reason(
    engine: Engine,
) -> None:
    box = outbox(engine, OUTSIDE_WINDOW)
    row_id = box.queue()
    box.sender.drain()
    failed = box.row(row_id)
    assert failed.status == "failed" and failed.attempts == 1
    assert failed.reason == "window_closed"
    assert (failed.error_code, failed.error_subcode) == (10, 2018278)
    assert failed.error_message == OUTSIDE_WINDOW_MESSAGE
    assert failed.next_attempt_at is None
    box.clock.advance(timedelta(hours=1))
    assert box.sender.drain() == 0 and len(box.transport.requests) == 1  # never retried


@pytest.mark.parametrize(
    "answer",
    [INVALID_TOKEN, TOKEN_EXPIRED, PERMISSION_200],
    ids=["invalid_token", "token_expired", "permission"],
)
def test_a_token_problem_pauses_the_page_and_a_new_token_resumes_it_in_order(
    engine: Engine, answer: Response, caplog: pytest.LogCaptureFixture
) -> None:
    box = outbox(engine, answer)
    first, second = box.queue("first"), box.queue("second", psid="9000000000000002")
    with caplog.at_level(logging.INFO, logger="pageflows.sender"):
        box.sender.drain()
        box.clock.advance(timedelta(hours=1))
        assert box.sender.drain() == 0  # paused: nothing is tried, nothing is failed
    assert len(box.transport.requests) == 1
    error = answer.body["error"]
    for row in (box.row(first), box.row(second)):
        assert row.status == "queued"
    assert box.row(first).error_code == error["code"]
    errors = [r for r in caplog.records if r.name == "pageflows.sender" and r.levelno >= 40]
    assert len(errors) == 1 and error["message"] in errors[0].getMessage()
    assert PAGE in errors[0].getMessage() and "paused" in errors[0].getMessage()

    same = box.restart(ScriptedFacebook(), "page-token")  # restarted with the same bad token
    assert same.sender.drain() == 0
    fixed = box.restart(ScriptedFacebook(), "new-page-token")
    assert fixed.sender.drain() == 2
    sent = [r.json["message"]["text"] for r in fixed.transport.requests if r.json]
    assert sent == ["first", "second"]
    assert fixed.transport.requests[0].params["access_token"] == "new-page-token"


def test_a_refusal_that_is_not_the_operators_business_is_only_a_warning(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    box = outbox(engine, OUTSIDE_WINDOW)
    box.queue()
    with caplog.at_level(logging.INFO, logger="pageflows.sender"):
        box.sender.drain()
    levels = [r.levelno for r in caplog.records if r.name == "pageflows.sender"]
    assert levels == [logging.WARNING]


def test_a_refused_connection_is_retried_without_flagging_a_duplicate(engine: Engine) -> None:
    refused = TransportError("POST me/messages: ConnectionError", maybe_delivered=False)
    box = outbox(engine, refused, UNKNOWN_1)
    row_id = box.queue()
    box.sender.drain()
    first = box.row(row_id)
    assert first.status == "queued" and first.attempts == 1
    assert first.error_code is None and "ConnectionError" in (first.error_message or "")
    assert first.next_attempt_at is not None
    box.clock.set(first.next_attempt_at)
    box.sender.drain()
    second = box.row(row_id)  # Facebook's own "unknown error" (HTTP 500, code 1) is transient too
    assert second.status == "queued" and second.attempts == 2 and second.error_code == 1
    assert second.next_attempt_at is not None and second.next_attempt_at > first.next_attempt_at
    box.clock.set(second.next_attempt_at)
    box.sender.drain()
    sent = box.row(row_id)
    assert sent.status == "sent" and sent.message_id == "m_accepted_3" and sent.attempts == 3
    assert sent.possible_duplicate is False


def test_a_timeout_is_sent_again_once_and_flagged_as_a_possible_duplicate(engine: Engine) -> None:
    """Facebook may have delivered a message whose answer timed out."""
    box = outbox(engine, TransportError("POST me/messages: ReadTimeout"))
    row_id = box.queue()
    box.run_until_quiet()
    sent = box.row(row_id)
    assert sent.status == "sent" and sent.attempts == 2 and sent.possible_duplicate is True


def test_two_timeouts_fail_the_message_rather_than_risk_a_third_copy(engine: Engine) -> None:
    timeout = TransportError("POST me/messages: ReadTimeout")
    box = outbox(engine, timeout, timeout)
    row_id = box.queue()
    box.run_until_quiet()
    failed = box.row(row_id)
    assert failed.status == "failed" and failed.reason == "in_doubt"
    assert failed.possible_duplicate is True and len(box.transport.requests) == 2
    report = health.report(engine, box.clock.now())
    assert report["outbox"]["failed_in_doubt"] == 1
    assert any("failed in doubt" in problem for problem in report["problems"])


def test_a_message_left_sending_by_a_crash_is_sent_again_once_and_flagged(engine: Engine) -> None:
    box = outbox(engine)
    row_id = box.queue()
    [claimed] = box.sender.claim(10)
    assert box.sender.start_attempt(claimed)  # the call is made; the process dies before its answer
    assert box.row(row_id).status == "sending"
    assert box.sender.drain() == 0  # still leased: another process may be mid-call
    box.clock.advance(LEASE + timedelta(seconds=1))
    assert box.sender.drain() == 1
    sent = box.row(row_id)
    assert sent.status == "sent" and sent.possible_duplicate is True and sent.attempts == 2
    box.sender.record(claimed, claimed.body, accepted(99), "page-token")  # the dead call's answer
    assert box.row(row_id).message_id == sent.message_id  # late answers change nothing


def test_claimed_messages_a_crash_left_untried_go_out_without_a_duplicate_flag(
    engine: Engine,
) -> None:
    box = outbox(engine)
    ids = [box.queue(f"message {n}", psid=f"92000000000{n:05d}") for n in range(5)]
    box.sender.claim(10)  # the process dies after claiming, before any call
    assert {box.row(i).status for i in ids} == {"claimed"}
    box.clock.advance(LEASE + timedelta(seconds=1))
    assert box.sender.drain() == 5
    rows = [box.row(i) for i in ids]
    assert [r.status for r in rows] == ["sent"] * 5
    assert not any(r.possible_duplicate for r in rows) and {r.attempts for r in rows} == {1}


def test_two_crashes_during_the_same_send_fail_it_rather_than_send_a_third_copy(
    engine: Engine,
) -> None:
    box = outbox(engine)
    row_id = box.queue()
    for _ in range(2):
        [claimed] = box.sender.claim(10)
        assert box.sender.start_attempt(claimed)
        box.clock.advance(LEASE + timedelta(seconds=1))
    assert box.sender.drain() == 0
    failed = box.row(row_id)
    assert failed.status == "failed" and failed.reason == "in_doubt"
    assert failed.possible_duplicate is True


def test_a_thread_owned_by_another_app_holds_the_message_until_it_comes_back(
    engine: Engine,
) -> None:
    elsewhere = graph_error(
        400, 10, "(#10) Another app is controlling this thread", error_subcode=2018300
    )
    box = outbox(engine, elsewhere)
    with Session(engine) as session, session.begin():
        session.add(Contact(page_id=PAGE, psid=PSID, state={"id": PSID}, updated_at=START))
    row_id = box.queue()
    box.sender.drain()
    held = box.row(row_id)
    assert held.status == "held" and held.reason == "thread_elsewhere"
    with Session(engine) as session:
        contact = session.get(Contact, (PAGE, PSID))
        assert contact is not None and contact.state["handed_off"] is True
    box.clock.advance(timedelta(hours=1))
    assert box.sender.drain() == 0
    with Session(engine) as session, session.begin():
        assert release_held(session, PAGE, PSID, START, box.clock.now()) == 1
    box.sender.drain()
    assert box.row(row_id).status == "sent"


def test_a_held_message_whose_window_closed_meanwhile_is_skipped_on_release(engine: Engine) -> None:
    elsewhere = graph_error(
        400, 10, "(#10) Another app is controlling this thread", error_subcode=2018300
    )
    box = outbox(engine, elsewhere)
    row_id = box.queue(expires_at=START + timedelta(hours=2))
    box.sender.drain()
    box.clock.advance(timedelta(hours=3))
    with Session(engine) as session, session.begin():
        assert release_held(session, PAGE, PSID, START - timedelta(hours=22), box.clock.now()) == 0
    skipped = box.row(row_id)
    assert skipped.status == "skipped" and skipped.reason == "window_closed_while_waiting"
    assert "another app had the conversation" in (skipped.detail or "")


def test_a_refused_message_does_not_hold_up_the_others(engine: Engine) -> None:
    unavailable = graph_error(400, 551, "This person isn't available right now.")
    box = outbox(engine, unavailable)
    refused, other = box.queue("first"), box.queue("second", psid="9000000000000002")
    assert box.sender.drain() == 2
    assert box.row(refused).status == "failed" and box.row(refused).reason == "contact_unavailable"
    assert box.row(other).status == "sent"


def test_a_contacts_messages_keep_their_order_through_retries(engine: Engine) -> None:
    box = outbox(engine, UNKNOWN_1)
    box.queue("one")
    box.queue("two")
    box.run_until_quiet()
    sent = [r.json["message"]["text"] for r in box.transport.requests if r.json]
    assert sent == ["one", "one", "two"]


def test_one_contact_facebook_keeps_refusing_does_not_block_the_others(engine: Engine) -> None:
    """Code 2 can mean this person blocked the Page: it must not hold up the page for a day."""
    bad = "9300000000000000"
    calls = [0]

    def facebook(request: Request) -> Response:
        calls[0] += 1
        assert request.json is not None
        if request.json["recipient"]["id"] == bad:
            return graph_error(500, 2, "Service temporarily unavailable", is_transient=True)
        return accepted(calls[0])

    box = Outbox(engine, facebook)
    box.queue("to the one who blocked us", psid=bad)
    others = [box.queue(f"reply {n}", psid=f"93000000000{n:05d}") for n in range(1, 21)]
    for _ in range(60):
        box.sender.drain()
        box.clock.advance(timedelta(seconds=1))
    assert [box.row(i).status for i in others] == ["sent"] * 20
    to_bad = [r for r in box.transport.requests if r.json and r.json["recipient"]["id"] == bad]
    assert len(to_bad) <= 8  # its own backoff, not one probe per second


def test_a_message_that_breaks_the_sender_is_failed_and_the_others_go(engine: Engine) -> None:
    box = outbox(engine)
    with Session(engine) as session, session.begin():
        session.add(
            OutboxMessage(
                page_id=PAGE,
                contact_id=PSID,
                kind="message",
                body={
                    "recipient": {"id": PSID},
                    "message": {
                        "attachment": {"type": "image", "payload": ["not", "an", "object"]}
                    },
                },
                preview="broken",
                status="queued",
                created_at=START,
                attempts=0,
            )
        )
    good = box.queue("fine", psid="9000000000000002")
    assert box.sender.drain() == 2
    broken = box.rows()[0]
    assert broken.status == "failed" and broken.reason == "cannot_send"
    assert "AttributeError" in (broken.detail or "")
    assert box.row(good).status == "sent"


def test_a_process_whose_claim_ran_out_cannot_send_what_another_took_over(
    engine: Engine,
) -> None:
    slow = outbox(engine)
    row_id = slow.queue()
    slow.queue("to someone else", psid="9000000000000002")
    mine, _ = slow.sender.claim(10)  # then this process stalls past its lease
    assert not mine.in_flight  # two rows: each is marked in flight just before its call
    slow.clock.advance(LEASE + timedelta(seconds=1))
    other = Outbox(engine, ScriptedFacebook(), clock=slow.clock)
    assert other.sender.drain() == 2
    assert slow.sender.start_attempt(mine) is False  # no longer ours: no second send
    sent = slow.row(row_id)
    assert sent.status == "sent" and sent.possible_duplicate is False
    assert len(slow.transport.requests) == 0 and len(other.transport.requests) == 2


def test_a_lone_message_marked_in_flight_by_its_claim_is_not_sent_after_a_stall(
    engine: Engine,
) -> None:
    """issue 13 (seventh session): on PostgreSQL a claim of one message whose turn is now
    marks it in flight itself (a transaction less before the call). A process that stalls
    after that claim, past its lease, must not send it: another took it over, flagged as
    in doubt (its call may have started), and sent it once."""
    slow = outbox(engine)
    row_id = slow.queue()
    [mine] = slow.sender.claim(10)
    assert mine.in_flight is (engine.dialect.name == "postgresql")
    assert slow.row(row_id).status == ("sending" if mine.in_flight else "claimed")
    slow.clock.advance(LEASE + timedelta(seconds=1))
    other = Outbox(engine, ScriptedFacebook(), clock=slow.clock)
    assert other.sender.drain() == 1
    assert slow.sender.send_claimed(mine) is None  # late: checked again, no longer ours
    sent = slow.row(row_id)
    assert sent.status == "sent" and sent.possible_duplicate is mine.in_flight
    assert len(slow.transport.requests) == 0 and len(other.transport.requests) == 1


def test_a_lone_message_given_back_untried_goes_out_later_unflagged(engine: Engine) -> None:
    """A row its claim marked in flight, given back before its call (its page was slowed,
    the process is stopping): queued again as never tried, not in doubt."""
    box = outbox(engine)
    row_id = box.queue()
    [mine] = box.sender.claim(10)
    box.sender.unclaim(mine)
    back = box.row(row_id)
    assert back.status == "queued" and back.attempts == 0 and back.lease_until is None
    assert box.sender.drain() == 1
    sent = box.row(row_id)
    assert sent.status == "sent" and sent.possible_duplicate is False and sent.attempts == 1


def test_a_drain_says_whether_it_left_rows_it_could_send_now(engine: Engine) -> None:
    """The serve loop drains again at once only when the last drain left something it could
    have sent (issue 13, seventh session); otherwise new rows ring its alarm."""
    box = outbox(engine)
    box.queue()
    assert box.sender.drain() == 1 and box.sender.left_behind is False
    ids = [box.queue(f"message {n}", psid=f"92100000000{n:05d}") for n in range(3)]
    assert box.sender.drain(limit=2) == 2 and box.sender.left_behind is True
    assert box.sender.drain(limit=2) == 1 and box.sender.left_behind is False
    assert [box.row(i).status for i in ids] == ["sent"] * 3


def test_a_failing_notify_url_does_not_slow_the_page(engine: Engine) -> None:
    def facebook(request: Request) -> Response:
        if request.path.startswith("http"):
            raise TransportError(f"POST {request.path}: ConnectionError", maybe_delivered=False)
        return accepted(1)

    box = Outbox(engine, facebook)
    with Session(engine) as session, session.begin():
        session.add(
            OutboxMessage(
                page_id=PAGE,
                contact_id=PSID,
                kind="notify",
                body={"url": "http://127.0.0.1:9/hook", "payload": {"psid": PSID}},
                preview="notify",
                status="queued",
                created_at=START,
                attempts=0,
            )
        )
    box.sender.drain()
    reply = box.queue("a reply", psid="9000000000000002")
    assert box.sender.drain() == 1 and box.row(reply).status == "sent"
    with Session(engine) as session:
        assert pages.strikes(session, PAGE) == 0
    box.clock.advance(timedelta(days=3))
    box.run_until_quiet(step=timedelta(minutes=10))
    assert box.rows()[0].status == "failed" and box.rows()[0].reason == "gave_up"
