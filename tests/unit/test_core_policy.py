"""Follow-ups, the 24 h window, tags, tokens, private replies, broadcasts and Send bodies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from support import program

from pageflows.chat.conversation import Conversation, Happened
from pageflows.engine.contact import ContactState
from pageflows.engine.core import Decision, handle
from pageflows.engine.effects import Cancelled, Effect, Schedule, Send, Skipped
from pageflows.engine.events import (
    BroadcastDue,
    CommentIn,
    FollowUpDue,
    MessageIn,
    WindowClosingDue,
)
from pageflows.engine.policy import Delivery, TokenState, check_tag
from pageflows.rules.load import load_texts

AS_OF = date(2026, 1, 10)
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
CID = "psid-1"


def plain(outcome: object) -> object:
    """The decision without its rationale text (tested on its own)."""
    if isinstance(outcome, Delivery):
        return outcome.model_copy(update={"because": ""})
    return outcome


def unwrap(effects: tuple[Effect, ...] | list[Happened]) -> list[Effect]:
    return [e.effect if isinstance(e, Happened) else e for e in effects]


def sends(effects: tuple[Effect, ...] | list[Happened]) -> list[Send]:
    return [e for e in unwrap(effects) if isinstance(e, Send)]


def skips(effects: tuple[Effect, ...] | list[Happened]) -> list[Skipped]:
    return [e for e in unwrap(effects) if isinstance(e, Skipped)]


def follow_ups(decision: Decision) -> list[Schedule]:
    return [e for e in decision.effects if isinstance(e, Schedule) and e.purpose == "follow_up"]


def contact(last_wrote: datetime | None = T0, **update: Any) -> ContactState:
    base = ContactState(
        id=CID, first_seen_at=last_wrote, last_user_message_at=last_wrote, message_count=1
    )
    return base.model_copy(update=update)


def message(text: str, at: datetime = T0) -> MessageIn:
    return MessageIn(contact_id=CID, timestamp=at, text=text)


def due(item: Schedule) -> FollowUpDue:
    """The event the scheduler hands back to the core when a follow-up is due."""
    return FollowUpDue(
        contact_id=CID,
        timestamp=item.due_at,
        root=item.root,
        path=item.path,
        created_at=item.created_at,
        unless_replied=item.unless_replied,
        tag=item.tag,
        topic=item.topic,
    )


def token(name: str = "deals", last_sent_at: datetime | None = None) -> dict[str, TokenState]:
    return {
        name: TokenState(
            token=f"tok-{name}",
            topic=name,
            obtained_at=T0 - timedelta(days=30),
            last_sent_at=last_sent_at,
        )
    }


# ------------------------------------------------------------ scheduling

NESTED = """
on keyword "go":
    send "now"
    after 2h:
        send "two hours"
        after 3h:
            send "five hours"
"""


def test_after_schedules_a_follow_up_at_now_plus_the_delay() -> None:
    decision = handle(program(NESTED), contact(), message("go"), T0)
    (item,) = follow_ups(decision)
    assert item.due_at == T0 + timedelta(hours=2)
    assert item.created_at == T0
    assert [s.outbound.preview for s in sends(decision.effects)] == ["now"]


def test_a_nested_after_is_due_after_both_delays() -> None:
    prog = program(NESTED)
    (outer,) = follow_ups(handle(prog, contact(), message("go"), T0))
    fired = handle(prog, contact(), due(outer), outer.due_at)
    assert [s.outbound.preview for s in sends(fired.effects)] == ["two hours"]
    (inner,) = follow_ups(fired)
    assert inner.due_at == T0 + timedelta(hours=5)
    last = handle(prog, contact(), due(inner), inner.due_at)
    assert [s.outbound.preview for s in sends(last.effects)] == ["five hours"]


def test_a_nested_after_is_due_after_both_delays_in_a_conversation() -> None:
    conversation = Conversation.start(program(NESTED), T0)
    conversation.run("go")
    assert [s.outbound.preview for s in sends(conversation.run("/wait 2h"))] == ["two hours"]
    assert [s.outbound.preview for s in sends(conversation.run("/wait 2h59m"))] == []
    happened = conversation.run("/wait 1m")
    assert [s.outbound.preview for s in sends(happened)] == ["five hours"]
    assert happened[0].at == T0 + timedelta(seconds=1, hours=5)


def test_a_follow_up_decides_the_same_each_time_and_by_the_program_it_is_decided_with() -> None:
    """issue 13 (tenth session): the `after` a follow-up points at is looked up once per
    program (`Program.memo`). A second and a third due follow-up of the same `after`
    decide exactly what the first did, as a fresh program decides it; the same stored
    follow-up given a program whose flow changed is decided by the new flow (its `after`
    moved: the old address is no longer one; its text changed: the new text goes)."""
    prog = program(NESTED)
    (outer,) = follow_ups(handle(prog, contact(), message("go"), T0))
    first = handle(prog, contact(), due(outer), outer.due_at)
    again = [handle(prog, contact(), due(outer), outer.due_at) for _ in range(2)]
    fresh = handle(program(NESTED), contact(), due(outer), outer.due_at)
    assert again == [first, first]
    assert repr(first.effects) == repr(fresh.effects)
    reworded = program(NESTED.replace('"two hours"', '"two hours later"'))
    assert [s.outbound.preview for s in sends(first.effects)] == ["two hours"]
    moved = handle(reworded, contact(), due(outer), outer.due_at)
    assert [s.outbound.preview for s in sends(moved.effects)] == ["two hours later"]
    gone = program(NESTED.split("    after 2h:")[0] + '    send "no more waiting"\n')
    cancelled = handle(gone, contact(), due(outer), outer.due_at).effects
    assert [(c.kind, getattr(c, "reason", None)) for c in cancelled] == [
        ("cancelled", "flow_changed")
    ]


UNLESS = """
on keyword "go":
    after 20h unless replied:
        send "still there?"
