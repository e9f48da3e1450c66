"""The Inbox in a browser: a person answers as the Page within Facebook's windows.

On a service world with a fake clock (tests/service_world.py: the webhook, API and
console on one app, the worker stepped by the test, the simulator over HTTP), so
the test can stand 25 hours and 8 days after the contact's message: what the
reply box says before typing, and what reaches the simulator, at each.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from service_world import ADMIN_TOKEN, running_world

FLOW = 'on keyword "hi":\n    send "Hello! How can we help?"\n'
PSID = "psid-inbox"
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def test_a_person_answers_at_once_at_25_hours_and_is_refused_at_8_days(
    page: Page, tmp_path: Path, screenshots: Path
) -> None:
    with running_world(f"sqlite:///{tmp_path / 'p.db'}", tmp_path, FLOW) as world:
        world.page = replace(world.page, human_agent=True)
        world.start()
        world.sim.control.add_contact(PSID, first_name="Maria", last_name="Lopez")
        world.sim.control.say("hi", psid=PSID)
        world.settle()

        page.goto(f"{world.url}/inbox?token={ADMIN_TOKEN}")
        page.get_by_role("link", name="Maria Lopez").click()
        transcript = page.get_by_role("list", name="conversation")
        expect(transcript).to_contain_text("Hello! How can we help?")
        expect(transcript).to_contain_text("allowed as RESPONSE")
        expect(page.get_by_role("note")).to_contain_text("A reply now goes as a response")

        world.advance(3 * MINUTE, step=MINUTE)
        page.get_by_label("Reply as the Page").fill("A person here: what can I do for you?")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("status")).to_contain_text("Queued as RESPONSE")
        world.settle()
        sent = world.sim.control.sent_messages(PSID)
        assert sent[-1]["request"]["messaging_type"] == "RESPONSE"

        # The contact writes again; the open page shows it without a reload.
        world.advance(2 * MINUTE, step=MINUTE)
        world.sim.control.say("do you have tables tonight?", psid=PSID)
        world.settle()
        expect(transcript).to_contain_text("do you have tables tonight?", timeout=10_000)
        page.screenshot(path=screenshots / "inbox.png", full_page=True)

        world.advance(25 * HOUR, step=HOUR)
        page.reload()
        expect(page.get_by_role("note")).to_contain_text("A reply now goes tagged HUMAN_AGENT")
        page.get_by_label("Reply as the Page").fill("Sorry for the wait: yes, at 20:00.")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("status")).to_contain_text("Queued as HUMAN_AGENT")
        world.settle()
        last = world.sim.control.sent_messages(PSID)[-1]["request"]
        assert (last["messaging_type"], last.get("tag")) == ("MESSAGE_TAG", "HUMAN_AGENT")
        assert last["message"]["text"] == "Sorry for the wait: yes, at 20:00."

        world.advance(8 * 24 * HOUR, step=24 * HOUR)
        page.reload()
        expect(page.get_by_role("note")).to_contain_text("A reply now would be refused")
        expect(page.get_by_label("Reply as the Page")).to_be_disabled()
        expect(page.get_by_role("button", name="Send")).to_be_disabled()
        replies = [m for m in world.outbox() if m.source == "agent"]
        assert [r.preview for r in replies] == [  # a reload never sent one again
            "A person here: what can I do for you?",
            "Sorry for the wait: yes, at 20:00.",
        ]
        page.screenshot(path=screenshots / "inbox-refused.png", full_page=True)


def test_take_over_and_hand_back(page: Page, tmp_path: Path) -> None:
    with running_world(f"sqlite:///{tmp_path / 'p.db'}", tmp_path, FLOW) as world:
        world.start()
        world.sim.control.add_contact(PSID, first_name="Maria", last_name="Lopez")
        world.sim.control.say("hi", psid=PSID)
        world.settle()
        page.goto(f"{world.url}/inbox/{PSID}?token={ADMIN_TOKEN}")
        expect(page.get_by_text("The flows answer this contact.")).to_be_visible()
        page.get_by_role("button", name="Take over").click()
        expect(page.get_by_text("A person answers: the flows wait until")).to_be_visible()
        world.sim.control.say("hi", psid=PSID)  # the flows stay quiet while a person answers
        world.settle()
        assert world.texts(PSID) == ["Hello! How can we help?"]
        page.get_by_role("button", name="Hand back to the flows").click()
        expect(page.get_by_text("The flows answer this contact.")).to_be_visible()
        world.sim.control.say("hi", psid=PSID)
        world.settle()
        assert world.texts(PSID)[-1] == "Hello! How can we help?" and len(world.texts(PSID)) == 2
