"""Questions that let go, answers by date and time, answers to tap, handoffs that end (issue 12).

Each test drives `pageflows chat`'s conversation (the pure core on a fake clock)
and asserts what the contact sees, and what the contact's state says next.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from support import program

from pageflows.chat.conversation import Conversation, ConversationError, Happened
from pageflows.chat.transcript import actual_lines
from pageflows.engine.effects import HandOff, Schedule, TakeBack

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday
AS_OF = date(2026, 11, 24)

BOOKING = """
on keyword "book":
    ask "Which day would you like to come?" into booking_date as date for 2h:
        quick "Today"
        quick "Tomorrow"
        quick "Friday"
        invalid "Sorry, which day? Try 24/12, Dec 24 or friday."
        if no answer -> later
    ask "At what time?" into booking_time as time
    ask "How many guests?" into guests as number:
        quick "2"
        quick "4"
        quick "6"
        retries 1
    send "Booked: {contact.guests} on {contact.booking_date} at {contact.booking_time}."

on keyword "menu":
    send "Today's menu: soup, pasta, tiramisu."

on keyword "2":
    send "The keyword 2."

on message:
    send "Sorry, I didn't get that."

step later:
    send "No rush! Type book when you know the day."
"""


def chat(flows: str = BOOKING) -> Conversation:
    return Conversation.start(program(flows, as_of=AS_OF), START)


def said(happened: list[Happened]) -> list[str]:
    return [line.partition("] ")[2] for line in actual_lines(list(happened))]


def test_a_booking_by_date_time_and_a_tapped_number() -> None:
    c = chat()
    assert said(c.run("book")) == ["Which day would you like to come?  [Today] [Tomorrow] [Friday]"]
    assert said(c.run("24/12")) == ["At what time?"]
    assert said(c.run("7:30pm")) == ["How many guests?  [2] [4] [6]"]
    assert said(c.run("/tap 4")) == ["Booked: 4 on 2026-12-24 at 19:30."]
    assert c.contact.fields == {
        "booking_date": "2026-12-24",
        "booking_time": "19:30",
        "guests": "4",
    }
    assert c.contact.waiting is None


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("tomorrow", "2026-11-25"),
        ("Friday", "2026-11-27"),
        ("tuesday", "2026-11-24"),
        ("next tuesday", "2026-12-01"),
        ("Dec 24", "2026-12-24"),
        ("24.12.2026", "2026-12-24"),
        ("12/24", "2026-12-24"),
        ("3/1", "2027-01-03"),  # day first; the 3rd of January has passed this year
    ],
)
def test_dates_as_people_type_them_are_stored_as_iso(typed: str, stored: str) -> None:
    c = chat()
    c.run("book")
    assert said(c.run(typed)) == ["At what time?"]
    assert c.contact.fields["booking_date"] == stored


def test_a_tapped_relative_date_counts_from_the_day_of_the_tap() -> None:
    c = chat()
    c.run("book")
    c.run("/tap Tomorrow")
    assert c.contact.fields["booking_date"] == "2026-11-25"


def test_a_keyword_that_is_no_date_runs_its_trigger_and_the_question_lets_go() -> None:
    c = chat()
    c.run("book")
    assert said(c.run("menu")) == ["Today's menu: soup, pasta, tiramisu."]
    assert c.contact.waiting is None
    assert said(c.run("24/12")) == ["Sorry, I didn't get that."]  # no question waits now


def test_a_valid_answer_wins_over_a_keyword_with_the_same_words() -> None:
    c = chat()
    c.run("book")
    c.run("friday")
    c.run("20:00")
    assert said(c.run("2")) == ["Booked: 2 on 2026-11-27 at 20:00."]


def test_a_wrong_answer_gets_the_invalid_text_with_the_quick_replies_again() -> None:
    c = chat()
    c.run("book")
    assert said(c.run("someday")) == [
        "Sorry, which day? Try 24/12, Dec 24 or friday.  [Today] [Tomorrow] [Friday]"
    ]
    assert c.contact.waiting is not None and c.contact.waiting.wrong == 1


def test_after_its_retries_a_question_lets_go_and_the_message_goes_to_the_triggers() -> None:
    c = chat()
    c.run("book")
    c.run("friday")
    c.run("20:00")
    assert said(c.run("a few")) == ["Please answer with a number.  [2] [4] [6]"]
    assert said(c.run("many")) == ["Sorry, I didn't get that."]  # `retries 1`: two tries
    assert c.contact.waiting is None and "guests" not in c.contact.fields


@pytest.mark.parametrize("word", ["stop", "Cancel", "STOP!"])
def test_a_cancel_word_ends_the_question(word: str) -> None:
    c = chat()
    c.run("book")
    assert said(c.run(word)) == ["Sorry, I didn't get that."]
    assert c.contact.waiting is None


def test_cancel_words_can_be_chosen() -> None:
    flows = """
on keyword "join":
    ask "Your email?" into email as email:
        cancel "forget it"
    send "Thanks!"

on keyword "stop":
    send "Unsubscribed."
