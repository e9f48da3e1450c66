"""`ClientSocket`: a response's head leaves with the first write of its body, never without it.

What the client reads is the same bytes in the same order as without the holding; what
changes is when: a head that declares a `Content-Length` is sent with its body (one
write), and nothing held is ever left behind (the end of the request, a shutdown, another
kind of write send it).
"""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator

import pytest

from pageflows.web.worker import ClientSocket

HEAD = b"HTTP/1.1 200 OK\r\nServer: gunicorn\r\nContent-Length: 23\r\n\r\n"
BODY = b'{"new":1,"received":1}\n'
CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nServer: gunicorn\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.fixture
def pair() -> Iterator[tuple[ClientSocket, socket.socket]]:
    ours, peer = socket.socketpair()
    client = ClientSocket.adopt(ours, timeout=5.0)
    peer.setblocking(False)
    yield client, peer
    client.close()
    peer.close()


def pending(peer: socket.socket) -> bytes | None:
    """What the peer can read now, without waiting: None for nothing yet, b"" at the end."""
    try:
        return peer.recv(65536)
    except BlockingIOError:
        return None


def test_a_head_with_a_length_waits_for_its_body_and_both_arrive_in_one_read(
    pair: tuple[ClientSocket, socket.socket],
) -> None:
    client, peer = pair
    client.hold_head()
    client.sendall(HEAD)
    assert pending(peer) is None
    client.sendall(BODY)
    assert pending(peer) == HEAD + BODY
    client.release()
    assert pending(peer) is None


def test_only_the_first_write_after_hold_head_is_held(
    pair: tuple[ClientSocket, socket.socket],
) -> None:
    client, peer = pair
    client.hold_head()
    client.sendall(HEAD)
    client.sendall(BODY[:5])
    client.sendall(BODY[5:])
    assert pending(peer) == HEAD + BODY
    client.sendall(HEAD)  # a second response without hold_head: sent at once
    assert pending(peer) == HEAD


def test_a_head_without_its_body_is_sent_at_the_end_of_the_request(
    pair: tuple[ClientSocket, socket.socket],
) -> None:
    client, peer = pair
    client.hold_head()
    head = HEAD.replace(b"Content-Length: 23", b"content-length: 0")  # any case
    client.sendall(head)
    assert pending(peer) is None
    client.release()
    assert pending(peer) == head


def test_a_head_without_a_length_is_sent_at_once(
    pair: tuple[ClientSocket, socket.socket],
) -> None:
    client, peer = pair
    client.hold_head()
    client.sendall(CHUNKED_HEAD)  # a streamed body may come much later: never held
    assert pending(peer) == CHUNKED_HEAD
    client.sendall(b"5\r\nhello\r\n")
    assert pending(peer) == b"5\r\nhello\r\n"


def test_a_shutdown_or_another_kind_of_write_sends_what_was_held_first(
    pair: tuple[ClientSocket, socket.socket],
) -> None:
    client, peer = pair
    client.hold_head()
    client.sendall(HEAD)
    client.send(BODY)
    assert pending(peer) == HEAD + BODY

    client.hold_head()
    client.sendall(HEAD)
    with tempfile.TemporaryFile() as file:
        file.write(BODY)
        file.flush()
        file.seek(0)
        client.sendfile(file)
    assert pending(peer) == HEAD + BODY

    client.hold_head()
    client.sendall(HEAD)
    client.shutdown(socket.SHUT_WR)
    assert pending(peer) == HEAD
    assert pending(peer) == b""  # then the end of the stream


def test_a_closed_socket_forgets_what_it_held(pair: tuple[ClientSocket, socket.socket]) -> None:
    client, peer = pair
    client.hold_head()
    client.sendall(HEAD)
    client.close()
    assert pending(peer) == b""  # the end of the stream, no head
