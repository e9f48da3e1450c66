"""Send API refusals over real HTTP: token, recipient, window, tags, thread owner."""

from __future__ import annotations

import requests
from sim_helpers import PAGE_ID, PSID, TOKEN, Send, error_of

from pageflows.simulator import RunningSimulator

WINDOW_ERROR = (400, 10, 2018278)


def test_success_shape_and_log(sim: RunningSimulator, send: Send) -> None:
    response = send(messaging_type="RESPONSE")
    assert response.status_code == 200
    body = response.json()
    assert body["recipient_id"] == PSID
    assert body["message_id"].startswith("m_") and len(body["message_id"]) == 88
    [entry] = sim.control.sent_messages(PSID)
    assert entry["ok"] and entry["message_id"] == body["message_id"]
    assert entry["request"]["message"] == {"text": "hello"}


def test_error_body_is_facebooks_shape(send: Send) -> None:
    response = send(token="nope")
    error = response.json()["error"]
    assert error_of(response) == (400, 190, None)
    assert set(error) == {"message", "type", "code", "fbtrace_id"}
    assert error["type"] == "OAuthException" and error["message"] == "Invalid OAuth access token."
    assert response.headers["WWW-Authenticate"].startswith('OAuth "Facebook Platform"')


def test_token_of_another_page_is_refused(sim: RunningSimulator, send: Send) -> None:
    sim.control.register_page("999", "other-token", "s", "http://127.0.0.1:9/x")
    assert error_of(send(token="other-token"))[:2] == (400, 190)
    assert (
        send(token="other-token", node="999", recipient={"id": PSID}).json()["error"][
            "error_subcode"
        ]
        == 2018001
    )  # the token is fine for its page, the PSID is not


def test_token_as_bearer_header_and_form_field(sim: RunningSimulator) -> None:
    url = f"{sim.url}/me/messages"
    body = {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "x"}}
    bearer = requests.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert bearer.status_code == 200
    form = {
        "access_token": TOKEN,
        "recipient": f'{{"id":"{PSID}"}}',
        "messaging_type": "RESPONSE",
        "message": '{"text":"x"}',
    }
    assert requests.post(url, data=form, timeout=5).status_code == 200


def test_any_version_prefix(sim: RunningSimulator) -> None:
    root = sim.root
    for version in ("v19.0", "v25.0"):
        url = f"{root}/{version}/{PAGE_ID}/messages?access_token={TOKEN}"
        assert requests.post(url, json={"recipient": {"id": PSID}, "message": {"text": "x"}},
                             timeout=5).status_code == 200  # fmt: skip


def test_unknown_psid(send: Send) -> None:
    assert error_of(send(recipient={"id": "123"})) == (400, 100, 2018001)
    assert send(recipient={"id": "123"}).json()["error"]["message"] == (
        "(#100) No matching user found"
    )


def test_24h_window_is_strict(sim: RunningSimulator, send: Send) -> None:
    sim.control.advance(24 * 3600 - 1)
    assert send(messaging_type="RESPONSE").status_code == 200
    assert send(messaging_type="UPDATE").status_code == 200
    sim.control.advance(1)
    response = send(messaging_type="RESPONSE")
    assert error_of(response) == WINDOW_ERROR
    assert response.json()["error"]["message"].startswith(
        "(#10) This message is sent outside of allowed window."
    )
    assert error_of(send(messaging_type="UPDATE")) == WINDOW_ERROR
    assert error_of(send()) == WINDOW_ERROR  # no messaging_type: treated as RESPONSE


def test_contact_that_never_wrote_is_outside_window(sim: RunningSimulator, send: Send) -> None:
    sim.control.add_contact("42", "Bob", "Never")
    assert error_of(send(recipient={"id": "42"}, messaging_type="UPDATE")) == WINDOW_ERROR


def test_seen_reopens_the_window(sim: RunningSimulator, send: Send) -> None:
    sim.control.advance(3 * 24 * 3600)
    assert error_of(send(messaging_type="RESPONSE")) == WINDOW_ERROR
    sim.control.seen(PSID)
    assert send(messaging_type="RESPONSE").status_code == 200


def test_human_agent_and_customer_feedback_last_7_days(sim: RunningSimulator, send: Send) -> None:
    sim.control.advance(7 * 24 * 3600 - 1)
    for tag in ("HUMAN_AGENT", "CUSTOMER_FEEDBACK"):
        assert send(messaging_type="MESSAGE_TAG", tag=tag).status_code == 200
    sim.control.advance(1)
    for tag in ("HUMAN_AGENT", "CUSTOMER_FEEDBACK"):
        assert error_of(send(messaging_type="MESSAGE_TAG", tag=tag)) == WINDOW_ERROR


def test_missing_and_unknown_tags(send: Send) -> None:
    for tag in ("NOPE", None):
        response = send(messaging_type="MESSAGE_TAG", tag=tag)
        assert error_of(response) == (400, 100, None), tag
        assert "Param tag must be one of" in response.json()["error"]["message"]


def test_bad_messaging_type_and_tag_with_response(send: Send) -> None:
    assert error_of(send(messaging_type="PROMO"))[:2] == (400, 100)
    assert error_of(send(messaging_type="RESPONSE", tag="HUMAN_AGENT"))[:2] == (400, 100)


def test_thread_owned_by_another_app(sim: RunningSimulator, send: Send) -> None:
    sim.control.set_thread_owner(PSID, "263902037430900")
    assert error_of(send(messaging_type="RESPONSE")) == (400, 10, 2018300)
    sim.control.set_thread_owner(PSID, None)
    assert send(messaging_type="RESPONSE").status_code == 200


def test_handover_pass_and_take(sim: RunningSimulator, send: Send) -> None:
    def post(action: str, **extra: str) -> requests.Response:
        body = {"recipient": {"id": PSID}, "metadata": "m", **extra}
        return requests.post(f"{sim.url}/me/{action}_thread_control",
                             params={"access_token": TOKEN}, json=body, timeout=5)  # fmt: skip

    passed = post("pass", target_app_id="263902037430900")
    assert passed.json() == {"success": True}
    assert error_of(send(messaging_type="RESPONSE"))[2] == 2018300
    assert post("take").json() == {"success": True}
    assert send(messaging_type="RESPONSE").status_code == 200
    assert [h["action"] for h in sim.control.handovers()] == ["pass", "take"]
    assert error_of(post("pass")) == (400, 100, None)  # target_app_id missing


def test_sender_action_and_message_together(send: Send) -> None:
    assert send(sender_action="typing_on").json() == {"recipient_id": PSID}
    both = send(sender_action="typing_on", message={"text": "x"})
    assert error_of(both) == (400, 100, 2018014)


def test_refusals_are_logged(sim: RunningSimulator, send: Send) -> None:
    send(recipient={"id": "123"})
    [entry] = sim.control.sent_messages()
    assert not entry["ok"] and entry["status"] == 400
    assert entry["error"]["error_subcode"] == 2018001
    sim.control.clear_messages()
    assert sim.control.sent_messages() == []