on message:
    send "ok"
"""


@pytest.mark.parametrize(
    ("wrote_again", "expected"),
    [(None, "sent"), (T0 + timedelta(hours=1), "cancelled"), (T0, "sent")],
    ids=[
        "no_reply_sends",
        "reply_after_scheduling_cancels",
        "the_triggering_message_itself_does_not_cancel",
    ],
)
def test_unless_replied_is_cancelled_when_the_contact_wrote_after_scheduling(
    wrote_again: datetime | None, expected: str
) -> None:
    prog = program(UNLESS)
    (item,) = follow_ups(handle(prog, contact(), message("go"), T0))
    state = contact(last_wrote=wrote_again or T0)
    fired = handle(prog, state, due(item), item.due_at)
    if expected == "sent":
        assert [s.outbound.preview for s in sends(fired.effects)] == ["still there?"]
    else:
        assert sends(fired.effects) == []
        (cancel,) = [e for e in fired.effects if isinstance(e, Cancelled)]
        assert cancel.reason == "contact_replied"


def test_a_follow_up_to_a_handed_off_contact_is_cancelled() -> None:
    prog = program(UNLESS)
    (item,) = follow_ups(handle(prog, contact(), message("go"), T0))
    fired = handle(prog, contact(handed_off=True), due(item), item.due_at)
    assert sends(fired.effects) == []
    assert [e.reason for e in fired.effects if isinstance(e, Cancelled)] == ["handed_off"]


# ------------------------------------------------------------ the 24 h window


@pytest.mark.parametrize(
    ("delay", "expected"),
    [("23h", "UPDATE"), ("23h59m", "UPDATE"), ("24h", "outside_window"), ("25h", "outside_window")],
)
def test_follow_up_inside_the_window_is_an_update_and_outside_without_tag_is_skipped(
    delay: str, expected: str
) -> None:
    prog = program(f'on keyword "go":\n    after {delay}:\n        send "later"\n')
    (item,) = follow_ups(handle(prog, contact(), message("go"), T0))
    fired = handle(prog, contact(), due(item), item.due_at)
    if expected == "UPDATE":
        (sent,) = sends(fired.effects)
        assert plain(sent.delivery) == Delivery(messaging_type="UPDATE")
    else:
        (skip,) = skips(fired.effects)
        assert skip.reason == "outside_window"
        assert skip.detail
        assert skip.outbound.preview == "later"


def test_an_immediate_reply_is_a_response() -> None:
    decision = handle(program('on keyword "go":\n    send "hi"\n'), contact(), message("go"), T0)
    (sent,) = sends(decision.effects)
    assert plain(sent.delivery) == Delivery(messaging_type="RESPONSE")


def test_the_window_runs_from_the_message_timestamp_not_from_now() -> None:
    flows = """
on keyword "go":
    send "hi"
    after 23h:
        send "later"
on window closing in 1h:
    send "closing soon"
