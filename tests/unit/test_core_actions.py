"""What flow actions do for a contact: ask, taps, templates, split, handoff, stop, goto."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from support import program

from pageflows.chat.conversation import Conversation, Happened
from pageflows.engine import render
from pageflows.engine.contact import ContactState
from pageflows.engine.core import Decision, handle
from pageflows.engine.effects import HandOff, Note, Send, Skipped
from pageflows.engine.events import InboundEvent, MessageIn, PostbackIn
from pageflows.engine.policy import check_tag
from pageflows.rules import model as m
from pageflows.rules.compile import Program
from pageflows.rules.load import load_texts
from pageflows.rules.source import Span

AS_OF = date(2026, 1, 10)
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
CID = "psid-1"


def texts(effects: tuple[Any, ...] | list[Any]) -> list[str]:
    found = []
    for effect in effects:
        if isinstance(effect, Happened):
            effect = effect.effect
        if isinstance(effect, Send):
            found.append(effect.outbound.preview)
    return found


def contact(**update: Any) -> ContactState:
    earlier = T0 - timedelta(hours=1)
    base = ContactState(
        id=CID, first_seen_at=earlier, last_user_message_at=earlier, message_count=1
    )
    return base.model_copy(update=update)


def message(text: str, at: datetime = T0, quick_reply: str | None = None) -> MessageIn:
    return MessageIn(contact_id=CID, timestamp=at, text=text, quick_reply=quick_reply)


def step_by_step(prog: Program, start: ContactState, *events: InboundEvent) -> list[Decision]:
    """Feed events one after the other, carrying the contact along, each a minute apart."""
    decisions = []
    state = start
    for event in events:
        decision = handle(prog, state, event, event.timestamp)
        decisions.append(decision)
        state = decision.contact
    return decisions


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


# ------------------------------------------------------------ ask

ASK_FLOWS = """
on keyword "join":
    ask "What's your email?" into email as email:
        invalid "That doesn't look like an email, try again?"
    send "Thanks! We'll write to {contact.email}."
    tag "subscribed"

on keyword "price":
    send "Prices start at $19."
"""


def test_ask_sends_the_question_and_waits() -> None:
    (decision,) = step_by_step(program(ASK_FLOWS), contact(), message("join"))
    assert texts(decision.effects) == ["What's your email?"]
    assert decision.contact.waiting is not None
    assert decision.contact.waiting.field == "email"


def test_the_next_message_answers_the_ask_even_if_it_contains_a_keyword() -> None:
    _, answer = step_by_step(
        program(ASK_FLOWS), contact(), message("join"), message("price@example.com", minutes(1))
    )
    assert answer.trigger is None
    assert texts(answer.effects) == ["Thanks! We'll write to price@example.com."]
    assert answer.contact.fields["email"] == "price@example.com"
    assert "subscribed" in answer.contact.tags
    assert answer.contact.waiting is None


def test_an_invalid_email_gets_the_invalid_text_and_the_ask_keeps_waiting() -> None:
    _, wrong, right = step_by_step(
        program(ASK_FLOWS),
        contact(),
        message("join"),
        message("ann at example dot com", minutes(1)),
        message("ann@example.com", minutes(2)),
    )
    assert texts(wrong.effects) == ["That doesn't look like an email, try again?"]
    assert wrong.contact.waiting is not None
    assert "email" not in wrong.contact.fields
    assert texts(right.effects) == ["Thanks! We'll write to ann@example.com."]


@pytest.mark.parametrize(
    ("expects", "answer", "valid"),
    [
        ("email", "ann@example.com", True),
        ("email", "ann at example", False),
        ("phone", "+1 (555) 123-4567", True),
        ("phone", "call me", False),
        ("number", "42", True),
        ("number", "forty-two", False),
        ("text", "anything at all", True),
        ("text", "   ", False),
    ],
)
def test_ask_validates_the_answer_by_its_kind(expects: str, answer: str, valid: bool) -> None:
    flows = f"""
on keyword "go":
    ask "Tell me" into value as {expects}
    send "got it"
"""
    _, reply = step_by_step(program(flows), contact(), message("go"), message(answer, minutes(1)))
    if valid:
        assert texts(reply.effects) == ["got it"]
        assert reply.contact.fields["value"] == answer.strip()
    else:
        assert texts(reply.effects) != ["got it"]
        assert reply.contact.waiting is not None


def test_ask_inside_an_if_branch_resumes_after_the_if() -> None:
    flows = """
on keyword "join":
    if tagged "vip":
        send "VIP!"
        ask "Your email?" into email as email
        send "inside the branch"
    else:
        send "not vip"
    send "after the if"
