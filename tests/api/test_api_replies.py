"""What the reply routes refuse, and how: JSON that says what is wrong, never a 500."""

from __future__ import annotations

from pathlib import Path

import requests
from service_world import ADMIN_TOKEN, running_world

PSID = "psid-api-reply"
FLOW = 'on keyword "hi":\n    send "Hello!"\n'


def test_bad_drafts_unknown_contacts_and_pages_are_refused_clearly(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        world.sim.control.add_contact(PSID)
        world.sim.control.say("hi", psid=PSID)
        world.settle()
        path = f"/contacts/{PSID}/messages"

        no_body = world.api("POST", path, None)
        assert no_body.status_code == 415 and "Content-Type: application/json" in no_body.text
        url, auth = f"{world.url}/api{path}", {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        for raw, content_type, status, says in (
            (b'{"text": "hi"}', "text/plain", 415, "Content-Type: application/json"),
            (b"[1, 2]", "application/json", 400, "JSON object"),
            (b"{not json", "application/json", 400, "JSON object"),
            (b"[" * 10_000 + b"]" * 10_000, "application/json", 400, "JSON object"),
            (b'{"text": "\\ud800"}', "application/json", 400, "text holds text that is not"),
            (
                b'{"text": "ok", "quick_replies": [{"title": "\\udfff", "payload": "P"}]}',
                "application/json",
                400,
                "quick_replies[0].title holds",
            ),
        ):
            answer = requests.post(
                url, data=raw, headers={**auth, "Content-Type": content_type}, timeout=10
            )
            assert answer.status_code == status, (raw[:40], answer.text)
            assert says in answer.json()["error"]

        too_long = world.api("POST", path, {"text": "x" * 2000, "quick_replies": "yes"})
        assert too_long.status_code == 400
        assert len(too_long.json()["problems"]) == 2

        unknown = world.api("POST", "/contacts/nobody/messages", {"text": "Hi"})
        assert unknown.status_code == 404
        assert unknown.json()["psid"] == "nobody"
        assert world.api("GET", "/contacts/nobody/reply-mode").status_code == 404
        assert world.api("POST", "/contacts/nobody/handback").status_code == 404

        other_page = world.api("GET", f"/contacts/{PSID}/reply-mode?page=999")
        assert other_page.status_code == 404 and other_page.json()["pages"] == [world.page.id]

        nothing_sent = [r for r in world.outbox() if r.source == "agent"]
        assert nothing_sent == []
