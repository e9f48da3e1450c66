"""What the worker answers itself, over a real socket: refusals, 100 Continue, pipelined requests.

Each is the poller's doing, before any thread: a refused client reads its answer
(the connection is not reset under it), and a request sent in pieces or behind
another is answered whole.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_world import signature
from web_server import HOST, WebServer, message_body, web_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    tmp_path: Path = tmp_path_factory.mktemp("web")
    with web_server(f"sqlite:///{tmp_path / 'pageflows.db'}", tmp_path, timeout=5.0) as running:
        yield running


def exchange(server: WebServer, *parts: bytes, pause: float = 0.2) -> bytes:
    """Send `parts` with a pause between them; everything answered until the server closes."""
    with socket.create_connection((HOST, server.options.port), timeout=5) as sock:
        for n, part in enumerate(parts):
            if n:
                time.sleep(pause)
            sock.sendall(part)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def signed_head(raw: bytes, *extra: str) -> bytes:
    lines = [
        "POST /webhook HTTP/1.1",
        "Host: pageflows",
        "Content-Type: application/json",
        f"Content-Length: {len(raw)}",
        f"X-Hub-Signature-256: {signature(raw)}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
            411,
        ),
        (
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n"
            + b"x" * 200_000,
            413,
        ),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000, 431),
    ],
)
def test_refused_requests_get_their_answer_before_the_close(
    server: WebServer, request_bytes: bytes, status: int
) -> None:
    answer = exchange(server, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    assert json.loads(body)["error"]


def test_a_client_that_expects_100_continue_gets_one_then_its_answer(server: WebServer) -> None:
    raw = message_body("mid.continue")
    head = signed_head(raw, "Expect: 100-continue", "Connection: close")
    answer = exchange(server, head, raw)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 "), answer[:200]
    assert answer.count(b"100 Continue") == 1
    assert server.stored("mid.continue") == 1


def test_a_request_in_pieces_and_one_pipelined_behind_another_are_both_answered(
    server: WebServer,
) -> None:
    raw = message_body("mid.pieces")
    whole = signed_head(raw) + raw
    closing = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = exchange(server, whole[:40], whole[40:-5], whole[-5:] + closing[:20], closing[20:])
    assert answer.count(b"HTTP/1.1 200 ") == 2, answer
    assert server.stored("mid.pieces") == 1


def read_answer(sock: socket.socket, has_body: bool = True) -> tuple[bytes, bytes]:
    """One whole answer's head and body, read before anything else is sent."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536) or b"<closed>"
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while has_body and len(body) < length:
        body += sock.recv(65536) or b"<closed>"
    assert body == b"" or has_body, body
    return head, body


def test_each_answer_comes_whole_before_the_next_request_on_one_connection(
    server: WebServer,
) -> None:
    """The head of an answer leaves with its body (issue 13); one without a body (HEAD) and
    a refused signature's come whole too, each before the client sends its next request."""
    raw = message_body("mid.one-connection")
    with socket.create_connection((HOST, server.options.port), timeout=5) as sock:
        sock.sendall(signed_head(raw) + raw)
        head, body = read_answer(sock)
        assert head.startswith(b"HTTP/1.1 200 ") and body == b'{"new":1,"received":1}\n'
        sock.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = read_answer(sock, has_body=False)
        assert head.startswith(b"HTTP/1.1 200 ") and body == b""
        sock.sendall(signed_head(raw).replace(b"sha256=", b"sha256=0") + raw)
        head, body = read_answer(sock)
        assert head.startswith(b"HTTP/1.1 403 ") and json.loads(body)["error"]
        sock.sendall(signed_head(raw) + raw)
        head, body = read_answer(sock)
        assert head.startswith(b"HTTP/1.1 200 ") and body == b'{"new":0,"received":1}\n'
    assert server.stored("mid.one-connection") == 1
