"""Shared names for the simulator tests (a uniquely named module: `conftest` is ambiguous)."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from pageflows.ports import free_port

PAGE_ID = "104123456789012"
TOKEN = "PAGE_ACCESS_TOKEN"
SECRET = "app-secret-for-tests"
PSID = "6543210987654321"

Send = Callable[..., requests.Response]


@dataclass
class Receiver:
    """A webhook endpoint on a real port: what it received, and how it answers."""

    url: str
    posts: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    on_post: Callable[[dict[str, Any]], None] | None = None
    status: int = 200


def error_of(response: requests.Response) -> tuple[int, int, int | None]:
    """(HTTP status, code, subcode) of a Graph error response."""
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("error_subcode")


def signed_json(receiver: Receiver, index: int = -1) -> dict[str, Any]:
    """A received webhook's body, after checking its X-Hub-Signature-256 over the raw bytes."""
    raw, headers = receiver.posts[index]
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature-256"], expected)
    body: dict[str, Any] = json.loads(raw)
    return body


def wait_for_posts(receiver: Receiver, count: int, seconds: float = 5.0) -> None:
    """Webhooks that follow an answer (a template's approval) arrive a moment later."""
    deadline = time.monotonic() + seconds
    while len(receiver.posts) < count:
        assert time.monotonic() < deadline, f"{len(receiver.posts)} webhooks, wanted {count}"
        time.sleep(0.02)


STARTUP_S = 60  # a busy 2-core CI machine (tests on both cores) can take 10 s to import and bind


@contextmanager
def serving(*args: str) -> Iterator[str]:
    """`pageflows-simulator serve` in its own process on a free port, until the block ends."""
    port = free_port()
    code = "from pageflows.cli.simulator import simulator; simulator()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--token", "t0k", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_S
        root = f"http://127.0.0.1:{port}"
        while True:
            try:
                requests.get(f"{root}/_sim/pages", timeout=5)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.1)
        yield root
    finally:
        process.terminate()
        process.wait(timeout=10)