"""
    prog = program(flows)
    late = T0 + timedelta(hours=2)  # the webhook arrived two hours after the message
    decision = handle(prog, contact(last_wrote=None), message("go", at=T0), late)
    assert decision.contact.last_user_message_at == T0
    closing = [e for e in decision.effects if isinstance(e, Schedule) and e.purpose != "follow_up"]
    assert [c.due_at for c in closing] == [T0 + timedelta(hours=23)]
    (item,) = follow_ups(decision)
    assert item.due_at == late + timedelta(hours=23)
    fired = handle(prog, decision.contact, due(item), item.due_at)
    assert [s.reason for s in skips(fired.effects)] == ["outside_window"]


def test_a_reply_decided_after_the_window_closed_is_skipped() -> None:
    prog = program('on keyword "go":\n    send "hi"\n')
    decision = handle(prog, contact(last_wrote=None), message("go"), T0 + timedelta(hours=25))
    assert [s.reason for s in skips(decision.effects)] == ["outside_window"]


# ------------------------------------------------------------ tags


@pytest.mark.parametrize(
    ("fired_on", "expected"),
    [
        (datetime(2026, 4, 26, 10, 0, tzinfo=UTC), "MESSAGE_TAG"),
        (datetime(2026, 4, 26, 23, 59, tzinfo=UTC), "MESSAGE_TAG"),
        (datetime(2026, 4, 27, 0, 0, tzinfo=UTC), "tag_retired"),
        (datetime(2026, 4, 27, 10, 0, tzinfo=UTC), "tag_retired"),
    ],
)
def test_account_update_tag_works_until_2026_04_26_and_is_retired_after(
    fired_on: datetime, expected: str
) -> None:
    flows = 'on keyword "go":\n    after 3d with tag ACCOUNT_UPDATE:\n        send "update"\n'
    prog = program(flows, as_of=date(2026, 4, 1))
    wrote = fired_on - timedelta(days=3)
    (item,) = follow_ups(handle(prog, contact(wrote), message("go", wrote), wrote))
    assert item.tag == "ACCOUNT_UPDATE"
    assert item.due_at == fired_on
    fired = handle(prog, contact(wrote), due(item), fired_on)
    if expected == "MESSAGE_TAG":
        (sent,) = sends(fired.effects)
        assert plain(sent.delivery) == Delivery(messaging_type="MESSAGE_TAG", tag="ACCOUNT_UPDATE")
        assert sent.request_body()["tag"] == "ACCOUNT_UPDATE"
        assert sent.request_body()["messaging_type"] == "MESSAGE_TAG"
    else:
        (skip,) = skips(fired.effects)
        assert skip.reason == "tag_retired"
        assert "2026-04-27" in skip.detail


def test_the_linter_rejects_a_retired_tag_as_of_today() -> None:
    flows = 'on keyword "go":\n    after 3d with tag ACCOUNT_UPDATE:\n        send "update"\n'
    result = load_texts({"flows/f.flow": flows.encode()}, date(2026, 5, 1), check_tag)
    assert result.errors
    assert result.program is None


# ------------------------------------------------------------ notification tokens

VIA = 'on keyword "go":\n    after 3d via notification "deals":\n        send "deals!"\n'


def test_via_notification_sends_to_the_token_outside_the_window() -> None:
    prog = program(VIA)
    (item,) = follow_ups(handle(prog, contact(tokens=token()), message("go"), T0))
    assert item.topic == "deals"
    fired = handle(prog, contact(tokens=token()), due(item), item.due_at)
    (sent,) = sends(fired.effects)
    assert sent.outbound.recipient.notification_messages_token == "tok-deals"
    assert sent.outbound.recipient.id is None
    body = sent.request_body()
    assert body["recipient"] == {"notification_messages_token": "tok-deals"}
    assert "messaging_type" not in body
    assert fired.contact.tokens["deals"].last_sent_at == item.due_at


@pytest.mark.parametrize(
    ("gap", "expected"),
    [(timedelta(hours=47), "token_capped"), (timedelta(hours=48), "sent")],
)
def test_a_second_notification_within_48h_is_capped(gap: timedelta, expected: str) -> None:
    prog = program(VIA)
    (item,) = follow_ups(handle(prog, contact(tokens=token()), message("go"), T0))
    first = handle(prog, contact(tokens=token()), due(item), item.due_at)
    assert len(sends(first.effects)) == 1
    second_at = item.due_at + gap
    again = FollowUpDue(**{**due(item).model_dump(), "timestamp": second_at})
    second = handle(prog, first.contact, again, second_at)
    if expected == "sent":
        assert len(sends(second.effects)) == 1
    else:
        assert [s.reason for s in skips(second.effects)] == ["token_capped"]


def test_via_notification_without_a_token_is_skipped_no_token() -> None:
    prog = program(VIA)
    (item,) = follow_ups(handle(prog, contact(), message("go"), T0))
    fired = handle(prog, contact(), due(item), item.due_at)
    assert [s.reason for s in skips(fired.effects)] == ["no_token"]


def test_two_messages_in_one_notification_follow_up_use_the_token_once() -> None:
    flows = (
        'on keyword "go":\n    after 3d via notification "deals":\n'
        '        send "one"\n        send "two"\n'
    )
    prog = program(flows)
    (item,) = follow_ups(handle(prog, contact(tokens=token()), message("go"), T0))
    fired = handle(prog, contact(tokens=token()), due(item), item.due_at)
    assert [s.outbound.preview for s in sends(fired.effects)] == ["one", "two"]


# ------------------------------------------------------------ private replies

REPLY = 'on comment:\n    private reply "Thanks {contact.first_name|friend}!"\n'


def comment(at: datetime = T0, already_replied: bool = False) -> CommentIn:
    return CommentIn(
        contact_id=CID,
        timestamp=at,
        comment_id="post1_c9",
        post_id="post1",
        text="nice",
        already_replied=already_replied,
    )


@pytest.mark.parametrize(
    ("event", "now", "expected"),
    [
        (comment(), T0 + timedelta(minutes=1), "sent"),
        (comment(), T0 + timedelta(days=6, hours=23), "sent"),
        (comment(already_replied=True), T0, "already_replied"),
        (comment(), T0 + timedelta(days=7), "private_reply_expired"),
        (comment(), T0 + timedelta(days=8), "private_reply_expired"),
    ],
    ids=["fresh", "six_days_later", "second_reply", "seven_days", "eight_days"],
)
def test_private_reply_goes_to_the_comment_once_within_seven_days(
    event: CommentIn, now: datetime, expected: str
) -> None:
    decision = handle(program(REPLY), ContactState(id=CID), event, now)
    if expected == "sent":
        (sent,) = sends(decision.effects)
        assert sent.outbound.recipient.comment_id == "post1_c9"
        assert sent.request_body()["recipient"] == {"comment_id": "post1_c9"}
        assert sent.outbound.preview == "Thanks friend!"
    else:
        assert [s.reason for s in skips(decision.effects)] == [expected]


def test_a_second_private_reply_in_one_block_is_skipped() -> None:
    flows = 'on comment:\n    private reply "one"\n    private reply "two"\n'
    decision = handle(program(flows), ContactState(id=CID), comment(), T0)
    assert [s.outbound.preview for s in sends(decision.effects)] == ["one"]
    assert [s.reason for s in skips(decision.effects)] == ["already_replied"]


def test_each_new_comment_gets_its_own_private_reply() -> None:
    conversation = Conversation.start(program(REPLY), T0)
    first = conversation.run("/comment post=p1 hello")
    assert len(sends(first)) == 1
    second = conversation.run("/comment post=p1 again")
    assert len(sends(second)) == 1


# ------------------------------------------------------------ broadcasts

BROADCASTS = """
broadcast vip_news to tagged "vip" at "2026-02-01 09:00" in "UTC":
    send "VIP news"

