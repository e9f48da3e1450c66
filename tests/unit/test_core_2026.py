"""The engine under Facebook's 2026 rules: templates, regions, opt-in limits, the ad window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from support import program

from pageflows.engine.contact import ContactState
from pageflows.engine.core import Decision, handle
from pageflows.engine.effects import Schedule, Send, Skipped
from pageflows.engine.events import FollowUpDue, MessageIn, Referral
from pageflows.rules.page_facts import PageFacts, TemplateInfo

CID = "psid-1"
T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
ORDER = TemplateInfo(
    name="order_update", language="en_US", body="Order {{1}} is {{2}}.", parameters=2
)
SHOP = PageFacts(id="p1", templates=(ORDER,))
FLOW = """\
on keyword "status":
    set order_id = "A-17"
    send template "order_update" language "en_US" with "{contact.order_id}", "on its way"
"""


def say(flow: str, text: str, page: PageFacts, at: datetime = T0, **contact: object) -> Decision:
    state = ContactState(id=CID).model_copy(update=contact)
    return handle(
        program(flow, pages=(page,)),
        state,
        MessageIn(contact_id=CID, timestamp=at, text=text),
        at,
        page=page,
    )


def test_a_template_send_goes_as_utility_in_the_send_api_shape() -> None:
    decision = say(FLOW, "status", SHOP)
    (send,) = [e for e in decision.effects if isinstance(e, Send)]
    assert send.request_body() == {
        "recipient": {"id": CID},
        "messaging_type": "UTILITY",
        "message": {
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "A-17"},
                            {"type": "text", "text": "on its way"},
                        ],
                    }
                ],
            }
        },
    }
    assert send.outbound.preview == "<template order_update> Order A-17 is on its way."


def test_a_template_paused_after_the_check_is_skipped_with_its_status() -> None:
    paused = PageFacts(id="p1", templates=(ORDER,))
    flows = program(FLOW, pages=(paused,))
    now_paused = PageFacts(
        id="p1",
        templates=(
            TemplateInfo(name="order_update", language="en_US", status="PAUSED", parameters=2),
        ),
    )
    event = MessageIn(contact_id=CID, timestamp=T0, text="status")
    decision = handle(flows, ContactState(id=CID), event, T0, page=now_paused)
    (skip,) = [e for e in decision.effects if isinstance(e, Skipped)]
    assert skip.reason == "template_not_approved"
    assert "PAUSED" in skip.detail


def test_a_message_after_an_ad_opens_7_days_only_where_the_page_turned_it_on() -> None:
    flow = """\
on keyword "hi":
    send "Hello"
    after 3d:
        send "Still interested?"
"""
    for ad_window, expected in ((False, "skip"), (True, "send")):
        page = PageFacts(id="p1", ad_window=ad_window)
        flows = program(flow)
        ad = Referral(source="ADS", ad_id="ad-1")
        first = handle(
            flows,
            ContactState(id=CID),
            MessageIn(contact_id=CID, timestamp=T0, text="hi", referral=ad),
            T0,
            page=page,
        )
        assert first.contact.ad_message_at == T0
        schedule = next(e for e in first.effects if isinstance(e, Schedule))
        due = FollowUpDue(
            contact_id=CID,
            timestamp=schedule.due_at,
            root=schedule.root,
            path=schedule.path,
            created_at=schedule.created_at,
            unless_replied=False,
        )
        later = handle(flows, first.contact, due, schedule.due_at, page=page)
        kinds = [e.kind for e in later.effects if e.kind in ("send", "skip")]
        assert kinds == [expected]


def test_opt_in_requests_carry_a_frequency_only_before_2023_01_31() -> None:
    flow = """\
on keyword "deals":
    request notifications "deals" title "Deals" frequency weekly
"""
    for day, has_frequency in ((date(2023, 1, 30), True), (date(2023, 1, 31), False)):
        at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        decision = say(flow, "deals", PageFacts(), at=at)
        (send,) = [e for e in decision.effects if isinstance(e, Send)]
        payload = send.outbound.message["attachment"]["payload"]
        assert ("notification_messages_frequency" in payload) is has_frequency


def test_the_same_opt_in_request_twice_in_a_row_goes_once() -> None:
    flow = """\
on keyword "deals":
    request notifications "deals" title "Deals"
"""
    page = PageFacts(region="EU")
    first = say(flow, "deals", page)
    assert [e.kind for e in first.effects if e.kind in ("send", "skip")] == ["send"]
    again = handle(
        program(flow),
        first.contact,
        MessageIn(contact_id=CID, timestamp=T0 + timedelta(minutes=1), text="deals"),
        T0 + timedelta(minutes=1),
        page=page,
    )
    (skip,) = [e for e in again.effects if isinstance(e, Skipped)]
    assert skip.reason == "optin_request_too_soon"
    week_later = T0 + timedelta(days=7)
    third = handle(
        program(flow),
        again.contact,
        MessageIn(contact_id=CID, timestamp=week_later, text="deals"),
        week_later,
        page=page,
    )
    assert [e.kind for e in third.effects if e.kind in ("send", "skip")] == ["send"]


def test_an_opt_in_request_for_a_page_outside_the_regions_is_skipped() -> None:
    flow = """\
on keyword "deals":
    request notifications "deals" title "Deals"
"""
    decision = say(flow, "deals", PageFacts(region=None))
    (skip,) = [e for e in decision.effects if isinstance(e, Skipped)]
    assert skip.reason == "notifications_discontinued"
