"""Which trigger fires for an event: the documented precedence, seen through core.handle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from support import program

from pageflows.engine.contact import ContactState
from pageflows.engine.core import Decision, handle
from pageflows.engine.effects import Note, Send
from pageflows.engine.events import (
    CommentIn,
    InboundEvent,
    MessageIn,
    PostbackIn,
    Referral,
    ReferralIn,
)
from pageflows.engine.policy import check_tag
from pageflows.rules.load import load_texts

AS_OF = date(2026, 1, 10)
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
CID = "psid-1"


def texts(decision: Decision) -> list[str]:
    """The text of every message sent (private replies included)."""
    return [e.outbound.message["text"] for e in decision.effects if isinstance(e, Send)]


def new_contact() -> ContactState:
    return ContactState(id=CID)


def known_contact() -> ContactState:
    """A contact who has written before, so 'first message' triggers no longer apply."""
    earlier = T0 - timedelta(hours=1)
    return ContactState(
        id=CID, first_seen_at=earlier, last_user_message_at=earlier, message_count=3
    )


def message(text: str, **extra: object) -> MessageIn:
    return MessageIn.model_validate({"contact_id": CID, "timestamp": T0, "text": text, **extra})


def referral(ref: str | None, source: str | None = "SHORTLINK") -> ReferralIn:
    return ReferralIn(contact_id=CID, timestamp=T0, referral=Referral(ref=ref, source=source))


def get_started(ref: str | None = None, source: str = "SHORTLINK") -> PostbackIn:
    return tap("GET_STARTED", ref, source)


def tap(payload: str, ref: str | None = None, source: str = "SHORTLINK") -> PostbackIn:
    return PostbackIn(
        contact_id=CID,
        timestamp=T0,
        payload=payload,
        referral=Referral(ref=ref, source=source) if ref is not None else None,
    )


def comment(post_id: str, text: str, from_page: bool = False) -> CommentIn:
    return CommentIn(
        contact_id=CID,
        timestamp=T0,
        comment_id=f"{post_id}_c1",
        post_id=post_id,
        text=text,
        from_page=from_page,
    )


# ------------------------------------------------------------ message text precedence

TEXT_FLOWS = """
on message:
    send "default"
on first message:
    send "first"
on ref missing:
    send "ref missing"
on regex /pri/:
    send "regex"
on keyword "price":
    send "contains"
on keyword "price" starts:
    send "starts"
on keyword "price" exact:
    send "exact"
"""


@pytest.mark.parametrize(
    ("contact", "text", "expected"),
    [
        (known_contact(), "price", "exact"),
        (known_contact(), "price please", "starts"),
        (known_contact(), "what is the price", "contains"),
        (known_contact(), "pricing?", "regex"),
        (known_contact(), "hello", "default"),
        (new_contact(), "price", "exact"),
        (new_contact(), "pricing?", "regex"),
        (new_contact(), "hello", "ref missing"),
    ],
    ids=[
        "exact_keyword_beats_starts",
        "starts_beats_contains",
        "contains_beats_regex",
        "regex_beats_default",
        "default_reply_when_nothing_else_matches",
        "keyword_beats_ref_missing_for_a_new_contact",
        "regex_beats_ref_missing_for_a_new_contact",
        "ref_missing_beats_first_message",
    ],
)
def test_the_most_specific_text_trigger_answers(
    contact: ContactState, text: str, expected: str
) -> None:
    decision = handle(program(TEXT_FLOWS), contact, message(text), T0)
    assert texts(decision) == [expected]


@pytest.mark.parametrize(
    ("contact", "expected"),
    [(new_contact(), "first"), (known_contact(), "default")],
    ids=["new_contact_gets_first_message", "returning_contact_gets_default_reply"],
)
def test_first_message_greets_only_a_new_contact_without_ref_missing(
    contact: ContactState, expected: str
) -> None:
    flows = """
on message:
    send "default"
on first message:
    send "first"
"""
    assert texts(handle(program(flows), contact, message("hello"), T0)) == [expected]


def test_second_message_of_a_new_contact_gets_the_default_reply() -> None:
    prog = program(TEXT_FLOWS)
    first = handle(prog, new_contact(), message("hello"), T0)
    later = MessageIn(contact_id=CID, timestamp=T0 + timedelta(minutes=1), text="hello again")
    second = handle(prog, first.contact, later, T0 + timedelta(minutes=1))
    assert texts(first) == ["ref missing"]
    assert texts(second) == ["default"]


def test_declaration_order_breaks_ties_between_equal_keywords() -> None:
    flows = """
on keyword "price":
    send "first declared"
