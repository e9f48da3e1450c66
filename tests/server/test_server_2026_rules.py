"""Facebook's 2026 rules through the whole service: webhook, worker, sender, simulator.

The ad window decided by the engine must also bind the sender's deadline (a
follow-up on day 3 after an ad is no late message), and a template Facebook
pauses (its status webhook) must stop the sends decided after it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from service_world import PAGE, START, World, running_world
from sqlalchemy.orm import Session

from pageflows.clock import FakeClock
from pageflows.rules.page_facts import TemplateInfo
from pageflows.serve import FlowsError, load_all_flows, prepare_database
from pageflows.service.config import PageConfig, Settings
from pageflows.service.graph.templates import ListedTemplate
from pageflows.service.storage.templates import store_synced

PSID = "psid-2026"
AD_FLOW = """\
on keyword "hi":
    send "Hello!"
    after 3d:
        send "Still thinking about it?"
"""
ORDER_FLOW = """\
on keyword "track":
    send "We'll tell you when it ships."
    after 2d:
        send template "order_update" with "A-1042", "on its way"
"""
ORDER = TemplateInfo(
    name="order_update", language="en_US", body="Your order {{1}} is {{2}}.", parameters=2
)


def sent(world: World) -> list[dict[str, object]]:
    return [m for m in world.sim.control.sent_messages(PSID) if m.get("ok")]


@pytest.mark.parametrize("ad_window", [True, False])
def test_a_follow_up_3_days_after_an_ad_message_goes_only_with_the_ad_window(
    database_url: str, tmp_path: Path, ad_window: bool
) -> None:
    with running_world(database_url, tmp_path, AD_FLOW) as world:
        world.page = replace(world.page, ad_window=ad_window)
        world.start()
        world.sim.control.add_contact(PSID)
        world.sim.control.say("hi", psid=PSID, from_ad=True)
        world.settle()
        world.advance(timedelta(days=3, minutes=1), step=timedelta(hours=6))
        rows = {r.preview: r for r in world.outbox()}
        follow_up = rows["Still thinking about it?"]
        if ad_window:
            assert (follow_up.status, follow_up.messaging_type) == ("sent", "UPDATE")
            assert len(sent(world)) == 2
        else:
            assert (follow_up.status, follow_up.reason) == ("skipped", "outside_window")
            assert len(sent(world)) == 1


def test_a_template_goes_as_utility_until_facebook_pauses_it(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, ORDER_FLOW) as world:
        world.page = replace(world.page, templates=(ORDER,))
        world.start()
        world.sim.control.add_contact(PSID)
        world.sim.control.say("track", psid=PSID)
        world.settle()
        world.advance(timedelta(days=2, minutes=1), step=timedelta(hours=12))
        (template,) = [m for m in sent(world) if "template" in m["request"]["message"]]
        assert template["request"]["messaging_type"] == "UTILITY"
        # Facebook pauses the template; its webhook reaches the service.
        world.sim.control.set_template_status("PAUSED", name="order_update", page_id=PAGE)
        world.settle()
        world.sim.control.say("track", psid=PSID)
        world.settle()
        world.advance(timedelta(days=2, minutes=1), step=timedelta(hours=12))
        skipped = [r for r in world.outbox() if r.status == "skipped"]
        assert [r.reason for r in skipped] == ["template_not_approved"]
        assert len([m for m in sent(world) if "template" in m["request"]["message"]]) == 1


def test_serve_takes_templates_that_only_the_database_knows(
    database_url: str, tmp_path: Path
) -> None:
    """A Page that syncs its templates from Facebook declares none in pageflows.toml."""
    settings = Settings(database_url=database_url, pages=(PageConfig(id=PAGE, token="t"),))
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "orders.flow").write_text(ORDER_FLOW, "utf-8")
    clock = FakeClock(START)
    with pytest.raises(FlowsError):
        load_all_flows(settings, str(flows), clock)  # nothing synced yet: unknown template
    engine = prepare_database(settings, clock)
    listed = ListedTemplate(info=ORDER, template_id="77", components="[]")
    with Session(engine) as session, session.begin():
        store_synced(session, PAGE, [listed], START)
    engine.dispose()
    programs = load_all_flows(settings, str(flows), clock)
    assert programs[PAGE].program is not None


OPTIN_FLOW = """\
on keyword "deals":
    request notifications "deals" title "Deals and offers"

on keyword "hi":
    send "Hello!"
"""


def test_facebook_refusing_notifications_for_the_region_fails_that_message_only(
    database_url: str, tmp_path: Path
) -> None:
    """pageflows.toml says EU, Facebook knows the Page elsewhere: its (#10) on the opt-in
    request fails that one message (notifications_discontinued); the page keeps sending."""
    with running_world(database_url, tmp_path, OPTIN_FLOW) as world:
        world.page = replace(world.page, region="EU")
        world.start()
        world.sim.control.configure_page(PAGE, region=None)
        world.sim.control.add_contact(PSID)
        world.sim.control.say("deals", psid=PSID)
        world.settle()
        world.sim.control.say("hi", psid=PSID)
        world.settle()
        rows = world.outbox()
        request, hello = rows[0], rows[-1]
        assert (request.status, request.reason, request.error_code) == (
            "failed",
            "notifications_discontinued",
            10,
        )
        assert (hello.preview, hello.status) == ("Hello!", "sent")
        assert world.health()["paused_pages"] == []
