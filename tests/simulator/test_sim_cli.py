"""`pageflows simulator say/tap/comment` against a running simulator, and `serve`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any

import requests
from click.testing import CliRunner
from sim_helpers import TOKEN, Receiver

from pageflows.cli.simulator import simulator
from pageflows.simulator import RunningSimulator


def answer_with(sim: RunningSimulator, message: dict[str, Any]) -> Any:
    def reply(body: dict[str, Any]) -> None:
        entry = body["entry"][0]
        if "changes" in entry:
            recipient = {"comment_id": entry["changes"][0]["value"]["comment_id"]}
        else:
            recipient = {"id": entry["messaging"][0]["sender"]["id"]}
        requests.post(f"{sim.url}/me/messages", params={"access_token": TOKEN}, timeout=5,
                      json={"recipient": recipient, "messaging_type": "RESPONSE",
                            "message": message})  # fmt: skip

    return reply


def test_say_prints_the_bot_answer(sim: RunningSimulator, receiver: Receiver) -> None:
    replies = [{"content_type": "text", "title": t, "payload": t.upper()} for t in ("Red", "Blue")]
    receiver.on_post = answer_with(sim, {"text": "Hello! Pick one", "quick_replies": replies})
    args = ["say", "hi", "--as", "alice", "--ref", "spring_sale", "--source", "ads"]
    result = CliRunner().invoke(simulator, [*args, "--sim", sim.root])
    assert result.exit_code == 0, result.output
    assert "bot > Hello! Pick one" in result.output
    assert "bot > (Red) (Blue)" in result.output
    receiver.on_post = answer_with(sim, {"text": "Blue it is"})
    tapped = CliRunner().invoke(simulator, ["tap", "Blue", "--as", "alice", "--sim", sim.root])
    assert "bot > Blue it is" in tapped.output
    quick_reply = receiver.posts[-1][0]
    assert b'"quick_reply":{"payload":"BLUE"}' in quick_reply


def test_comment_and_refusal_are_printed(sim: RunningSimulator, receiver: Receiver) -> None:
    receiver.on_post = answer_with(sim, {"text": "It's 29 EUR"})
    args = ["comment", "price?", "--as", "jane", "--post", "104123456789012_1", "--sim", sim.root]
    result = CliRunner().invoke(simulator, args)
    assert result.exit_code == 0, result.output
    assert "(comment 1_" in result.output and "bot > It's 29 EUR" in result.output
    receiver.on_post = answer_with(sim, {"text": "x" * 2001})
    refused = CliRunner().invoke(simulator, ["say", "hi", "--as", "jane", "--sim", sim.root])
    assert "refused: (#100) Length of param message[text]" in refused.output


def test_no_answer_says_so_instead_of_nothing(sim: RunningSimulator, receiver: Receiver) -> None:
    receiver.on_post = lambda body: None  # the bot says nothing (or Facebook is down)
    result = CliRunner().invoke(simulator, ["say", "hi", "--as", "ola", "--sim", sim.root])
    assert result.exit_code == 0
    assert "bot >" not in result.output
    assert "(no answer within 3 s" in result.output and "/healthz" in result.output


def test_no_simulator_is_a_clean_error() -> None:
    result = CliRunner().invoke(simulator, ["say", "hi", "--sim", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "no simulator at" in result.output


def test_serve_starts_with_a_demo_page() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = "from pageflows.cli.simulator import simulator; simulator()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--token", "t0k"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                url = f"http://127.0.0.1:{port}/v25.0/me"
                response = requests.get(url, params={"access_token": "t0k"}, timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.1)
        assert response.json() == {"id": "104123456789012", "name": "Simulated Page"}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_describe_shows_an_opt_in_request_and_how_to_accept_it() -> None:
    from pageflows.cli.simulator import describe

    entry = {
        "ok": True,
        "request": {
            "message": {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "notification_messages", "title": "Deals"},
                }
            }
        },
    }
    assert describe(entry) == [
        "opt-in request: Deals",
        "[Get messages]  (tap with: pageflows simulator optin TOPIC)",
    ]
