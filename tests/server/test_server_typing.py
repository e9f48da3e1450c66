"""issue 12: D. `typing 3s` through the whole service: the worker decides it, the sender
sends Facebook's sender action and holds the contact's next message for the pause, and
the Graph API simulator (which checks a sender action as Facebook does) receives it.
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from service_world import START, World, running_world

PSID = "psid-typing"
OTHER = "psid-other"
FLOW = """\
on keyword "menu":
    send "Let me check today's specials..."
    typing 3s
    send "Today: mushroom risotto."
    send "And a lemon tart."

on keyword "hours":
    send "We're open 12:00 to 23:00."
"""


def sent(world: World, psid: str) -> list[dict[str, Any]]:
    return [m for m in world.sim.control.sent_messages(psid) if m.get("ok")]


def what(entry: dict[str, Any]) -> str:
    request = entry["request"]
    if "sender_action" in request:
        return f"<{request['sender_action']}>"
    return str(request["message"].get("text", ""))


def at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["at"])


def test_typing_reaches_facebook_as_a_sender_action_and_holds_the_next_message(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        world.sim.control.add_contact(PSID)
        world.sim.control.add_contact(OTHER)
        world.sim.control.say("menu", psid=PSID)
        world.settle()
        first = sent(world, PSID)
        assert [what(e) for e in first] == ["Let me check today's specials...", "<typing_on>"]
        # Facebook's own shape: the action alone, no message, no messaging_type, no pause.
        assert first[1]["request"] == {"recipient": {"id": PSID}, "sender_action": "typing_on"}
        # Meanwhile another contact is answered at once: a pause holds one contact only.
        world.sim.control.say("hours", psid=OTHER)
        world.settle()
        assert [what(e) for e in sent(world, OTHER)] == ["We're open 12:00 to 23:00."]
        world.advance(timedelta(seconds=2))
        assert len(sent(world, PSID)) == 2  # still typing
        world.advance(timedelta(seconds=2))
        after = sent(world, PSID)
        assert [what(e) for e in after] == [
            "Let me check today's specials...",
            "<typing_on>",
            "Today: mushroom risotto.",
            "And a lemon tart.",
        ]
        assert at(after[2]) - at(after[1]) >= timedelta(seconds=3)
        assert at(after[1]) == START
        rows = [r for r in world.outbox() if r.contact_id == PSID]
        assert [(r.kind, r.status) for r in rows] == [
            ("message", "sent"),
            ("typing", "sent"),
            ("message", "sent"),
            ("message", "sent"),
        ]
        assert rows[1].preview == "\u2026 typing 3s"


FOLLOW_UP = """\
on keyword "menu":
    send "Tonight's menu is coming."
    after 30h:
        typing 2s
        send "Still hungry?"
"""


def test_outside_the_window_no_indicator_goes_and_why_is_kept(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FOLLOW_UP) as world:
        world.start()
        world.sim.control.add_contact(PSID)
        world.sim.control.say("menu", psid=PSID)
        world.settle()
        world.advance(timedelta(hours=30, minutes=1), step=timedelta(hours=6))
        assert [what(e) for e in sent(world, PSID)] == ["Tonight's menu is coming."]
        rows = [(r.kind, r.status, r.reason) for r in world.outbox()]
        assert rows == [
            ("message", "sent", None),
            ("typing", "skipped", "outside_window"),
            ("message", "skipped", "outside_window"),
        ]
