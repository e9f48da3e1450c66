"""The Human Agent permission, a person typing in the Page inbox, and taking a thread back."""

from __future__ import annotations

import requests
from click.testing import CliRunner
from sim_helpers import PAGE_ID, PSID, TOKEN, Receiver, Send, error_of, signed_json

from pageflows.cli.simulator import simulator
from pageflows.simulator import RunningSimulator

HOUR = 3600


def test_human_agent_needs_the_permission(sim: RunningSimulator, send: Send) -> None:
    sim.control.advance(25 * HOUR)
    assert send(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT").status_code == 200
    sim.control.configure_page(human_agent=False)
    refused = send(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    assert error_of(refused) == (400, 10, None)
    assert "permission" in refused.json()["error"]["message"]
    # Other tags do not need it.
    assert send(messaging_type="MESSAGE_TAG", tag="CUSTOMER_FEEDBACK").status_code == 200
    assert sim.control.pages()[0]["human_agent"] is False


def test_human_agent_is_refused_after_7_days_even_with_the_permission(
    sim: RunningSimulator, send: Send
) -> None:
    sim.control.advance(8 * 24 * HOUR)
    assert error_of(send(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")) == (400, 10, 2018278)


def test_a_person_in_the_page_inbox_sends_the_echo_and_takes_the_thread(
    sim: RunningSimulator, send: Send, receiver: Receiver
) -> None:
    played = sim.control.inbox_reply("Hi, this is Marie from support.", psid=PSID)
    assert played["status"] == 200
    event = signed_json(receiver)["entry"][0]["messaging"][0]
    assert event["sender"] == {"id": PAGE_ID} and event["recipient"] == {"id": PSID}
    assert event["message"] == {
        "mid": played["mid"],
        "is_echo": True,
        "app_id": 263902037430900,
        "text": "Hi, this is Marie from support.",
    }
    # The inbox holds the thread now: our app's sends are refused until it takes it back.
    assert error_of(send(messaging_type="RESPONSE"))[2] == 2018300
    taken = requests.post(
        f"{sim.url}/{PAGE_ID}/take_thread_control",
        params={"access_token": TOKEN},
        json={"recipient": {"id": PSID}, "metadata": "handback"},
        timeout=10,
    )
    assert taken.json() == {"success": True}
    assert send(messaging_type="RESPONSE").status_code == 200
    actions = [h["action"] for h in sim.control.handovers()]
    assert actions == ["inbox_reply", "take"]


def run(sim: RunningSimulator, *args: str) -> str:
    result = CliRunner().invoke(simulator, [*args, "--sim", sim.root])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_cli_types_in_the_page_inbox_and_sets_the_permission(
    sim: RunningSimulator, receiver: Receiver
) -> None:
    assert "human agent permission yes" in run(sim, "page")
    assert "human agent permission no" in run(sim, "page", "--no-human-agent")
    shown = run(sim, "inbox-reply", "Marie here.", "--as", "alice")
    assert "page inbox > Marie here." in shown
    message = signed_json(receiver)["entry"][0]["messaging"][0]["message"]
    assert (message["is_echo"], message["app_id"], message["text"]) == (
        True,
        263902037430900,
        "Marie here.",
    )