"""
    _, answer = step_by_step(
        program(flows),
        contact(tags=frozenset({"vip"})),
        message("join"),
        message("ann@example.com", minutes(1)),
    )
    assert texts(answer.effects) == ["inside the branch", "after the if"]


@pytest.mark.parametrize(
    "ending",
    ["stop", "goto other", 'handoff "late"', 'ask "Your email?" into email'],
)
def test_a_follow_up_that_ends_early_sends_what_came_before(ending: str) -> None:
    flows = f"""
on keyword "join":
    after 1h:
        send "before"
        {ending}
        send "never"

step other:
    send "other step"
"""
    conversation = Conversation.start(program(flows), T0)
    conversation.run("join")
    sent = texts(conversation.run("/wait 1h"))
    assert sent[0] == "before"
    assert "never" not in sent


def test_ask_inside_an_after_block_does_not_resume_past_the_after() -> None:
    flows = """
on keyword "join":
    send "hello"
    after 1h:
        ask "Your email?" into email as email
        send "inside the follow-up"
    send "right away"
"""
    conversation = Conversation.start(program(flows), T0)
    first = conversation.run("join")
    assert texts(first) == ["hello", "right away"]
    assert texts(conversation.run("/wait 1h")) == ["Your email?"]
    assert texts(conversation.run("ann@example.com")) == ["inside the follow-up"]


# ------------------------------------------------------------ quick replies and buttons

TAP_FLOWS = """
on keyword "start":
    send "How did you find us?"
        quick "Deals" -> deals
        quick "Instagram" -> set source = "instagram"
        quick "VIP" -> tag "vip"
    send buttons "Or pick:":
        button "Shop" url "https://shop.example.com"
        button "Deals" -> deals

step deals:
    send "Here are the deals."
"""


@pytest.mark.parametrize(
    ("command", "sent", "field", "tag"),
    [
        ('/tap "Instagram"', [], ("source", "instagram"), None),
        ('/tap "VIP"', [], None, "vip"),
    ],
    ids=["quick_reply_sets_a_field_inline", "quick_reply_tags_inline"],
)
def test_quick_reply_tap_changes_the_contact(
    command: str, sent: list[str], field: tuple[str, str] | None, tag: str | None
) -> None:
    conversation = Conversation.start(program(TAP_FLOWS), T0)
    conversation.run("start")
    happened = conversation.run(command)
    assert texts(happened) == sent
    if field is not None:
        assert conversation.contact.fields[field[0]] == field[1]
    if tag is not None:
        assert tag in conversation.contact.tags


def test_quick_reply_tap_runs_its_target_step() -> None:
    prog = program(TAP_FLOWS)
    (start,) = step_by_step(prog, contact(), message("start"))
    sends = [e for e in start.effects if isinstance(e, Send)]
    quick = sends[0].outbound.message["quick_replies"][0]
    assert quick["title"] == "Deals"
    tap = message("Deals", minutes(1), quick_reply=quick["payload"])
    decision = handle(prog, start.contact, tap, minutes(1))
    assert texts(decision.effects) == ["Here are the deals."]


def test_a_button_postback_runs_its_target_step() -> None:
    prog = program(TAP_FLOWS)
    (start,) = step_by_step(prog, contact(), message("start"))
    sends = [e for e in start.effects if isinstance(e, Send)]
    buttons = sends[1].outbound.message["attachment"]["payload"]["buttons"]
    assert buttons[0] == {"type": "web_url", "url": "https://shop.example.com", "title": "Shop"}
    tap = PostbackIn(contact_id=CID, timestamp=minutes(1), payload=buttons[1]["payload"])
    decision = handle(prog, start.contact, tap, minutes(1))
    assert texts(decision.effects) == ["Here are the deals."]


def test_a_tap_on_a_quick_reply_answers_instead_of_a_waiting_ask() -> None:
    flows = """
on keyword "start":
    send "Pick"
        quick "Deals" -> deals
    ask "Or type your email" into email as email

step deals:
    send "Here are the deals."
"""
    conversation = Conversation.start(program(flows), T0)
    conversation.run("start")
    assert texts(conversation.run('/tap "Deals"')) == ["Here are the deals."]
    assert conversation.contact.waiting is None


def test_a_tap_on_a_button_of_a_flow_that_changed_is_a_note() -> None:
    prog = program(TAP_FLOWS)
    stale = render.payload("f:on:7", (0, "quick", 0))
    decision = handle(prog, contact(), message("Deals", quick_reply=stale), T0)
    assert texts(decision.effects) == []
    assert any(isinstance(e, Note) for e in decision.effects)


# ------------------------------------------------------------ templates

GREETING = """
on keyword "hi":
    send "Hi {contact.first_name|there}! Email: {contact.email|none}. Ref: {ref|none}."
