"""`pageflows simulator say/tap/comment` against a running simulator, and `serve`."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sim_helpers import TOKEN, Receiver, serving

from pageflows.cli.simulator import simulator
from pageflows.simulator import RunningSimulator

pytestmark = pytest.mark.usefixtures("away_from_pageflows")


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
    # The ref arrives as its own referral webhook first: the test bot answers both.
    assert result.output == "bot > [RESPONSE] Hello! Pick one\nbot > (Red) (Blue)\n" * 2
    receiver.on_post = answer_with(sim, {"text": "Blue it is"})
    tapped = CliRunner().invoke(simulator, ["tap", "Blue", "--as", "alice", "--sim", sim.root])
    assert tapped.output == "bot > [RESPONSE] Blue it is\n"
    quick_reply = receiver.posts[-1][0]
    assert b'"quick_reply":{"payload":"BLUE"}' in quick_reply


def test_comment_and_refusal_are_printed(sim: RunningSimulator, receiver: Receiver) -> None:
    receiver.on_post = answer_with(sim, {"text": "It's 29 EUR"})
    args = ["comment", "price?", "--as", "jane", "--post", "104123456789012_1", "--sim", sim.root]
    result = CliRunner().invoke(simulator, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("(comment 1_") and " on 104123456789012_1)\n" in result.output
    assert result.output.endswith("bot > [private reply] It's 29 EUR\n")
    receiver.on_post = answer_with(sim, {"text": "x" * 2001})
    refused = CliRunner().invoke(simulator, ["say", "hi", "--as", "jane", "--sim", sim.root])
    assert "refused [RESPONSE]: (#100) Length of param message[text]" in refused.output


def test_no_answer_says_so_instead_of_nothing(sim: RunningSimulator, receiver: Receiver) -> None:
    receiver.on_post = lambda body: None  # the bot says nothing (or Facebook is down)
    result = CliRunner().invoke(simulator, ["say", "hi", "--as", "ola", "--sim", sim.root])
    assert result.exit_code == 0
    assert "bot >" not in result.output
    assert result.output == (
        "(no answer within 3 s: the flows may have nothing to say to this, or pageflows is"
        " waiting on Facebook and will send it later; run this where `pageflows serve` runs,"
        " or give --config, to see why)\n"
    )


def test_no_simulator_is_a_clean_error() -> None:
    result = CliRunner().invoke(simulator, ["say", "hi", "--sim", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "no simulator at" in result.output


def test_serve_starts_with_a_demo_page() -> None:
    with serving() as root:
        url = f"{root}/v25.0/me"
        response = requests.get(url, params={"access_token": "t0k"}, timeout=5)
        assert response.json() == {"id": "104123456789012", "name": "Simulated Page"}


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
        "[RESPONSE] opt-in request: Deals",
        '[Get messages]  (tap with: pageflows simulator optin "Deals")',
    ]


def test_tap_a_title_not_on_screen_lists_what_is(sim: RunningSimulator, receiver: Receiver) -> None:
    replies = [{"content_type": "text", "title": t, "payload": t.upper()} for t in ("Red", "Blue")]
    card = {"attachment": {"type": "template", "payload": {"template_type": "button",
            "text": "Or ask us", "buttons": [{"type": "postback", "title": "Talk to a human",
                                              "payload": "HUMAN"}]}}}  # fmt: skip
    receiver.on_post = answer_with(sim, card)
    CliRunner().invoke(simulator, ["say", "hi", "--as", "alice", "--sim", sim.root])
    receiver.on_post = answer_with(sim, {"text": "Pick one", "quick_replies": replies})
    CliRunner().invoke(simulator, ["say", "colours?", "--as", "alice", "--sim", sim.root])
    wrong = CliRunner().invoke(simulator, ["tap", "Green", "--as", "alice", "--sim", sim.root])
    assert wrong.exit_code == 1
    assert wrong.output == (
        'Error: no quick reply or button titled "Green" on screen; you can tap: "Red", "Blue",'
        ' "Talk to a human"\n'
    )
    receiver.on_post = answer_with(sim, {"text": "Someone will answer"})
    button = CliRunner().invoke(simulator, ["tap", "talk to a human", "--as", "alice",
                                            "--sim", sim.root])  # fmt: skip
    assert button.output == "bot > [RESPONSE] Someone will answer\n"
    assert (
        b'"postback":{"mid":' in receiver.posts[-1][0]
        and b'"payload":"HUMAN"' in (receiver.posts[-1][0])
    )


def test_optin_without_a_request_on_screen_says_so(
    sim: RunningSimulator, receiver: Receiver
) -> None:
    args = ["optin", "deals", "--as", "alice", "--sim", sim.root]
    refused = CliRunner().invoke(simulator, args)
    assert refused.exit_code == 1
    assert refused.output == (
        'Error: no opt-in request for "deals" is on screen: Messenger shows "Get messages"'
        " only under an opt-in request the Page sent to this contact (inside the 24 h window,"
        " one per title per week), and none is waiting to be tapped\n"
    )
    assert receiver.posts == []
    sim.control.configure_page(region="EU")  # opt-in requests outlive 2026-02-10 there
    request = {"template_type": "notification_messages", "title": "Weekly deals",
               "payload": "pf-topic:deals"}  # fmt: skip
    receiver.on_post = answer_with(sim, {"attachment": {"type": "template", "payload": request}})
    asked = CliRunner().invoke(simulator, ["say", "deals", "--as", "alice", "--sim", sim.root])
    assert asked.output == (
        "bot > [RESPONSE] opt-in request: Weekly deals\n"
        'bot > [Get messages]  (tap with: pageflows simulator optin "Weekly deals")\n'
    )
    receiver.on_post = answer_with(sim, {"text": "Thanks!"})
    accepted = CliRunner().invoke(simulator, ["tap", "Get messages", "--as", "alice",
                                              "--sim", sim.root])  # fmt: skip
    assert accepted.output == "bot > [RESPONSE] Thanks!\n"
    again = CliRunner().invoke(simulator, args)
    assert again.exit_code == 1 and "none is waiting to be tapped" in again.output


def test_silence_while_the_page_inbox_holds_the_thread_says_so(
    sim: RunningSimulator, receiver: Receiver
) -> None:
    receiver.on_post = lambda body: None
    psid = CliRunner().invoke(simulator, ["say", "hi", "--as", "ola", "--sim", sim.root])
    assert psid.exit_code == 0
    sim.control.inbox_reply("Marie here, how can I help?", as_="ola")
    result = CliRunner().invoke(simulator, ["say", "thanks", "--as", "ola", "--sim", sim.root])
    assert result.output == (
        "(silent: the Page inbox holds the thread (app 263902037430900): Facebook refuses"
        " pageflows' messages until the thread is passed back)\n"
    )
