"""Tapping in the simulator does what tapping in Messenger does."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pageflows.chat.conversation import Conversation, ConversationError
from pageflows.engine.effects import Send
from pageflows.engine.policy import check_tag
from pageflows.rules.load import load_texts
from pageflows.rules.page_facts import PageFacts

# Recurring notifications live on only for Pages in AU, EU, JP, KR and UK (policy.md §3).
EU_PAGE = PageFacts(region="EU")

FLOW = b"""\
on keyword "deals":
    request notifications "deals" title "Deals and offers"

on optin "deals":
    send "Thanks, you're on the list."
"""


def conversation() -> Conversation:
    result = load_texts({"f/optin.flow": FLOW}, date(2026, 11, 24), check_tag)
    assert result.program is not None
    return Conversation.start(
        result.program, datetime(2026, 11, 24, 9, 0, tzinfo=UTC), page=EU_PAGE
    )


def test_tapping_get_messages_on_an_opt_in_request_opts_the_contact_in() -> None:
    chat = conversation()
    chat.run("deals")
    happened = chat.run("/tap Get messages")
    sent = [h.effect for h in happened if isinstance(h.effect, Send)]
    assert [s.outbound.preview for s in sent] == ["Thanks, you're on the list."]
    assert chat.contact.tokens["deals"].token == "token-deals"


def test_tapping_a_title_that_is_not_offered_says_what_is() -> None:
    chat = conversation()
    chat.run("deals")
    with pytest.raises(ConversationError, match='"Get messages"'):
        chat.run("/tap Yes please")


def test_an_attachment_fires_the_attachment_trigger_of_its_kind() -> None:
    flows = b'on attachment image:\n    send "Nice picture!"\non message:\n    send "Hm?"\n'
    result = load_texts({"f/media.flow": flows}, date(2026, 11, 24), check_tag)
    assert result.program is not None
    chat = Conversation.start(
        result.program, datetime(2026, 11, 24, 9, 0, tzinfo=UTC), page=EU_PAGE
    )
    image = [h.effect for h in chat.run("/attach image https://example.com/a.jpg")]
    audio = [h.effect for h in chat.run("/attach audio")]
    assert [e.outbound.preview for e in image if isinstance(e, Send)] == ["Nice picture!"]
    assert [e.outbound.preview for e in audio if isinstance(e, Send)] == ["Hm?"]


TABLE = b"""\
on keyword "hi":
    send "Table?"
        quick "{contact.first_name}'s table" -> yes

step yes:
    send "Done."
"""


@pytest.mark.parametrize(
    "typed", ["/tap Alice's table", "/tap alice\u2019s TABLE", '/tap "Alice\'s table"']
)
def test_a_title_with_an_apostrophe_is_tapped_as_typed(typed: str) -> None:
    result = load_texts({"f/table.flow": TABLE}, date(2026, 11, 24), check_tag)
    assert result.program is not None
    chat = Conversation.start(result.program, datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    chat.run("hi")
    sent = [h.effect for h in chat.run(typed) if isinstance(h.effect, Send)]
    assert [s.outbound.preview for s in sent] == ["Done."]