on keyword "price":
    send "second declared"
"""
    decision = handle(program(flows), known_contact(), message("the price"), T0)
    assert texts(decision) == ["first declared"]


def test_declaration_order_follows_file_paths_across_flows() -> None:
    result = load_texts(
        {
            "flows/b.flow": b'on keyword "price":\n    send "from b"\n',
            "flows/a.flow": b'on keyword "price":\n    send "from a"\n',
        },
        AS_OF,
        check_tag,
    )
    assert result.program is not None
    decision = handle(result.program, known_contact(), message("price"), T0)
    assert texts(decision) == ["from a"]


@pytest.mark.parametrize(
    ("text", "keyword", "fires"),
    [
        ("PRÉÇO?", "preco", True),
        ("Qual é o preço", "preco", True),
        ("price", "PRICE", True),
        ("How Much is it", "how much", True),
        ("priceless", "price", False),
        ("overprice", "price", False),
        ("price-list", "price", True),
        ("how  much", "how much", True),
    ],
)
def test_keywords_match_whole_words_ignoring_case_and_accents(
    text: str, keyword: str, fires: bool
) -> None:
    flows = f'on keyword "{keyword}":\n    send "matched"\n'
    decision = handle(program(flows), known_contact(), message(text), T0)
    assert texts(decision) == (["matched"] if fires else [])
    assert decision.trigger is not None if fires else decision.trigger is None


def test_message_nobody_handles_is_a_note_not_silence() -> None:
    decision = handle(
        program('on keyword "price":\n    send "x"\n'), known_contact(), message("hi"), T0
    )
    assert decision.trigger is None
    assert decision.effects == (Note(text="no trigger matched"),)


def test_at_most_one_trigger_fires_per_event() -> None:
    decision = handle(program(TEXT_FLOWS), new_contact(), message("price"), T0)
    assert len([e for e in decision.effects if isinstance(e, Send)]) == 1


# ------------------------------------------------------------ referrals

REF_FLOWS = """
on ref "camp_*":
    send "glob"
on ref "camp_spring":
    send "equal"
on ref "promo" from ads:
    send "promo from ads"
on ref "promo":
    send "promo any source"
on ref "adsonly" from ads:
    send "ads only"
on ref missing:
    send "ref missing"
on get started:
    send "get started"
"""

REF_FLOWS_NO_GET_STARTED = """
on ref "spring":
    send "spring"
on ref missing:
    send "ref missing"
"""


@pytest.mark.parametrize(
    ("flows", "event", "expected"),
    [
        (REF_FLOWS, referral("camp_spring"), "equal"),
        (REF_FLOWS, referral("camp_autumn"), "glob"),
        (REF_FLOWS, referral("promo", "ADS"), "promo from ads"),
        (REF_FLOWS, referral("promo", "SHORTLINK"), "promo any source"),
        (REF_FLOWS, referral("promo", "MESSENGER_CODE"), "promo any source"),
        (REF_FLOWS, referral("adsonly", "SHORTLINK"), "ref missing"),
        (REF_FLOWS, referral("adsonly", "ADS"), "ads only"),
        (REF_FLOWS, referral("nobody_knows_me"), "ref missing"),
        (REF_FLOWS, referral(None, None), "ref missing"),
        (REF_FLOWS, get_started("camp_spring"), "equal"),
        (REF_FLOWS, get_started("promo", "ADS"), "promo from ads"),
        (REF_FLOWS, get_started(), "get started"),
        (REF_FLOWS, get_started("nobody_knows_me"), "ref missing"),
        (REF_FLOWS_NO_GET_STARTED, get_started(), "ref missing"),
        (REF_FLOWS_NO_GET_STARTED, get_started("spring"), "spring"),
        (REF_FLOWS_NO_GET_STARTED, message("hi", referral={"ref": "spring"}), "spring"),
        (REF_FLOWS_NO_GET_STARTED, message("hi", referral={"ref": "zzz"}), "ref missing"),
        (REF_FLOWS_NO_GET_STARTED, message("hi", referral={"source": "ADS"}), "ref missing"),
    ],
    ids=[
        "equal_ref_beats_glob",
        "glob_ref_matches_other_campaigns",
        "from_ads_trigger_for_an_ad_referral",
        "from_ads_trigger_ignores_an_m_me_link",
        "from_ads_trigger_ignores_a_qr_code",
        "ads_only_ref_from_a_link_falls_back_to_ref_missing",
        "ads_only_ref_from_an_ad",
        "unknown_ref_falls_back_to_ref_missing",
        "eu_referral_without_ref_falls_back_to_ref_missing",
        "get_started_with_a_referral_fires_the_ref_trigger",
        "get_started_with_an_ad_referral_fires_the_ads_ref_trigger",
        "get_started_without_ref_fires_on_get_started",
        "get_started_with_an_unknown_ref_falls_back_to_ref_missing",
        "get_started_without_ref_or_trigger_falls_back_to_ref_missing",
        "get_started_with_ref_and_no_get_started_trigger",
        "message_carrying_a_referral_fires_the_ref_trigger",
        "first_message_carrying_an_unknown_ref_falls_back_to_ref_missing",
        "first_message_from_an_ad_without_ref_falls_back_to_ref_missing",
    ],
)
def test_referral_fires_the_matching_ref_trigger(
    flows: str, event: InboundEvent, expected: str
) -> None:
    decision = handle(program(flows), new_contact(), event, T0)
    assert texts(decision) == [expected]


def test_a_referral_remembers_the_ref_and_its_source_on_the_contact() -> None:
    decision = handle(program(REF_FLOWS), new_contact(), referral("promo", "ADS"), T0)
    assert decision.contact.ref == "promo"
    assert decision.contact.ref_source == "ads"


def test_a_referral_without_ref_does_not_forget_an_earlier_ref() -> None:
    contact = known_contact().model_copy(update={"ref": "spring"})
    decision = handle(program(REF_FLOWS), contact, referral(None, None), T0)
    assert decision.contact.ref == "spring"


# ------------------------------------------------------------ taps (postbacks)

TAP_FLOWS = """
on postback "TALK_TO_HUMAN":
    send "human"
