"""Utility messages over HTTP: an approved template with `messaging_type: UTILITY`, at any time
(policy.md §2a), and every way Facebook refuses one."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sim_helpers import PSID, Send, error_of

from pageflows.simulator import RunningSimulator

TRACK = {"type": "URL", "text": "Track", "url": "https://shop.example/track"}
CANCEL = {"type": "POSTBACK", "text": "Cancel order", "payload": "CANCEL_A123"}
DAY = 86400


@pytest.fixture
def order_update(sim: RunningSimulator) -> dict[str, Any]:
    created: dict[str, Any] = sim.control.add_template(
        "order_update", "Your order {{1}} is {{2}}.", buttons=[TRACK, CANCEL]
    )
    return created


def utility(*values: str, name: str = "order_update", language: str = "en_US") -> dict[str, Any]:
    parameters = [{"type": "text", "text": v} for v in values]
    return {"name": name, "language": {"code": language},
            "components": [{"type": "body", "parameters": parameters}]}  # fmt: skip


def outcome(response: requests.Response) -> object:
    return 200 if response.status_code == 200 else error_of(response)


@pytest.mark.usefixtures("order_update")
@pytest.mark.parametrize(
    ("values", "expected"),
    [((), (400, 100, 1893029)), (("A123",), (400, 100, 1893029)), (("A123", "shipped"), 200),
     (("A123", "shipped", "extra"), 200)],
)  # fmt: skip
def test_parameter_count_against_a_two_placeholder_template(
    send: Send, values: tuple[str, ...], expected: object
) -> None:
    response = send(messaging_type="UTILITY", message={"template": utility(*values)})
    assert outcome(response) == expected


@pytest.mark.usefixtures("order_update")
@pytest.mark.parametrize("after", [0, DAY, 7 * DAY, 400 * DAY])
def test_accepted_at_any_time_without_window_or_optin(
    sim: RunningSimulator, send: Send, after: int
) -> None:
    sim.control.advance(after)
    response = send(messaging_type="UTILITY", message={"template": utility("A123", "shipped")})
    assert response.status_code == 200
    assert response.json()["recipient_id"] == PSID
    assert response.json()["message_id"].startswith("m_")


@pytest.mark.usefixtures("order_update")
def test_a_contact_who_never_wrote_can_get_one(sim: RunningSimulator, send: Send) -> None:
    sim.control.add_contact("42", "Bob", "Never")
    response = send(
        recipient={"id": "42"}, messaging_type="UTILITY", message={"template": utility("A", "b")}
    )
    assert response.status_code == 200


def test_the_log_shows_what_the_person_sees(
    sim: RunningSimulator, send: Send, order_update: dict[str, Any]
) -> None:
    send(messaging_type="UTILITY", message={"template": utility("A123", "shipped")})
    [entry] = sim.control.sent_messages(PSID)
    assert entry["ok"] and entry["messaging_type"] == "UTILITY" and entry["mode"] == "utility"
    assert entry["template"] == {
        "id": order_update["id"], "name": "order_update", "language": "en_US"
    }  # fmt: skip
    assert entry["shown"] == {"text": "Your order A123 is shipped.", "buttons": [TRACK, CANCEL]}
    assert entry["request"]["message"]["template"]["name"] == "order_update"


def test_other_sends_are_logged_with_their_mode(sim: RunningSimulator, send: Send) -> None:
    send(messaging_type="RESPONSE")
    send(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    send(sender_action="typing_on")
    entries = sim.control.sent_messages(PSID)
    assert [(e["messaging_type"], e["mode"]) for e in entries] == [
        ("RESPONSE", "window"), ("MESSAGE_TAG", "tag"), (None, "sender_action")
    ]  # fmt: skip


def test_a_postback_button_of_a_template_can_be_tapped(
    sim: RunningSimulator, send: Send, order_update: dict[str, Any]
) -> None:
    send(messaging_type="UTILITY", message={"template": utility("A123", "shipped")})
    played = sim.control.tap("cancel order", psid=PSID)
    assert played["status"] == 200


STATUSES = ["PENDING", "REJECTED", "PAUSED", "DISABLED"]


@pytest.mark.parametrize("status", STATUSES)
def test_a_template_not_approved_is_refused(
    sim: RunningSimulator, send: Send, order_update: dict[str, Any], status: str
) -> None:
    sim.control.set_template_status(status, template_id=order_update["id"])
    response = send(messaging_type="UTILITY", message={"template": utility("A123", "shipped")})
    assert error_of(response) == (400, 100, None)
    assert response.json()["error"]["message"] == "(#100) Template is not approved"
    sim.control.set_template_status("APPROVED", template_id=order_update["id"])
    again = send(messaging_type="UTILITY", message={"template": utility("A123", "shipped")})
    assert again.status_code == 200


@pytest.mark.usefixtures("order_update")
@pytest.mark.parametrize(
    "template", [utility("A", "b", name="nope"), utility("A", "b", language="fr_FR")]
)
def test_an_unknown_template_is_refused(send: Send, template: dict[str, Any]) -> None:
    response = send(messaging_type="UTILITY", message={"template": template})
    assert error_of(response) == (400, 100, None)
    assert response.json()["error"]["message"] == (
        "(#100) Template name does not exist in the translation"
    )


def test_templates_belong_to_their_page(sim: RunningSimulator, send: Send) -> None:
    sim.control.register_page("999", "other-token", "s", "http://127.0.0.1:9/x")
    sim.control.add_template("order_update", "Order {{1}}", page_id="999")
    response = send(messaging_type="UTILITY", message={"template": utility("A")})
    assert error_of(response) == (400, 100, None)


@pytest.mark.usefixtures("order_update")
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # quick replies are not allowed with a utility template
        ({"messaging_type": "UTILITY", "message": {"template": utility("A", "b"),
          "quick_replies": [{"content_type": "text", "title": "Ok", "payload": "OK"}]}},
         (400, 100, 2018416)),
        # a template without messaging_type UTILITY
        ({"messaging_type": "RESPONSE", "message": {"template": utility("A", "b")}},
         (400, 100, None)),
        ({"message": {"template": utility("A", "b")}}, (400, 100, None)),
        # UTILITY without a template
        ({"messaging_type": "UTILITY", "message": {"text": "Your order shipped"}},
         (400, 100, None)),
        # a tag with UTILITY
        ({"messaging_type": "UTILITY", "tag": "HUMAN_AGENT",
          "message": {"template": utility("A", "b")}}, (400, 100, None)),
        # malformed template objects
        ({"messaging_type": "UTILITY", "message": {"template": {"name": "order_update"}}},
         (400, 100, None)),
        ({"messaging_type": "UTILITY", "message": {"template": {
            **utility(), "components": [{"type": "body", "parameters": [{"type": "text"}]}]}}},
         (400, 100, None)),
        # a template to a notification token
        ({"messaging_type": "UTILITY", "recipient": {"notification_messages_token": "1"},
          "message": {"template": utility("A", "b")}}, (400, 100, None)),
    ],
)  # fmt: skip
def test_malformed_utility_sends(send: Send, body: dict[str, Any], expected: object) -> None:
    assert outcome(send(**body)) == expected


WHATSAPP_STYLE = {
    "attachment": {
        "type": "template",
        "payload": {"template_type": "utility", "name": "order_update",
                    "language": {"code": "en_US"}},
    }
}  # fmt: skip


@pytest.mark.usefixtures("order_update")
@pytest.mark.parametrize("messaging_type", ["UTILITY", "RESPONSE"])
def test_the_whatsapp_style_wrapper_is_refused(send: Send, messaging_type: str) -> None:
    response = send(messaging_type=messaging_type, message=WHATSAPP_STYLE)
    assert error_of(response) == (400, 100, None)
    assert response.json()["error"]["message"] == "(#100) Invalid template type"


@pytest.mark.usefixtures("order_update")
def test_another_app_owning_the_thread_still_blocks(sim: RunningSimulator, send: Send) -> None:
    sim.control.set_thread_owner(PSID, "263902037430900")
    response = send(messaging_type="UTILITY", message={"template": utility("A", "b")})
    assert error_of(response) == (400, 10, 2018300)
