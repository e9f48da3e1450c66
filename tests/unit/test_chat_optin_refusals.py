"""`/optin` in chat and transcripts: only under a request on screen, as in Messenger; and
`!` lines, which expect a command to be refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pageflows.chat.conversation import Conversation, ConversationError
from pageflows.chat.transcript import parse_script, run_script
from pageflows.engine.policy import check_tag
from pageflows.rules.compile import Program
from pageflows.rules.load import load_texts
from pageflows.rules.page_facts import PageFacts

EU_PAGE = PageFacts(region="EU")  # opt-in requests live on there (policy.md §3)
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

FLOW = b"""\
on keyword "deals":
    request notifications "deals" title "Deals and offers"

on keyword "news":
    request notifications "news" title "Shop news"

on optin "deals":
    send "Thanks, you're on the list."
"""


def program() -> Program:
    result = load_texts({"f/optin.flow": FLOW}, date(2026, 11, 24), check_tag)
    assert result.program is not None
    return result.program


def test_no_request_no_opt_in() -> None:
    chat = Conversation.start(program(), START, page=EU_PAGE)
    with pytest.raises(ConversationError) as refused:
        chat.run("/optin deals")
    assert str(refused.value) == (
        'no opt-in request for "deals" to tap: Messenger shows "Get messages" only under an'
        " opt-in request the bot sent (`request notifications`), and none was sent or all"
        " were tapped"
    )
    assert chat.contact.tokens == {}


def test_a_request_is_tapped_once_by_topic_or_title_and_others_are_listed() -> None:
    chat = Conversation.start(program(), START, page=EU_PAGE)
    chat.run("deals")
    chat.run("news")
    with pytest.raises(ConversationError) as wrong:
        chat.run("/optin recipes")
    assert str(wrong.value) == (
        'no opt-in request for "recipes" to tap; waiting to be tapped:'
        ' "deals" (Deals and offers), "news" (Shop news)'
    )
    chat.run("/optin Deals and offers")  # the title the contact reads, any case
    assert chat.contact.tokens["deals"].token == "token-deals"
    with pytest.raises(ConversationError, match='waiting to be tapped: "news"'):
        chat.run("/optin deals")


def test_stop_needs_a_topic_the_contact_opted_in_to() -> None:
    chat = Conversation.start(program(), START, page=EU_PAGE)
    with pytest.raises(ConversationError, match='never opted in to "deals"'):
        chat.run("/stop-optin deals")
    chat.run("deals")
    chat.run("/tap Get messages")
    chat.run("/stop-optin deals")
    assert chat.contact.tokens["deals"].stopped


def failures_of(text: str) -> list[tuple[int, str]]:
    script = parse_script("t.chat", text)
    found = run_script(program(), script, START, EU_PAGE)
    return [(f.line, f.message) for f in found]


def test_a_transcript_expects_a_refusal_with_a_bang_line() -> None:
    assert failures_of('> /optin deals\n! no opt-in request for "deals"\n') == []


def test_a_bang_line_fails_when_the_command_goes_through_or_is_refused_otherwise() -> None:
    carried = failures_of(
        "> deals\n< [RESPONSE] <opt-in: Deals and offers> [Get messages]\n"
        "> /optin deals\n! no opt-in request\n< Thanks, you're on the list.\n"
    )
    assert carried == [
        (4, "expected `> /optin deals` to be refused (no opt-in request), but it was carried out")
    ]
    other = failures_of("> /optin deals\n! not allowed\n< Thanks, you're on the list.\n")
    assert [line for line, _ in other] == [2, 3]
    assert other[0][1].startswith("`> /optin deals` was refused, but not with 'not allowed': ")
    assert other[1][1].endswith(": the bot sends nothing")


def test_an_unexpected_refusal_still_fails_and_a_bang_needs_a_command() -> None:
    assert failures_of("> /optin deals\n") == [
        (1, '`> /optin deals`: no opt-in request for "deals" to tap: Messenger shows'
            ' "Get messages" only under an opt-in request the bot sent (`request'
            ' notifications`), and none was sent or all were tapped')
    ]  # fmt: skip
    assert failures_of("! refused\n") == [(0, "t.chat:1: expectations come after a `>` line")]
