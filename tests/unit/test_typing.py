"""issue 12: D. `typing 2s`: the indicator, a pause, and where Facebook allows neither.

What the contact would see (the dots, then the message) and what `pageflows
chat` prints; a transcript written before typing existed still passes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from support import program

from pageflows.chat.conversation import Conversation
from pageflows.chat.show import effect_lines
from pageflows.cli import main
from pageflows.engine.contact import ContactState
from pageflows.engine.core import handle
from pageflows.engine.effects import Send, Skipped, Typing
from pageflows.engine.events import CommentIn, MessageIn

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

FLOWS = """
on keyword "menu":
    send "Let me check today's specials..."
    typing 3s
    send "Today: mushroom risotto."
    after 30h:
        typing 2s
        send "Still hungry?"

on comment:
    typing 2s
    private reply "Thanks! Check your inbox."
"""


def contact() -> ContactState:
    return ContactState(id="psid-1", first_seen_at=T0, last_user_message_at=T0, message_count=1)


def test_inside_the_window_the_indicator_goes_between_the_messages() -> None:
    decision = handle(
        program(FLOWS), contact(), MessageIn(contact_id="psid-1", timestamp=T0, text="menu"), T0
    )
    shown = [
        e.outbound.preview if isinstance(e, Send) else e
        for e in decision.effects
        if isinstance(e, Send | Typing)
    ]
    assert shown[0] == "Let me check today's specials..."
    assert shown[2] == "Today: mushroom risotto."
    typing = shown[1]
    assert isinstance(typing, Typing)
    assert typing.pause == timedelta(seconds=3)
    assert typing.skip_reason is None
    assert typing.request_body() == {"recipient": {"id": "psid-1"}, "sender_action": "typing_on"}


def chat() -> Conversation:
    return Conversation.start(program(FLOWS), T0)


def test_chat_shows_the_dots_as_a_dot_line() -> None:
    talk = chat()
    lines = effect_lines(talk.run("menu"), talk.clock.now())
    assert lines[:3] == [
        "< [RESPONSE] Let me check today's specials...",
        "·   \u2026 typing 3s",
        "< [RESPONSE] Today: mushroom risotto.",
    ]


TAGGED = """
on keyword "book":
    send "Booked!"
    after 2d with tag ACCOUNT_UPDATE:
        typing
        send "Your table is confirmed."
"""


def test_a_follow_up_with_a_tag_goes_without_the_indicator() -> None:
    before_retirement = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)  # the tag was still in force
    talk = Conversation.start(program(TAGGED), before_retirement)
    talk.run("book")
    happened = talk.run("/wait 2d")
    effects = [h.effect for h in happened]
    typing = next(e for e in effects if isinstance(e, Typing))
    assert typing.skip_reason == "typing_outside_window"
    sent = [e for e in effects if isinstance(e, Send)]
    assert [s.outbound.preview for s in sent] == ["Your table is confirmed."]
    assert sent[0].delivery.tag == "ACCOUNT_UPDATE"
    lines = effect_lines(happened, talk.clock.now())
    assert any(
        line.startswith("·   typing skipped (typing_outside_window): Facebook shows the typing")
        for line in lines
    )


def test_after_the_window_the_indicator_is_skipped_with_the_message() -> None:
    talk = chat()
    talk.run("menu")
    effects = [h.effect for h in talk.run("/wait 30h")]
    typing = next(e for e in effects if isinstance(e, Typing))
    assert typing.skip_reason == "outside_window"
    assert [e.reason for e in effects if isinstance(e, Skipped)] == ["outside_window"]


def test_no_indicator_to_a_comment() -> None:
    event = CommentIn(contact_id="psid-9", timestamp=T0, comment_id="c1", post_id="p1", text="nice")
    decision = handle(program(FLOWS), ContactState(id="psid-9"), event, T0)
    typing = next(e for e in decision.effects if isinstance(e, Typing))
    assert typing.skip_reason is not None
    replies = [e for e in decision.effects if isinstance(e, Send)]
    assert [r.outbound.preview for r in replies] == ["Thanks! Check your inbox."]


def test_a_transcript_ignores_the_indicator(tmp_path: Path) -> None:
    (tmp_path / "menu.flow").write_text(FLOWS, "utf-8")
    (tmp_path / "menu.chat").write_text(
        "~ start 2026-11-24 09:00\n"
        "> menu\n"
        "< [RESPONSE] Let me check today's specials...\n"
        "< [RESPONSE] Today: mushroom risotto.\n",
        "utf-8",
    )
    result = CliRunner().invoke(main, ["test", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed" in result.output