broadcast deals_news to subscribers of "deals" at "2026-02-01 09:00" in "UTC":
    send "Deals news"
"""
SEND_AT = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def broadcast(name: str) -> BroadcastDue:
    return BroadcastDue(contact_id=CID, timestamp=SEND_AT, name=name)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (contact(SEND_AT - timedelta(hours=2), tags=frozenset({"vip"})), "UPDATE"),
        (contact(SEND_AT - timedelta(days=2), tags=frozenset({"vip"})), "outside_window"),
        (contact(None, tags=frozenset({"vip"})), "outside_window"),
        (contact(SEND_AT - timedelta(hours=2)), "nothing"),
    ],
    ids=["tagged_in_window", "tagged_outside_window", "tagged_never_wrote", "not_tagged"],
)
def test_broadcast_to_tagged_reaches_only_tagged_contacts_in_the_window(
    state: ContactState, expected: str
) -> None:
    decision = handle(program(BROADCASTS), state, broadcast("vip_news"), SEND_AT)
    if expected == "nothing":
        assert decision.effects == ()
    elif expected == "UPDATE":
        (sent,) = sends(decision.effects)
        assert plain(sent.delivery) == Delivery(messaging_type="UPDATE")
        assert sent.outbound.recipient.id == CID
    else:
        assert [s.reason for s in skips(decision.effects)] == [expected]


def test_broadcast_to_subscribers_uses_the_token() -> None:
    state = contact(SEND_AT - timedelta(days=10), tokens=token())
    decision = handle(program(BROADCASTS), state, broadcast("deals_news"), SEND_AT)
    (sent,) = sends(decision.effects)
    assert sent.outbound.recipient.notification_messages_token == "tok-deals"
    assert decision.contact.tokens["deals"].last_sent_at == SEND_AT


def test_broadcast_to_subscribers_skips_a_contact_without_token() -> None:
    state = contact(SEND_AT - timedelta(days=10))
    decision = handle(program(BROADCASTS), state, broadcast("deals_news"), SEND_AT)
    assert decision.effects == ()


# ------------------------------------------------------------ window closing

CLOSING = """
on window closing in 1h:
    send "Still there? This chat closes soon."
