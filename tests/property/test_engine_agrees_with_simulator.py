"""The engine's copy of Facebook's rules against the simulator's, on generated conversations.

The engine (pageflows.engine.policy) and the Graph API simulator (pageflows.simulator)
each hold their own table of Facebook's rules and never share code, so a wrong date
or window in one shows up as a disagreement. Hypothesis generates Pages (region, ad
window, template status), a start day between 2020 and 2027, and what a person does
(messages, some after an ad, opt-ins, stops, waits of minutes to days). The engine
decides through `Conversation` on a fake clock; every message it decided to send is
then POSTed to the simulator at the moment the engine sent it. A send the simulator
refuses is a send that Facebook would refuse: the test fails on the first one.

`PAGEFLOWS_AGREE_EXAMPLES` sets how many conversations (CI: 200, `make fuzz`: 2,000);
the number of sends checked is printed at the end (`-s` shows it).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pageflows.chat.conversation import Conversation
from pageflows.engine.effects import Send, Skipped
from pageflows.engine.events import OptinIn
from pageflows.engine.policy import check_tag
from pageflows.rules.compile import Program
from pageflows.rules.load import load_texts
from pageflows.rules.page_facts import REGIONS, PageFacts, TemplateInfo
from pageflows.simulator import RunningSimulator, running_simulator

EXAMPLES = int(os.environ.get("PAGEFLOWS_AGREE_EXAMPLES", "200"))
SECRET = "agree-secret"
BODY = "Hi! Your order {{1}} is {{2}}."
FLOWS = """\
on keyword "hi":
    send "Hello {contact.first_name|there}"
    after 20h:
        send "Still there?"
    after 30h with tag POST_PURCHASE_UPDATE:
        send "Your parcel left the warehouse"
    after 2d via notification "deals":
        send "New deals"
    after 3d with tag CONFIRMED_EVENT_UPDATE:
        send "Your booking is confirmed"
    after 4d:
        send template "order_update" with "A-1", "shipped"

on keyword "deals":
    request notifications "deals" title "Deals"

on keyword "status":
    send template "order_update" with "{contact.first_name|A-2}", "packed"
"""


@dataclass
class Tally:
    sends: int = 0
    skips: int = 0
    conversations: int = 0


TALLY = Tally()
_pages = itertools.count(1)


def _program(page: PageFacts) -> Program:
    # Checked as of a day when every tag above was still accepted, with the template
    # approved: what Facebook takes on the day a message goes out (a paused template, a
    # retired tag) is the engine's business at send time, which is what is compared.
    approved = tuple(replace(t, status="APPROVED") for t in page.templates)
    checked = replace(page, templates=approved)
    result = load_texts(
        {"agree/flows.flow": FLOWS.encode()}, date(2020, 1, 1), check_tag, (checked,)
    )
    assert result.program is not None, result.errors
    return result.program


class _Sink(BaseHTTPRequestHandler):
    """Where the simulator's webhooks go: taken and dropped (the engine is fed directly)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/webhook"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with running_simulator() as running:
        yield running
    print(
        f"\nengine vs simulator: {TALLY.sends} sends checked and accepted,"
        f" {TALLY.skips} skipped by the engine, in {TALLY.conversations} conversations"
    )


Step = tuple[str, Any]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("say"), st.sampled_from(["hi", "deals", "status", "thanks"])),
        st.tuples(st.just("ad"), st.sampled_from(["hi", "status"])),
        st.tuples(st.just("wait"), st.integers(min_value=1, max_value=6 * 24 * 60)),
        st.tuples(st.just("optin"), st.none()),
        st.tuples(st.just("stop"), st.none()),
    ),
    min_size=1,
    max_size=12,
)
# Openings that reach each kind of send (a token needs an opt-in first, a tag a wait
# past the window), followed by anything.
OPENINGS: list[list[Step]] = [
    [],
    [("say", "deals"), ("optin", None), ("say", "hi"), ("wait", 2 * 24 * 60 + 1)],
    [("say", "deals"), ("optin", None), ("say", "hi"), ("wait", 5 * 24 * 60)],
    [("ad", "hi"), ("wait", 31 * 60), ("wait", 3 * 24 * 60)],
    [("say", "hi"), ("wait", 4 * 24 * 60 + 1)],
    [("say", "status")],
]
scripts = st.builds(lambda opening, tail: opening + tail, st.sampled_from(OPENINGS), steps)
# Days where a rule changes (policy.md), a few days either side, and any day at all.
EDGES = [date(2020, 3, 4), date(2023, 1, 31), date(2025, 9, 1), date(2026, 1, 12),
         date(2026, 2, 10), date(2026, 4, 27)]  # fmt: skip
