"""issue 12: D. Conditions as a contact meets them: numbers, and/or/not, elif, unless.

Each case is a flow the marketer writes and the message the contact then gets,
for the contact's fields and tags as they may be: missing, typed in words, with
a decimal comma.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from support import program

from pageflows.engine.contact import ContactState
from pageflows.engine.core import handle
from pageflows.engine.effects import Send
from pageflows.engine.events import MessageIn
from pageflows.engine.policy import check_tag
from pageflows.rules import model as m
from pageflows.rules.load import load_texts

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CID = "psid-1"


def contact(fields: dict[str, str] | None = None, tags: set[str] | None = None) -> ContactState:
    earlier = T0 - timedelta(hours=1)
    return ContactState(
        id=CID,
        first_seen_at=earlier,
        last_user_message_at=earlier,
        message_count=1,
        fields=fields or {},
        tags=frozenset(tags or ()),
    )


def said(flows: str, state: ContactState, text: str = "go") -> list[str]:
    decision = handle(program(flows), state, MessageIn(contact_id=CID, timestamp=T0, text=text), T0)
    return [e.outbound.preview for e in decision.effects if isinstance(e, Send)]


def yes_or_no(condition: str) -> str:
    return (
        f'on keyword "go":\n    if {condition}:\n        send "yes"\n    else:\n        send "no"\n'
    )


# The fields are saved somewhere, as a real folder would: no PF410 in the way.
SAVES = '\non keyword "save":\n    ask "How many?" into guests as number\n    set name = "x"\n'


@pytest.mark.parametrize(
    ("condition", "fields", "answer"),
    [
        ("guests > 8", {"guests": "9"}, "yes"),
        ("guests > 8", {"guests": "8"}, "no"),
        ("guests >= 8", {"guests": "8"}, "yes"),
        ("guests < 8", {"guests": "7.5"}, "yes"),
        ("guests <= 8", {"guests": "8,0"}, "yes"),
        ("guests > 8", {"guests": "8,5"}, "yes"),  # a decimal comma, as contacts type it
        ("guests == 8", {"guests": " 8.0 "}, "yes"),
        ("guests != 8", {"guests": "8"}, "no"),
        ("guests > -3", {"guests": "-2"}, "yes"),
        ("guests < 10", {"guests": "\u0663"}, "yes"),  # an Arabic-Indic three
        # No number in the field: every comparison is false, except != (not ==).
        ("guests > 0", {}, "no"),
        ("guests < 100", {}, "no"),
        ("guests > 0", {"guests": "eight"}, "no"),
        ("guests <= 100", {"guests": "8 people"}, "no"),
        ("guests == 8", {"guests": "eight"}, "no"),
        ("guests != 8", {"guests": "eight"}, "yes"),
        ("guests != 8", {}, "yes"),
        ("guests > 1", {"guests": "1e9"}, "no"),
        ("guests < 1", {"guests": "-inf"}, "no"),
        ("guests > 8", {"guests": "9" * 5000}, "yes"),
        # Texts: quotes compare texts, ignoring capitals, as before.
        ('name == "bob"', {"name": "Bob"}, "yes"),
        ('name != "bob"', {"name": "Bob"}, "no"),
        ('guests == "8"', {"guests": "8.0"}, "no"),  # a text: "8.0" is not "8"
        ('guests > "8"', {"guests": "8.5"}, "yes"),  # a number in quotes, with > is a number
    ],
)
def test_a_comparison(condition: str, fields: dict[str, str], answer: str) -> None:
    assert said(yes_or_no(condition) + SAVES, contact(fields)) == [answer]


@pytest.mark.parametrize(
    ("condition", "tags", "answer"),
    [
        ('tagged "a" and tagged "b"', {"a"}, "no"),
        ('tagged "a" and tagged "b"', {"a", "b"}, "yes"),
        ('tagged "a" or tagged "b"', {"b"}, "yes"),
        ('tagged "a" or tagged "b"', set(), "no"),
        ('not tagged "a"', set(), "yes"),
        ('not tagged "a"', {"a"}, "no"),
        # `and` binds tighter than `or`: a or (b and c)
        ('tagged "a" or tagged "b" and tagged "c"', {"a"}, "yes"),
        ('(tagged "a" or tagged "b") and tagged "c"', {"a"}, "no"),
        # `not` binds tighter than `and`: (not a) and b
        ('not tagged "a" and tagged "b"', {"b"}, "yes"),
        ('not (tagged "a" and tagged "b")', {"a", "b"}, "no"),
        ('not not tagged "a"', {"a"}, "yes"),
        ('tagged "a" and tagged "b" and tagged "c" or tagged "d"', {"d"}, "yes"),
        ('tagged "vip" and guests > 4', {"vip"}, "no"),  # guests missing
    ],
)
def test_and_or_not(condition: str, tags: set[str], answer: str) -> None:
    assert said(yes_or_no(condition) + SAVES, contact(tags=tags)) == [answer]


ELIF = (
    """