"""
    c = chat(flows)
    c.run("join")
    assert said(c.run("stop")) == ["Unsubscribed."]  # a keyword; stop is no cancel word here
    c.run("join")
    assert said(c.run("Forget it")) == []
    assert c.contact.waiting is None


def test_for_schedules_the_timeout_and_the_flow_goes_where_it_says() -> None:
    c = chat()
    happened = c.run("book")
    timeouts = [h.effect for h in happened if isinstance(h.effect, Schedule)]
    assert [(t.purpose, t.due_at - t.created_at) for t in timeouts] == [
        ("ask_timeout", timedelta(hours=2))
    ]
    assert said(c.run("/wait 1h")) == []
    assert c.contact.waiting is not None
    assert said(c.run("/wait 1h")) == ["No rush! Type book when you know the day."]
    assert c.contact.waiting is None


def test_an_answered_question_does_not_time_out_later() -> None:
    c = chat()
    c.run("book")
    c.run("friday")
    c.run("20:00")
    c.run("4")
    assert said(c.run("/wait 3h")) == []


def test_if_no_answer_continue_goes_on_with_what_follows() -> None:
    flows = """
on keyword "feedback":
    ask "Anything to tell us?" into note for 30m:
        if no answer continue
    send "Thanks for visiting!"
"""
    c = chat(flows)
    c.run("feedback")
    assert said(c.run("/wait 30m")) == ["Thanks for visiting!"]
    assert "note" not in c.contact.fields


def test_without_for_a_question_stops_waiting_after_a_day() -> None:
    flows = """
on keyword "guests":
    ask "How many guests?" into guests as number
    send "Noted."

on message:
    send "Ask me about the menu."
"""
    c = chat(flows)
    c.run("guests")
    c.run("/wait 23h")
    assert c.contact.waiting is not None
    c.run("/wait 1h")
    assert said(c.run("what are your opening hours?")) == ["Ask me about the menu."]
    assert "guests" not in c.contact.fields


def test_a_text_question_takes_any_answer_even_a_keyword() -> None:
    flows = """
on keyword "note":
    ask "What should we know?" into note
    send "Noted: {contact.note}"

on keyword "menu":
    send "The menu."
"""
    c = chat(flows)
    c.run("note")
    assert said(c.run("menu for a vegan")) == ["Noted: menu for a vegan"]


# ------------------------------------------------------------------ handoffs that end

HANDOFF = """
on keyword "human":
    send "A colleague will answer you here."
    handoff "asked for a human" for 2h

on keyword "forever":
    handoff "no time limit"

on keyword "price":
    send "Prices start at $19."
"""


def test_a_handoff_for_2h_gives_the_thread_back_when_it_runs_out() -> None:
    c = chat(HANDOFF)
    happened = c.run("human")
    assert [type(h.effect) for h in happened if isinstance(h.effect, HandOff)] == [HandOff]
    assert said(c.run("price")) == []  # a person has it
    back = c.run("/wait 2h")
    assert [h.effect for h in back if isinstance(h.effect, TakeBack)]
    assert not c.contact.handed_off
    assert said(c.run("price")) == ["Prices start at $19."]


def test_a_handoff_without_for_waits_until_handback() -> None:
    c = chat(HANDOFF)
    c.run("forever")
    c.run("/wait 30d")
    assert said(c.run("price")) == []
    assert said(c.run("/handback")) == []
    assert said(c.run("price")) == ["Prices start at $19."]


def test_handback_when_the_bot_has_the_conversation_says_so() -> None:
    c = chat(HANDOFF)
    with pytest.raises(ConversationError, match="already has this conversation"):
        c.run("/handback")


def test_a_handback_before_the_timeout_cancels_the_take_back() -> None:
    c = chat(HANDOFF)
    c.run("human")
    c.run("/handback")
    back = c.run("/wait 3h")
    assert not [h.effect for h in back if isinstance(h.effect, TakeBack)]


def test_a_menu_button_while_a_question_waits_lets_the_question_go() -> None:
    flows = (
        BOOKING
        + """
on postback "OPENING_HOURS":
    send "We're open 18:30 to 22:00."
"""
    )
    c = chat(flows)
    c.run("book")
    assert said(c.run("/postback OPENING_HOURS")) == ["We're open 18:30 to 22:00."]
    assert c.contact.waiting is None
    assert said(c.run("24/12")) == ["Sorry, I didn't get that."]


def test_a_quick_reply_that_leads_elsewhere_is_no_answer_and_lets_the_question_go() -> None:
    flows = """
on keyword "book":
    ask "How many guests?" into guests as number:
        quick "2"
        quick "More than 8" -> big_group
    send "A table for {contact.guests}."

step big_group:
    send "A colleague will help with groups."
"""
    c = chat(flows)
    assert said(c.run("book")) == ["How many guests?  [2] [More than 8]"]
    assert said(c.run("/tap More than 8")) == ["A colleague will help with groups."]
    assert c.contact.waiting is None and "guests" not in c.contact.fields
