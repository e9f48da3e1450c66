"""`pageflows simulator` for the 2026 rules: a page's region, ad window and templates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sim_helpers import PSID, TOKEN, Receiver, serving, signed_json

from pageflows.cli.simulator import describe, simulator
from pageflows.simulator import RunningSimulator

pytestmark = pytest.mark.usefixtures("away_from_pageflows")


def run(sim: RunningSimulator, *args: str) -> str:
    result = CliRunner().invoke(simulator, [*args, "--sim", sim.root])
    assert result.exit_code == 0, result.output
    return result.output


def test_page_shows_and_changes_region_and_ad_window(sim: RunningSimulator) -> None:
    assert "region none, ad window off" in run(sim, "page")
    assert "region EU, ad window on" in run(sim, "page", "--region", "eu", "--ad-window")
    [settings] = sim.control.pages()
    assert (settings["region"], settings["ad_window"]) == ("EU", True)
    assert "region none, ad window on" in run(sim, "page", "--no-region")
    assert "ad window off" in run(sim, "page", "--no-ad-window")
    refused = CliRunner().invoke(simulator, ["page", "--region", "US", "--sim", sim.root])
    assert refused.exit_code == 2


def test_templates_and_template_status(sim: RunningSimulator, receiver: Receiver) -> None:
    assert "(no templates)" in run(sim, "templates")
    created = sim.control.add_template("order_update", "Your order {{1}} is {{2}}.")
    listed = run(sim, "templates")
    assert f"{created['id']}  order_update (en_US)  APPROVED  Your order {{{{1}}}}" in listed
    out = run(sim, "template-status", "order_update", "paused")
    assert "order_update (en_US) is PAUSED; webhook answered HTTP 200" in out
    value = signed_json(receiver)["entry"][0]["changes"][0]["value"]
    assert value["event"] == "PAUSED" and value["message_template_id"] == int(created["id"])
    missing = CliRunner().invoke(
        simulator, ["template-status", "nope", "APPROVED", "--sim", sim.root]
    )
    assert missing.exit_code == 1 and "no template nope (en_US)" in missing.output


def test_say_from_an_ad(sim: RunningSimulator, receiver: Receiver) -> None:
    run(sim, "say", "Is this still available?", "--as", "bob", "--from-ad", "--ref", "spring")
    message = signed_json(receiver)["entry"][0]["messaging"][0]["message"]
    assert message["referral"]["source"] == "ADS" and message["referral"]["ref"] == "spring"


def test_a_utility_send_is_printed_as_the_person_sees_it(
    sim: RunningSimulator, receiver: Receiver
) -> None:
    track = {"type": "URL", "text": "Track", "url": "https://shop.example/t"}
    sim.control.add_template("order_update", "Your order {{1}} is {{2}}.", buttons=[track])

    def reply(body: dict[str, Any]) -> None:
        psid = body["entry"][0]["messaging"][0]["sender"]["id"]
        template = {"name": "order_update", "language": {"code": "en_US"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "A123"},
                                            {"type": "text", "text": "shipped"}]}]}  # fmt: skip
        requests.post(f"{sim.url}/me/messages", params={"access_token": TOKEN}, timeout=5,
                      json={"recipient": {"id": psid}, "messaging_type": "UTILITY",
                            "message": {"template": template}})  # fmt: skip

    receiver.on_post = reply
    out = run(sim, "say", "where is my order?", "--as", "alice")
    assert out == "bot > [UTILITY order_update] Your order A123 is shipped.\nbot > [Track ↗]\n"


def test_describe_a_template_entry() -> None:
    entry = {
        "ok": True,
        "request": {"messaging_type": "UTILITY", "message": {"template": {"name": "t"}}},
        "template": {"id": "1", "name": "t", "language": "en_US"},
        "shown": {"text": "Hi Ann", "buttons": [{"type": "POSTBACK", "text": "Stop"}]},
    }
    assert describe(entry) == ["[UTILITY t] Hi Ann", "[Stop]"]


def test_serve_with_region_ad_window_and_templates(tmp_path: Path) -> None:
    more = tmp_path / "templates.json"
    more.write_text(json.dumps([{"name": "reminder", "language": "fr_FR", "status": "PAUSED",
                                 "body": "Rappel {{1}}"}]))  # fmt: skip
    args = ["--region", "JP", "--ad-window", "--template", "order_update", "Order {{1}} is {{2}}.",
            "--templates-file", str(more)]  # fmt: skip
    with serving(*args) as root:
        [page] = requests.get(f"{root}/_sim/pages", timeout=5).json()["data"]
        assert (page["region"], page["ad_window"]) == ("JP", True)
        listed = requests.get(
            f"{root}/v21.0/me/message_templates", params={"access_token": "t0k"}, timeout=5
        ).json()["data"]
        assert [(t["name"], t["language"], t["status"]) for t in listed] == [
            ("order_update", "en_US", "APPROVED"), ("reminder", "fr_FR", "PAUSED")
        ]  # fmt: skip
        assert listed[0]["components"] == [{"type": "BODY", "text": "Order {{1}} is {{2}}."}]


def test_serve_refuses_a_bad_template_file(tmp_path: Path) -> None:
    bad = tmp_path / "templates.json"
    bad.write_text(json.dumps([{"name": "x"}]))
    code = "from pageflows.cli.simulator import simulator; simulator()"
    done = subprocess.run(
        [sys.executable, "-c", code, "serve", "--port", "0", "--templates-file", str(bad)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 1 and "a template needs components or body" in done.stderr


def test_serve_defaults_are_unchanged() -> None:
    with serving() as root:
        [page] = requests.get(f"{root}/_sim/pages", timeout=5).json()["data"]
        assert (page["region"], page["ad_window"]) == (None, False)


def test_each_logged_send_says_how_it_went(sim: RunningSimulator, send: Any) -> None:
    sim.control.configure_page(region="EU")  # tokens outlive 2026-02-10 there
    token = sim.control.optin("Weekly deals", psid=PSID, via="link")["token"]
    assert send(messaging_type="UPDATE", message={"text": "later"}).status_code == 200
    assert send(message={"text": "no type"}).status_code == 200
    tagged = {"messaging_type": "MESSAGE_TAG", "tag": "ACCOUNT_UPDATE", "message": {"text": "t"}}
    assert send(**tagged).status_code == 200
    by_token = {"recipient": {"notification_messages_token": token}, "message": {"text": "deal"}}
    assert send(**by_token).status_code == 200
    sim.control.advance(25 * 3600)
    assert send(messaging_type="UPDATE", message={"text": "too late"}).status_code == 400
    lines = [describe(entry)[0] for entry in sim.control.sent_messages()]
    assert lines == [
        "[UPDATE] later",
        "[RESPONSE] no type",  # Facebook's default
        "[MESSAGE_TAG ACCOUNT_UPDATE] t",
        "[notification token (Weekly deals)] deal",
        "refused [UPDATE]: (#10) This message is sent outside of allowed window. Learn more"
        " about the new policy here: https://developers.facebook.com/docs/messenger-platform/"
        "policy-overview",
    ]
