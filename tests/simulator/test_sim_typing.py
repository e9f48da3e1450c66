"""issue 12: D. The typing indicator as the simulator takes it, the way `typing 2s` sends it:
the action alone, answered without a message id, refused outside the 24 h window."""

from __future__ import annotations

from sim_helpers import PSID, Send, error_of

from pageflows.simulator import RunningSimulator

WINDOW_ERROR = (400, 10, 2018278)


def test_typing_on_inside_the_window(sim: RunningSimulator, send: Send) -> None:
    response = send(sender_action="typing_on")
    assert response.status_code == 200
    assert response.json() == {"recipient_id": PSID}  # no message_id: it is not a message
    [entry] = sim.control.sent_messages(PSID)
    assert entry["ok"] and entry["request"]["sender_action"] == "typing_on"


def test_typing_on_outside_the_window_is_refused(sim: RunningSimulator, send: Send) -> None:
    sim.control.advance(24 * 3600 + 1)
    assert error_of(send(sender_action="typing_on")) == WINDOW_ERROR


def test_typing_with_a_message_or_a_wrong_name_is_refused(send: Send) -> None:
    assert error_of(send(sender_action="typing_on", message={"text": "x"}))[:3] == (
        400,
        100,
        2018014,
    )
    assert error_of(send(sender_action="typing"))[:2] == (400, 100)