days = st.one_of(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 12, 31)),
    st.builds(
        lambda edge, shift: edge + timedelta(days=shift),
        st.sampled_from(EDGES),
        st.integers(min_value=-6, max_value=3),
    ),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    region=st.sampled_from([None, *REGIONS]),
    ad_window=st.booleans(),
    template_status=st.sampled_from(["APPROVED", "APPROVED", "PAUSED"]),
    start_day=days,
    start_minute=st.integers(min_value=0, max_value=24 * 60 - 1),
    script=scripts,
)
def test_every_send_the_engine_decides_is_one_the_simulator_accepts(
    sim: RunningSimulator,
    sink: str,
    region: str | None,
    ad_window: bool,
    template_status: str,
    start_day: date,
    start_minute: int,
    script: list[Step],
) -> None:
    number = next(_pages)
    page_id, psid, token = f"9{number:014d}", f"psid-{number}", f"page-token-{number}"
    template = TemplateInfo(
        name="order_update", language="en_US", status=template_status, body=BODY, parameters=2
    )
    page = PageFacts(id=page_id, region=region, ad_window=ad_window, templates=(template,))
    start = datetime.combine(start_day, datetime.min.time(), UTC) + timedelta(minutes=start_minute)
    control = sim.control
    control.set_clock(start)
    control.register_page(
        page_id, token, SECRET, sink,
        region=region, ad_window=ad_window,
        templates=[{"name": "order_update", "language": "en_US", "status": template_status,
                    "body": BODY, "buttons": [{"type": "URL", "text": "Track",
                                               "url": "https://shop.example.com/t"}]}],
    )  # fmt: skip
    control.add_contact(psid, "Alice", "Example", page_id=page_id)
    chat = Conversation.start(_program(page), start, page=page)
    chat.contact = chat.contact.model_copy(update={"id": psid})
    TALLY.conversations += 1
    opted_in = False
    for kind, value in script:
        now = chat.clock.now()
        if kind in ("say", "ad"):
            control.set_clock(now)
            control.seen(psid, at=now, from_ad=kind == "ad", page_id=page_id)
            happened = chat.run(f"/ad {value}" if kind == "ad" else str(value))
        elif kind == "wait":
            happened = chat.run(f"/wait {value}m")
        elif kind == "optin":
            if not _offered_optin(chat) or opted_in:
                continue
            control.set_clock(now)
            control.optin("deals", psid=psid, token=f"tok-{number}", page_id=page_id)
            opted_in = True
            happened = chat.event(
                OptinIn(contact_id=psid, timestamp=now, topic="deals", token=f"tok-{number}")
            )
        else:
            if not opted_in:
                continue
            control.set_clock(now)
            control.optin("deals", psid=psid, token=f"tok-{number}", status="STOP",
                          page_id=page_id)  # fmt: skip
            happened = chat.event(
                OptinIn(contact_id=psid, timestamp=now, topic="deals", token=None, status="stopped")
            )
        for item in happened:
            if isinstance(item.effect, Skipped):
                TALLY.skips += 1
            if isinstance(item.effect, Send):
                _accepted_by_simulator(sim, page_id, token, item.at, item.effect, (kind, value))


def _offered_optin(chat: Conversation) -> bool:
    return any(
        m.message.get("attachment", {}).get("payload", {}).get("template_type")
        == "notification_messages"
        for m in chat.last_messages
    )


def _accepted_by_simulator(
    sim: RunningSimulator, page_id: str, token: str, at: datetime, send: Send, step: Step
) -> None:
    sim.control.set_clock(at)
    response = requests.post(
        f"{sim.url}/{page_id}/messages",
        params={"access_token": token},
        json=send.request_body(),
        timeout=10,
    )
    TALLY.sends += 1
    assert response.status_code == 200, (
        f"at {at:%Y-%m-%d %H:%M} the engine sent {send.delivery.describe()}"
        f" ({send.outbound.preview!r}) after {step}, and the simulator refused it:"
        f" {response.text}"
    )
