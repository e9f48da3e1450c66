"""The Inbox's forms as a person meets them: what is refused says why, keeps the text,
and sends nothing; an unknown contact is a 404, never a 500."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from console_app import csrf_of
from flask.testing import FlaskClient
from service_world import ADMIN_TOKEN, World, running_world

FLOW = 'on keyword "hi":\n    send "Hello!"\n'
PSID = "psid-console-inbox"


def signed_in(world: World) -> FlaskClient:
    assert world.served is not None
    client: FlaskClient = world.served.server.app.test_client()  # type: ignore[attr-defined]
    assert client.get(f"/inbox?token={ADMIN_TOKEN}").status_code == 302
    return client


def reply(client: FlaskClient, text: str, psid: str = PSID) -> tuple[int, str]:
    form = client.get(f"/inbox/{PSID}").get_data(as_text=True)
    answer = client.post(f"/inbox/{psid}/reply", data={"text": text, "csrf_token": csrf_of(form)})
    if answer.status_code != 302:
        return answer.status_code, answer.get_data(as_text=True)
    return 302, client.get(answer.headers["Location"]).get_data(as_text=True)


def test_refused_replies_say_why_keep_the_text_and_send_nothing(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        world.sim.control.add_contact(PSID)
        world.sim.control.say("hi", psid=PSID)
        world.settle()
        client = signed_in(world)
        listed = client.get("/inbox").get_data(as_text=True)
        assert f"/inbox/{PSID}" in listed

        status, page = reply(client, "x" * 2000)
        assert status == 302 and "Not sent: text" in page and "x" * 1999 in page

        world.advance(timedelta(hours=25), step=timedelta(hours=5))
        page = client.get(f"/inbox/{PSID}").get_data(as_text=True)
        assert "A reply now would be refused" in page  # no HUMAN_AGENT permission here
        status, page = reply(client, "Are you still there?")
        assert status == 302
        assert "Not sent: human_agent_permission_missing" in page
        assert ">Are you still there?</textarea>" in page
        assert [m for m in world.outbox() if m.source == "agent"] == []


def test_an_unknown_contact_is_a_404_on_every_form(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        world.sim.control.add_contact(PSID)
        world.sim.control.say("hi", psid=PSID)
        world.settle()
        client = signed_in(world)
        unknown = client.get("/inbox/nobody")
        assert unknown.status_code == 404 and unknown.mimetype == "text/html"
        assert "No contact nobody has written to this page." in unknown.get_data(as_text=True)
        flow = client.get("/flows/nope").get_data(as_text=True)
        assert "No flow called &#34;nope&#34;" in flow and 'href="/inbox"' in flow  # the navigation
        assert client.get("/inbox/nobody/thread").status_code == 404
        token = csrf_of(client.get(f"/inbox/{PSID}").get_data(as_text=True))
        for action in ("reply", "take-over", "hand-back"):
            answer = client.post(f"/inbox/nobody/{action}", data={"text": "x", "csrf_token": token})
            assert answer.status_code == 404, action