on keyword "go":
    if guests > 8:
        send "large"
    elif guests >= 4:
        send "medium"
    elif tagged "vip":
        send "vip"
    else:
        send "small"
    send "done"
"""
    + SAVES
)


@pytest.mark.parametrize(
    ("fields", "tags", "answer"),
    [
        ({"guests": "10"}, set(), "large"),
        ({"guests": "4"}, {"vip"}, "medium"),  # the first that holds, only that one
        ({"guests": "2"}, {"vip"}, "vip"),
        ({"guests": "two"}, set(), "small"),
    ],
)
def test_elif_takes_the_first_branch_that_holds(
    fields: dict[str, str], tags: set[str], answer: str
) -> None:
    assert said(ELIF, contact(fields, tags)) == [answer, "done"]


UNLESS = """
on keyword "go":
    unless tagged "newsletter":
        send "Want our weekly menu?"
    else:
        send "See you Friday!"
    unless tagged "a" or tagged "b":
        send "neither"
"""


def test_unless_runs_when_the_condition_does_not_hold() -> None:
    assert said(UNLESS, contact()) == ["Want our weekly menu?", "neither"]
    assert said(UNLESS, contact(tags={"newsletter", "b"})) == ["See you Friday!"]


def test_an_ask_inside_elif_resumes_after_the_whole_if() -> None:
    flows = (
        """
on keyword "go":
    if tagged "vip":
        send "Welcome back!"
    elif guests > 4:
        ask "Any allergies?" into allergies
        send "Noted: {contact.allergies}."
    send "See you soon."
"""
        + SAVES
    )
    prog = program(flows)
    state = contact({"guests": "6"})
    first = handle(prog, state, MessageIn(contact_id=CID, timestamp=T0, text="go"), T0)
    assert [e.outbound.preview for e in first.effects if isinstance(e, Send)] == ["Any allergies?"]
    later = T0 + timedelta(minutes=1)
    answer = MessageIn(contact_id=CID, timestamp=later, text="nuts")
    second = handle(prog, first.contact, answer, later)
    assert [e.outbound.preview for e in second.effects if isinstance(e, Send)] == [
        "Noted: nuts.",
        "See you soon.",
    ]


def test_existing_condition_forms_build_the_nodes_they_always_did() -> None:
    flows = """
on keyword "go":
    if not tagged "a":
        send "1"
    if source == "instagram":
        send "2"
    if country != "DE":
        send "3"

on keyword "x":
    set source = "a"
    set country = "b"
"""
    result = load_texts({"flows/f.flow": flows.encode()}, date(2026, 11, 24), check_tag)
    assert result.errors == ()
    ifs = [a for a in result.flows[0].triggers[0].body if isinstance(a, m.If)]
    assert [type(i.condition).__name__ for i in ifs] == ["Tagged", "FieldEquals", "FieldEquals"]
    first: Any = ifs[0].condition
    third: Any = ifs[2].condition
    assert first.negated and third.negated


def test_unless_tagged_is_a_negated_tagged() -> None:
    result = load_texts(
        {"flows/f.flow": b'on keyword "go":\n    unless tagged "x":\n        send "hi"\n'},
        date(2026, 11, 24),
        check_tag,
    )
    (action,) = result.flows[0].triggers[0].body
    assert isinstance(action, m.If)
    assert action.condition == m.Tagged(span=action.condition.span, name="x", negated=True)