on keyword "hi":
    send "hello"
"""


def closing_sends(happened: list[Happened]) -> list[Send]:
    return [s for s in sends(happened) if s.outbound.preview.startswith("Still there")]


def test_window_closing_reminder_is_sent_as_update_an_hour_before_the_window_closes() -> None:
    conversation = Conversation.start(program(CLOSING), T0)
    conversation.run("hi")
    assert closing_sends(conversation.run("/wait 22h59m")) == []
    happened = conversation.run("/wait 1m")
    (sent,) = closing_sends(happened)
    assert plain(sent.delivery) == Delivery(messaging_type="UPDATE")
    assert happened[0].at == T0 + timedelta(seconds=1, hours=23)


def test_writing_again_moves_the_window_closing_reminder() -> None:
    conversation = Conversation.start(program(CLOSING), T0)
    conversation.run("hi")
    conversation.run("/wait 10h")
    conversation.run("hi")
    assert closing_sends(conversation.run("/wait 13h")) == []
    assert closing_sends(conversation.run("/wait 10h")) != []


def test_a_stale_window_closing_alarm_does_nothing() -> None:
    prog = program(CLOSING)
    wrote = T0 + timedelta(hours=10)
    stale = WindowClosingDue(
        contact_id=CID, timestamp=T0 + timedelta(hours=23), root="f:on:0", for_message_at=T0
    )
    decision = handle(prog, contact(wrote), stale, stale.timestamp)
    assert decision.effects == ()


def test_window_closing_is_not_armed_for_a_handed_off_contact() -> None:
    decision = handle(program(CLOSING), contact(handed_off=True), message("hi"), T0)
    assert not [e for e in decision.effects if isinstance(e, Schedule)]


# ------------------------------------------------------------ the Send API body


def test_a_reply_body_has_recipient_messaging_type_and_quick_replies() -> None:
    flows = """
on keyword "go":
    send "Pick one"
        quick "Deals" -> deals
        quick "Instagram" -> set source = "instagram"

step deals:
    send "deals"
"""
    (sent,) = sends(handle(program(flows), contact(), message("go"), T0).effects)
    body = sent.request_body()
    assert body["recipient"] == {"id": CID}
    assert body["messaging_type"] == "RESPONSE"
    assert "tag" not in body
    assert body["message"]["text"] == "Pick one"
    quick = body["message"]["quick_replies"]
    assert [(q["content_type"], q["title"]) for q in quick] == [
        ("text", "Deals"),
        ("text", "Instagram"),
    ]
    assert all(isinstance(q["payload"], str) and 0 < len(q["payload"]) <= 1000 for q in quick)
    assert len({q["payload"] for q in quick}) == 2


def test_quick_reply_payloads_stay_within_1000_chars_for_long_step_names() -> None:
    long_step = "s" + "x" * 300
    flows = f"""
step {long_step}:
    send "Pick one"
        quick "Deals" -> other
on keyword "go":
    goto {long_step}

step other:
    send "other"
"""
    (sent,) = sends(handle(program(flows, name="f" * 200), contact(), message("go"), T0).effects)
    for quick in sent.request_body()["message"]["quick_replies"]:
        assert len(quick["payload"]) <= 1000
