"""Templates in quick reply and button titles: what the contact sees on the buttons.

issue 12: B. A title may show a value (`quick "{contact.first_name}'s table"`),
filled in when the message goes out. Facebook refuses a title over 20 characters
(error 100), and the whole message with it, so the engine cuts a longer title to
19 characters and an ellipsis; the tap still leads where the title says.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from support import program

from pageflows.engine import render
from pageflows.engine.contact import ContactState
from pageflows.engine.core import handle
from pageflows.engine.effects import Send
from pageflows.engine.events import MessageIn, PostbackIn
from pageflows.rules import model as m
from pageflows.rules import values
from pageflows.rules.source import Span

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
FLOW = """\
on keyword "book":
    send "Who is the table for, {contact.first_name|friend}?"
        quick "{contact.first_name|Me}" -> for_me
        quick "{contact.first_name}'s table" -> for_me
        quick "Use {{code}}" -> for_me
    send buttons "Or:":
        button "Hi {contact.first_name|you}" -> for_me
        button "{contact.guests|2} guests" url "https://restaurant.example.com/book"
    send card "Tonight":
        subtitle "Tables at 8"
        button "For {contact.first_name|me}" call "+15105551234"

step for_me:
    send "Noted, {contact.first_name|friend}!"
"""


def contact(**update: Any) -> ContactState:
    earlier = T0 - timedelta(hours=1)
    return ContactState(
        id="psid-1", first_seen_at=earlier, last_user_message_at=earlier, message_count=1
    ).model_copy(update=update)


def sent(state: ContactState, text: str = "book") -> list[dict[str, Any]]:
    event = MessageIn(contact_id=state.id, timestamp=T0, text=text)
    decision = handle(program(FLOW), state, event, T0)
    return [e.outbound.message for e in decision.effects if isinstance(e, Send)]


def titles(messages: list[dict[str, Any]]) -> list[str]:
    found = [q["title"] for q in messages[0]["quick_replies"]]
    found += [b["title"] for b in messages[1]["attachment"]["payload"]["buttons"]]
    for element in messages[2]["attachment"]["payload"]["elements"]:
        found += [b["title"] for b in element["buttons"]]
    return found


def test_titles_show_the_contacts_values() -> None:
    messages = sent(contact(first_name="Alice", fields={"guests": "4"}))
    assert titles(messages) == [
        "Alice",
        "Alice's table",
        "Use {code}",
        "Hi Alice",
        "4 guests",
        "For Alice",
    ]


def test_titles_fall_back_without_a_value() -> None:
    assert titles(sent(contact())) == [
        "Me",
        "'s table",
        "Use {code}",
        "Hi you",
        "2 guests",
        "For me",
    ]


def test_a_long_value_is_cut_to_twenty_characters_with_an_ellipsis() -> None:
    name = "Maximiliane-Alexandra"  # 21 characters
    shown = titles(sent(contact(first_name=name)))
    assert shown[0] == "Maximiliane-Alexand…"
    assert shown[1] == "Maximiliane-Alexand…"
    assert shown[3] == "Hi Maximiliane-Alex…"
    assert all(len(title) <= render.TITLE_MAX for title in shown)


def test_a_cut_title_still_leads_where_it_says() -> None:
    state = contact(first_name="Maximiliane-Alexandra")
    prog = program(FLOW)
    first = handle(prog, state, MessageIn(contact_id=state.id, timestamp=T0, text="book"), T0)
    messages = [e.outbound.message for e in first.effects if isinstance(e, Send)]
    quick = messages[0]["quick_replies"][1]
    later = T0 + timedelta(minutes=1)
    tap = MessageIn(
        contact_id=state.id, timestamp=later, text=quick["title"], quick_reply=quick["payload"]
    )
    answer = handle(prog, first.contact, tap, later)
    assert [e.outbound.preview for e in answer.effects if isinstance(e, Send)] == [
        "Noted, Maximiliane-Alexandra!"
    ]
    button = messages[1]["attachment"]["payload"]["buttons"][0]
    press = PostbackIn(contact_id=state.id, timestamp=later, payload=button["payload"], title="x")
    again = handle(prog, first.contact, press, later)
    assert [e.outbound.preview for e in again.effects if isinstance(e, Send)] == [
        "Noted, Maximiliane-Alexandra!"
    ]


def test_the_preview_shows_the_filled_titles() -> None:
    messages = sent(contact(first_name="Bo"))
    assert render.preview(messages[0]) == (
        "Who is the table for, Bo?  [Bo] [Bo's table] [Use {code}]"
    )


def quick(title: str) -> m.QuickReply:
    span = Span.point("f.flow", 1, 1)
    parts, problem = values.parse_template(title)
    assert problem is None
    text = m.Text(span=span, raw=title, parts=parts)
    target = m.Goto(span=span, target=m.Target(span=span, step="x"))
    return m.QuickReply(span=span, title=title, reaction=target, title_text=text)


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Twenty characters ok", "Twenty characters ok"),
        ("Twenty-one characters", "Twenty-one characte…"),
        ("Cut at a space here x", "Cut at a space here…"),
        ("{contact.first_name}", "…"),  # a blank value, no fallback: never an empty title
        ("{contact.first_name|}", "…"),
    ],
)
def test_title_of(title: str, shown: str) -> None:
    assert render.title_of(quick(title), {"contact.first_name": "  "}) == shown


@given(name=st.text(max_size=60), fallback=st.none() | st.text(max_size=30))
def test_any_value_gives_a_title_facebook_takes(name: str, fallback: str | None) -> None:
    """Whatever the contact's name: 1 to 20 characters, never blank (Facebook's rule)."""
    hole = "{contact.first_name" + (f"|{fallback}" if fallback is not None else "") + "}"
    assume(not set("{}") & set(fallback or ""))  # else not a template one can write
    shown = render.title_of(quick(f"{hole}'s table"), {"contact.first_name": name})
    assert 1 <= len(shown) <= render.TITLE_MAX
    assert shown.strip()
