"""What happens to a queued message when Facebook says no: retried, failed, or flagged.

Facebook is a plain function here (FunctionTransport) answering with the
error bodies Facebook really sends (copied from
/work/shared/messenger/samples/graph_error_examples.json; the 613 and code 4
bodies use the texts in errors.md). The outbox is a real database, SQLite and
PostgreSQL, and time is a FakeClock, so backoff is checked without sleeping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pageflows.clock import FakeClock
from pageflows.service.graph.client import GraphClient
from pageflows.service.graph.transport import FunctionTransport, Request, Response, TransportError
from pageflows.service.sender import MAX_ATTEMPTS, Sender
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import OutboxMessage

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
        assert request.params["access_token"] == "page-token"
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
    def __init__(self, engine: Engine, facebook: Callable[[Request], Response]) -> None:
        self.engine = engine
        self.clock = FakeClock(START)
        self.transport = FunctionTransport(facebook)
        client = GraphClient(self.transport, "page-token")
        self.sender = Sender(engine, {PAGE: client}, self.clock)

    def queue(self, text: str = "Your order has shipped") -> int:
        with Session(self.engine) as session, session.begin():
            row = OutboxMessage(
                page_id=PAGE,
                contact_id=PSID,
                kind="message",
                body={
                    "recipient": {"id": PSID},
                    "messaging_type": "RESPONSE",
                    "message": {"text": text},
                },
                preview=text,
                messaging_type="RESPONSE",
                status="queued",
                created_at=self.clock.now(),
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


def test_after_five_transient_failures_the_message_is_failed_with_the_code(
    engine: Engine,
) -> None:
    box = outbox(engine, *[RATE_LIMIT_613] * MAX_ATTEMPTS)
    row_id = box.queue()
    waits = []
    for _ in range(MAX_ATTEMPTS):
        assert box.sender.drain() == 1
        row = box.row(row_id)
        if row.next_attempt_at is not None and row.status == "queued":
            waits.append(row.next_attempt_at - box.clock.now())
            box.clock.set(row.next_attempt_at)
    failed = box.row(row_id)
    assert failed.status == "failed" and failed.attempts == MAX_ATTEMPTS == 5
    assert failed.error_code == 613 and failed.message_id is None
    assert "rate limit" in (failed.error_message or "")
    assert waits == sorted(waits) and waits[0] < waits[-1]  # backing off, not a fixed beat
    assert box.sender.drain() == 0 and len(box.transport.requests) == MAX_ATTEMPTS


def test_a_message_outside_the_window_fails_at_once_with_facebooks_reason(
    engine: Engine,
) -> None:
    box = outbox(engine, OUTSIDE_WINDOW)
    row_id = box.queue()
    box.sender.drain()
    failed = box.row(row_id)
    assert failed.status == "failed" and failed.attempts == 1
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
def test_a_token_problem_fails_the_message_and_tells_the_operator(
    engine: Engine, answer: Response, caplog: pytest.LogCaptureFixture
) -> None:
    box = outbox(engine, answer)
    row_id = box.queue()
    with caplog.at_level(logging.INFO, logger="pageflows.sender"):
        box.sender.drain()
    failed = box.row(row_id)
    error = answer.body["error"]
    assert failed.status == "failed" and failed.attempts == 1
    assert failed.error_code == error["code"] and failed.error_subcode == error.get("error_subcode")
    assert failed.error_message == error["message"]
    errors = [r for r in caplog.records if r.name == "pageflows.sender" and r.levelno >= 40]
    assert len(errors) == 1 and error["message"] in errors[0].getMessage()
    assert errors[0].levelno == logging.ERROR


def test_a_refusal_that_is_not_the_operators_business_is_only_a_warning(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    box = outbox(engine, OUTSIDE_WINDOW)
    box.queue()
    with caplog.at_level(logging.INFO, logger="pageflows.sender"):
        box.sender.drain()
    levels = [r.levelno for r in caplog.records if r.name == "pageflows.sender"]
    assert levels == [logging.WARNING]


def test_a_timeout_is_retried_and_then_sent(engine: Engine) -> None:
    box = outbox(engine, TransportError("POST me/messages: ReadTimeout"), UNKNOWN_1)
    row_id = box.queue()
    box.sender.drain()
    first = box.row(row_id)
    assert first.status == "queued" and first.attempts == 1
    assert first.error_code is None and "ReadTimeout" in (first.error_message or "")
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


def test_one_failing_message_does_not_hold_up_the_others(engine: Engine) -> None:
    box = outbox(engine, RATE_LIMIT_613)
    waiting, other = box.queue("first"), box.queue("second")
    assert box.sender.drain() == 2
    assert box.row(waiting).status == "queued"
    assert box.row(other).status == "sent"
    bodies = [r.json["message"]["text"] for r in box.transport.requests if r.json]
    assert bodies == ["first", "second"]
