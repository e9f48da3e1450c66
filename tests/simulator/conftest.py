"""Fixtures: a simulator on a real port, a page registered on it, and a webhook receiver.

The receiver is a tiny Flask app served threaded on its own port so the
simulator's signed POSTs travel over real HTTP, exactly like Facebook's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask, request
from sim_helpers import PAGE_ID, PSID, SECRET, TOKEN, Receiver, Send
from werkzeug.serving import make_server

from pageflows.simulator import RunningSimulator, running_simulator


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Flask("receiver")
    holder: list[Receiver] = []

    @app.post("/webhook")
    def webhook() -> tuple[str, int]:
        got = holder[0]
        got.posts.append((request.get_data(), dict(request.headers)))
        if got.on_post is not None:
            got.on_post(request.get_json())
        return "EVENT_RECEIVED", got.status

    server = make_server("127.0.0.1", 0, app, threaded=True)
    holder.append(Receiver(f"http://127.0.0.1:{server.server_port}/webhook"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder[0]
    server.shutdown()
    server.server_close()


@pytest.fixture
def away_from_pageflows(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator CLI reads pageflows' database when it finds one (./pageflows.db,
    PAGEFLOWS_DATABASE_URL): here it finds none, whatever the folder the tests run in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PAGEFLOWS_DATABASE_URL", raising=False)


@pytest.fixture
def sim(receiver: Receiver) -> Iterator[RunningSimulator]:
    with running_simulator() as running:
        # With the Human Agent permission: the tests of HUMAN_AGENT's 7 days need it
        # (test_sim_human_agent.py tests a page without it).
        running.control.register_page(PAGE_ID, TOKEN, SECRET, receiver.url, human_agent=True)
        running.control.add_contact(PSID, "Peter", "Chang")
        running.control.set_clock("2026-03-01T12:00:00+00:00")
        running.control.seen(PSID)
        yield running


@pytest.fixture
def send(sim: RunningSimulator) -> Send:
    """POST /{page-id}/messages with the page token; keyword args become the JSON body."""

    def post(token: str = TOKEN, node: str = PAGE_ID, **body: Any) -> requests.Response:
        body.setdefault("recipient", {"id": PSID})
        if "sender_action" not in body:
            body.setdefault("message", {"text": "hello"})
        body = {k: v for k, v in body.items() if v is not None}
        return requests.post(
            f"{sim.url}/{node}/messages", params={"access_token": token}, json=body, timeout=10
        )

    return post