"""


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({}, "Hi there! Email: none. Ref: none."),
        ({"first_name": "Ana"}, "Hi Ana! Email: none. Ref: none."),
        ({"first_name": "  "}, "Hi there! Email: none. Ref: none."),
        ({"fields": {"email": "ana@example.com"}}, "Hi there! Email: ana@example.com. Ref: none."),
        ({"ref": "spring_sale"}, "Hi there! Email: none. Ref: spring_sale."),
    ],
    ids=["no_name_uses_fallback", "name", "blank_name_uses_fallback", "field", "ref"],
)
def test_templates_fill_contact_names_fields_and_ref(update: dict[str, Any], expected: str) -> None:
    decision = handle(program(GREETING), contact(**update), message("hi"), T0)
    assert texts(decision.effects) == [expected]


def test_a_template_without_fallback_renders_nothing_for_a_missing_value() -> None:
    flows = 'on keyword "hi":\n    send "Hi {contact.first_name}!"\n'
    decision = handle(program(flows), contact(), message("hi"), T0)
    assert texts(decision.effects) == ["Hi !"]


@pytest.mark.parametrize(
    "name",
    ["contact.__class__", "contact.__dict__", "contact.first_name.__class__", "__import__"],
)
def test_the_linter_rejects_templates_naming_python_attributes(name: str) -> None:
    flows = f'on keyword "hi":\n    send "x {{{name}}}"\n'
    result = load_texts({"flows/f.flow": flows.encode()}, AS_OF, check_tag)
    assert result.program is None
    assert result.errors


@pytest.mark.parametrize(
    "name", ["contact.__class__", "contact.__dict__", "contact.fields", "contact.tokens", "self"]
)
def test_render_never_reaches_a_python_attribute(name: str) -> None:
    text = m.Text(
        raw="a {" + name + "|friend}",
        parts=(m.Literal_(text="a "), m.Placeholder(name=name, fallback="friend")),
        span=Span.point("f.flow", 1, 1),
    )
    values = render.template_values(contact(first_name="Ana", fields={"email": "ana@example.com"}))
    assert render.fill(text, values) == "a friend"


# ------------------------------------------------------------ split

SPLIT_FLOWS = """
on keyword "go":
    split 50%:
        send "A"
    else:
        send "B"
"""


def test_split_sends_the_same_contact_the_same_branch_every_time() -> None:
    prog = program(SPLIT_FLOWS)
    for n in range(20):
        someone = contact(id=f"psid-{n}")
        first = texts(handle(prog, someone, message("go"), T0).effects)
        again = texts(handle(prog, someone, message("go"), minutes(5)).effects)
        assert first == again
        assert first in (["A"], ["B"])


def test_split_50_percent_gives_about_half_the_contacts_each_branch() -> None:
    prog = program(SPLIT_FLOWS)
    a = 0
    for n in range(1000):
        sent = texts(handle(prog, contact(id=f"{n:016d}"), message("go"), T0).effects)
        a += sent == ["A"]
    assert 400 <= a <= 600


# ------------------------------------------------------------ handoff, stop, goto


def test_handoff_stops_automation_for_later_messages() -> None:
    flows = """
on keyword "human":
    send "Connecting you."
    handoff "asked for a human"
    send "never sent"
on message:
    send "bot reply"
"""
    prog = program(flows)
    handed, later = step_by_step(prog, contact(), message("human"), message("hello", minutes(1)))
    assert texts(handed.effects) == ["Connecting you."]
    assert HandOff(reason="asked for a human") in handed.effects
    assert handed.contact.handed_off
    assert texts(later.effects) == []
    assert any(isinstance(e, Note) for e in later.effects)
    assert later.trigger is None


def test_stop_ends_the_block() -> None:
    flows = """
on keyword "go":
    send "one"
    if tagged "vip":
        stop
    send "two"
"""
    prog = program(flows)
    vip = handle(prog, contact(tags=frozenset({"vip"})), message("go"), T0)
    other = handle(prog, contact(), message("go"), T0)
    assert texts(vip.effects) == ["one"]
    assert texts(other.effects) == ["one", "two"]


def test_goto_continues_in_the_step_and_never_comes_back() -> None:
    flows = """
on keyword "go":
    send "one"
    goto next
    send "never"

step next:
    send "two"
"""
    assert texts(handle(program(flows), contact(), message("go"), T0).effects) == ["one", "two"]


def test_a_step_that_goes_to_itself_is_stopped_without_hanging() -> None:
    flows = """
on keyword "go":
    goto loop

step loop:
    send "again"
    goto loop
"""
    decision = handle(program(flows), contact(), message("go"), T0)
    sent = [e for e in decision.effects if isinstance(e, Send | Skipped)]
    assert 1 <= len(sent) <= 60
    assert any(isinstance(e, Note) and "loop" in e.text for e in decision.effects)
