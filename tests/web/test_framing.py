"""`examine`: when the bytes a client sent so far hold a whole request, and what is refused."""

from __future__ import annotations

import json

import pytest

from pageflows.web.framing import CONTINUE, Refusal, examine

MAX_BODY = 1000


def post(body: bytes, *headers: str, length: int | None = None) -> bytes:
    declared = len(body) if length is None else length
    lines = ["POST /webhook HTTP/1.1", "Host: pageflows", f"Content-Length: {declared}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        (b"", "wait"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n", "wait"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "complete"),
        (b"\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "complete"),  # stray empty lines
        (post(b"{}"), "complete"),
        (post(b"{}")[:-1], "wait"),
        (post(b"{}") + b"GET / HTTP/1.1\r\n", "complete"),  # the next request, pipelined
        (post(b"", length=5), "wait"),
        (post(b"", "Expect: 100-continue", length=5), "continue"),
        (post(b"abcde", "Expect: 100-continue"), "complete"),
        (post(b"", "Expect: 100-continue", length=5).replace(b"HTTP/1.1", b"HTTP/1.0"), "wait"),
        (post(b"", "content-length: 3", length=5), "complete"),  # two lengths: gunicorn's 400
        (post(b"", length=-1), "complete"),  # not a number: gunicorn's 400
        (post(b"x" * MAX_BODY), "complete"),
    ],
)
def test_whole_requests_are_recognised(data: bytes, verdict: str) -> None:
    assert examine(data, MAX_BODY) == verdict


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (post(b"", length=MAX_BODY + 1), 413),
        (b"POST /webhook HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000, 431),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ],
)
def test_what_cannot_be_taken_is_refused_with_a_reason(data: bytes, status: int) -> None:
    refusal = examine(data, MAX_BODY)
    assert isinstance(refusal, Refusal) and refusal.status == status
    head, _, body = refusal.response().partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()) and b"Connection: close" in head
    assert json.loads(body)["error"]


def test_continue_is_an_interim_response() -> None:
    assert CONTINUE == b"HTTP/1.1 100 Continue\r\n\r\n"
