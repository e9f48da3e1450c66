"""`pageflows simulator say/tap/...` against a running pageflows: what the customer sees,
how each answer was sent, and why the bot stayed silent (read from pageflows' database).

The service runs for real (webhook on a socket, worker, database) against the simulator
on a socket; the CLI plays the contact and reads the same database, as it does beside
`make run`. Each assertion is on the exact lines the CLI prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from embedded_web import serve_in_thread

from pageflows.cli.simulator import simulator
from pageflows.clock import FakeClock
from pageflows.serve import build_service
from pageflows.service.config import PageConfig, Settings
from pageflows.simulator import RunningSimulator, running_simulator

PAGE = "104123456789012"
SECRET = "sim-customer-secret"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
FLOWS = """\
on keyword "hi" exact:
    send "Hello!"

on keyword "later" exact:
    tag "later"

on keyword "deals" exact:
    request notifications "deals" title "Deals and offers"

on keyword "human" exact:
    send "A person will answer you here."
    handoff "asked for a human"

on keyword "book" exact:
    set booking_date = "2026-11-20"
    before {contact.booking_date} by 1d at "18:00":
        send "See you tomorrow!"
"""


@dataclass
class Customer:
    sim: RunningSimulator
    database_url: str

    def run(self, *args: str) -> str:
        result = CliRunner().invoke(
            simulator,
            [*args, "--as", "alice", "--sim", self.sim.root],
            env={"PAGEFLOWS_DATABASE_URL": self.database_url},
        )
        assert result.exit_code == 0, result.output
        return result.output


@pytest.fixture
def customer(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Customer]:
    monkeypatch.chdir(tmp_path)  # no ./pageflows.toml: the database is the one given
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "shop.flow").write_text(FLOWS, encoding="utf-8")
    with running_simulator() as sim:
        sim.control.set_clock(START)
        # No region: after 2026-02-10 Facebook takes no opt-in request from this Page.
        page = PageConfig(id=PAGE, token="sim-customer-token", name="Shop")
        settings = Settings(
            database_url=database_url,
            app_secret=SECRET,
            verify_token="sim-customer-verify",
            graph_url=sim.url,
            pages=(page,),
        )
        service = build_service(settings, str(flows), FakeClock(START))
        served = serve_in_thread(service)
        sim.control.register_page(
            page_id=PAGE, token=page.token, app_secret=SECRET,
            webhook_url=f"{served.url}/webhook", name="Shop",
        )  # fmt: skip
        service.start()
        try:
            yield Customer(sim, database_url)
        finally:
            served.stop()


def test_an_answer_says_how_it_was_sent_and_silence_says_why(customer: Customer) -> None:
    assert customer.run("say", "hi") == "bot > [RESPONSE] Hello!\n"
    assert customer.run("say", "what's new?") == "(silent: no trigger matched)\n"
    assert customer.run("say", "later") == (
        "(silent: the flow that ran sends nothing: it only tags, sets fields or waits)\n"
    )
    assert customer.run("say", "deals") == (
        "not sent > [skipped notifications_discontinued] <opt-in: Deals and offers>"
        " [Get messages]\n"
        "           Facebook discontinued notification messages on 2026-02-10 except for Pages"
        " in AU, EU, JP, KR, UK; this Page is with no region set. Send updates as an approved"
        " utility template, or reach the contact inside the 24 h window.\n"
        "(silent: pageflows decided to answer, but nothing it decided was sent (above: why))\n"
    )


def test_after_a_handoff_the_silence_names_the_human(customer: Customer) -> None:
    assert customer.run("say", "human") == "bot > [RESPONSE] A person will answer you here.\n"
    assert customer.run("say", "hi") == (
        "(silent: a human has this conversation; automation waits)\n"
    )


def test_a_reminder_whose_date_has_passed_is_shown_not_sent(customer: Customer) -> None:
    assert customer.run("say", "book") == (
        "not sent > [follow-up not scheduled (date_passed)] 1d before {contact.booking_date}"
        " (2026-11-20) was 2026-11-19 18:00 UTC, already past\n"
        "(silent: the flow that ran sends nothing now, and its follow-up was not scheduled)\n"
    )
