"""Has a whole HTTP/1.1 request arrived? Read from the bytes a connection sent so far.

Why: the worker (`web/worker.py`) hands a thread only a request that has fully
arrived, so a client that sends slowly, or not at all, costs a buffer in the
poller, never a thread. This module decides "whole" from the head alone:
`Content-Length` says how many body bytes to wait for. A body of unknown
length (`Transfer-Encoding`) is refused with 411, because waiting for its end
means parsing chunks; Facebook always sends a `Content-Length`. A head or a
declared body too large is refused here too, before anything is buffered.
Anything else the head gets wrong (two lengths, a bad number) counts as whole:
gunicorn's parser refuses it with a 400 without reading further.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal

MAX_HEAD_BYTES = 64 * 1024
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
Waiting = Literal["wait", "continue", "complete"]


@dataclass(frozen=True)
class Refusal:
    """An answer given without a thread: the request cannot be taken as sent."""

    status: int
    reason: str

    def response(self) -> bytes:
        """The whole response, closing the connection; the body says why, as the app's do."""
        body = json.dumps({"error": self.reason}).encode()
        head = (
            f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        return head.encode("ascii") + body


def examine(
    data: bytes | bytearray, max_body: int, max_head: int = MAX_HEAD_BYTES
) -> Waiting | Refusal:
    """`complete` once a whole request is in `data`; `continue` when the client waits for a
    100 Continue before it sends its body; `wait` for more bytes; or a Refusal."""
    start = 0
    while data.startswith(b"\r\n", start):  # empty lines before a request are ignored
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0 or end - start > max_head:
        if len(data) - start > max_head:
            return Refusal(431, f"the request head is longer than {max_head} bytes")
        return "wait"
    length, unknown_length, expects = _framing(bytes(data[start:end]))
    if unknown_length:
        return Refusal(411, "send the body with a Content-Length, not a Transfer-Encoding")
    if length is None:
        return "complete"
    if length > max_body:
        return Refusal(413, f"the body is larger than {max_body} bytes")
    if len(data) - (end + 4) >= length:
        return "complete"
    return "continue" if expects else "wait"


def _framing(head: bytes) -> tuple[int | None, bool, bool]:
    """The declared body length (None: none, or one gunicorn will refuse), whether a
    Transfer-Encoding makes the length unknown, and whether a 100 Continue is expected."""
    request_line, *lines = head.split(b"\r\n")
    lengths: list[bytes] = []
    unknown_length = expects = False
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        key, value = name.strip().lower(), value.strip()
        if key == b"content-length":
            lengths.append(value)
        elif key == b"transfer-encoding":
            unknown_length = True
        elif key == b"expect":
            expects = value.lower() == b"100-continue"
    # HTTP/1.0 clients never wait for a 100 Continue; the server must not send one.
    expects = expects and request_line.rstrip().endswith(b"HTTP/1.1")
    if len(lengths) == 1 and lengths[0].isdigit() and len(lengths[0]) <= 15:
        return int(lengths[0]), unknown_length, expects
    return None, unknown_length, expects
