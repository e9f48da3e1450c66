"""The example of the language draft behaves as the draft says, in the simulator.

tests/fixtures/design_example.flow is the draft's example, unchanged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from pageflows.chat.conversation import Conversation, Happened, describe_delivery
from pageflows.engine.effects import HandOff, Send, Skipped
from pageflows.engine.policy import check_tag
from pageflows.rules.load import load_texts
from pageflows.rules.page_facts import PageFacts

# Recurring notifications live on only for Pages in AU, EU, JP, KR and UK (policy.md §3).
EU_PAGE = PageFacts(region="EU")

FIXTURES = Path(__file__).parent.parent / "fixtures"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def chat() -> Conversation:
    texts = {
        "flows/spring_sale.flow": (FIXTURES / "design_example.flow").read_bytes(),
        "flows/broadcasts.flow": (FIXTURES / "design_broadcasts.flow").read_bytes(),
    }
    result = load_texts(texts, date(2026, 11, 24), check_tag)
    assert result.program is not None
    return Conversation.start(result.program, START, page=EU_PAGE)


def said(happened: list[Happened]) -> list[str]:
    return [
        f"[{describe_delivery(h.effect)}] {h.effect.outbound.preview}"
        for h in happened
        if isinstance(h.effect, Send | Skipped)
    ]


def test_ref_greets_then_deals_card_then_email_is_asked_and_checked() -> None:
    c = chat()
    assert said(c.run("/arrive ref=spring_sale")) == [
        "[RESPONSE] Hi Alice! Our spring sale is on.  [Show me deals] [Not now]"
    ]
    assert c.contact.tags == {"spring-sale"} and c.contact.fields == {"source": "spring_sale"}
    assert said(c.run("/tap Show me deals")) == [
        "[RESPONSE] <card Spring deals [Shop now] [Email me the list]>"
    ]
    assert said(c.run("/tap Email me the list")) == ["[RESPONSE] What's your email?"]
    assert said(c.run("alice at example")) == [
        "[RESPONSE] That doesn't look like an email, try again?"
    ]
    assert said(c.run("alice@example.com")) == [
        "[RESPONSE] Thanks! We'll write to alice@example.com."
    ]


def test_follow_ups_go_as_update_inside_the_window_and_skip_without_opt_in() -> None:
    c = chat()
    c.run("/arrive ref=spring_sale")
    assert said(c.run("/wait 20h")) == ["[UPDATE] The sale ends tonight. Still interested?"]
    assert said(c.run("/wait 3d")) == ["[skipped no_token] Last days of the spring sale, Alice."]


def test_without_a_ref_the_fallback_asks_and_a_quick_reply_sets_the_source() -> None:
    c = chat()
    assert said(c.run("hello")) == [
        "[RESPONSE] Welcome! How did you find us?  [Instagram] [A friend]"
    ]
    c.run("/tap A friend")
    assert c.contact.fields["source"] == "friend"


def test_keywords_comments_and_the_human_handoff() -> None:
    c = chat()
    c.run("/arrive ref=spring_sale")
    assert said(c.run("How much is it?")) == ["[RESPONSE] Prices start at $19."]
    reply = said(c.run("/comment post=1234567890_1111 what is the price"))
    assert reply == [
        "[private reply] Thanks for asking, Alice! Reply here and we'll send the list."
    ]
    assert said(c.run("/comment post=999_1 what is the price")) == []
    handed = c.run("/postback TALK_TO_HUMAN")
    assert any(isinstance(h.effect, HandOff) for h in handed)
    assert said(c.run("price")) == []


def test_the_broadcast_reaches_a_subscriber_at_its_time_in_its_time_zone() -> None:
    c = chat()
    c.run("/arrive ref=spring_sale")
    c.run("/optin deals")
    happened = c.run("/wait 7d")
    december = [
        (h.at, describe_delivery(h.effect))
        for h in happened
        if isinstance(h.effect, Send) and "December deals" in h.effect.outbound.preview
    ]
    assert december == [(datetime(2026, 12, 1, 8, 0, tzinfo=UTC), "notification token (deals)")]