on ref "spring":
    send "spring"
on message:
    send "default"
"""
REF_MISSING = 'on ref missing:\n    send "ref missing"\n'


@pytest.mark.parametrize(
    ("flows", "event", "expected"),
    [
        (TAP_FLOWS, tap("TALK_TO_HUMAN"), ["human"]),
        (TAP_FLOWS, tap("OLD_MENU_ITEM"), ["default"]),
        (TAP_FLOWS, get_started(), ["default"]),
        (TAP_FLOWS, get_started("spring"), ["spring"]),
        (TAP_FLOWS, get_started("autumn"), ["default"]),
        (TAP_FLOWS + REF_MISSING, tap("X", "autumn"), ["ref missing"]),
        (TAP_FLOWS.replace("on message", "on first message"), tap("OLD_MENU_ITEM"), []),
    ],
    ids=[
        "a_known_payload_fires_its_trigger",
        "an_unknown_payload_gets_the_default_reply",
        "get_started_without_a_trigger_gets_the_default_reply",
        "a_tap_with_a_known_ref_fires_the_ref",
        "an_unknown_ref_without_ref_missing_gets_the_default_reply",
        "an_unknown_ref_fires_ref_missing_before_the_default",
        "without_on_message_an_unknown_tap_is_a_note",
    ],
)
def test_a_tap_no_trigger_takes_gets_the_default_reply(
    flows: str, event: InboundEvent, expected: list[str]
) -> None:
    decision = handle(program(flows), known_contact(), event, T0)
    assert texts(decision) == expected
    if not expected:
        assert decision.effects == (Note(text="no trigger matched"),)


# ------------------------------------------------------------ comments

COMMENT_FLOWS = """
on comment:
    private reply "any"
on comment containing "price":
    private reply "words"
on comment on post "p1":
    private reply "post"
on comment on post "p1" containing "price":
    private reply "post and words"
"""


@pytest.mark.parametrize(
    ("post_id", "text", "expected"),
    [
        ("p1", "What's the PRICE?", "post and words"),
        ("p1", "nice photo", "post"),
        ("p2", "price?", "words"),
        ("p2", "nice photo", "any"),
        ("p2", "priceless", "any"),
        ("p1", "PREÇO? price!", "post and words"),
    ],
    ids=[
        "post_and_words_beats_post",
        "post_beats_any",
        "words_beat_any_on_another_post",
        "any_comment_as_the_last_resort",
        "containing_needs_a_whole_word",
        "containing_ignores_case_and_punctuation",
    ],
)
def test_the_most_specific_comment_trigger_replies(post_id: str, text: str, expected: str) -> None:
    decision = handle(program(COMMENT_FLOWS), new_contact(), comment(post_id, text), T0)
    assert texts(decision) == [expected]


def test_the_pages_own_comment_fires_nothing() -> None:
    decision = handle(
        program(COMMENT_FLOWS), new_contact(), comment("p1", "price", from_page=True), T0
    )
    assert decision.trigger is None
    assert not [e for e in decision.effects if isinstance(e, Send)]
