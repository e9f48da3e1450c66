"""The console's Broadcasts pages: state, preview (the confirm step), send, progress,
report, retry the failed.

The service runs on real sockets against the simulator on a fake clock;
contacts write in through it, the worker decides and sends, and the pages are
read through the app's test client, signed in. What they show must be what
the service says (broadcast_preview.preview, broadcast_report.report) and what
Facebook (the simulator) received.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

from console_app import csrf_of
from flask.testing import FlaskClient
from markupsafe import escape
from service_world import ADMIN_TOKEN, PAGE, World, running_world

from pageflows.rules.compile import Program
from pageflows.service.broadcast_preview import preview
from pageflows.service.broadcast_report import report

FLOW = """
on keyword "hi" exact:
    send "hello"

broadcast news to everyone at "2026-12-24 09:00" in "UTC":
    send "news for you"
        quick "Tell me more" -> more

step more:
    send "more news"
"""
OLD = ["100000000000001", "100000000000002"]
NEW = ["100000000000011", "100000000000012", "100000000000013"]


def start(world: World) -> FlaskClient:
    world.start()
    assert world.served is not None
    client = world.served.server.app.test_client()
    assert client.get(f"/broadcasts?token={ADMIN_TOKEN}").status_code == 302  # signs in
    return client


def say_hi(world: World, psids: list[str]) -> None:
    for psid in psids:
        world.sim.control.say("hi", psid=psid)
    world.settle()


def jump(world: World, delta: timedelta) -> None:
    world.clock.set(world.clock.now() + delta)
    world.sim.control.set_clock(world.clock.now())
    world.settle()


def number(html: str, attribute: str, key: str) -> int:
    found = re.search(rf'{attribute}="{re.escape(key)}">(?:<span[^>]*>)?(\d+)', html)
    assert found, (attribute, key)
    return int(found.group(1))


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    answer = client.get(path)
    assert answer.status_code == status, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def test_preview_send_progress_report_and_retry(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        client = start(world)
        say_hi(world, OLD)
        jump(world, timedelta(days=3))  # OLD's windows closed
        say_hi(world, NEW)
        engine = world.service.engine  # type: ignore[union-attr]

        listing = page(client, "/broadcasts")
        assert 'data-broadcast="news"' in listing
        assert "scheduled for 2026-12-24 09:00 UTC" in listing
        assert "It has not run yet" in page(client, "/broadcasts/news")

        shown = page(client, "/broadcasts/news/preview")
        now = world.clock.now()
        said = preview(engine, world.settings().pages[0], _program(world), "news", now)
        assert number(shown, "data-count", "contacts") == said["contacts"] == 5
        assert number(shown, "data-count", "send") == said["send"]["count"] == 3
        assert number(shown, "data-mode", "UPDATE") == 3
        assert number(shown, "data-count", "skipped") == 2
        assert number(shown, "data-reason", "outside_window") == 2
        assert escape(said["skipped"]["by_reason"]["outside_window"]["detail"]) in shown
        assert '<div class="bubble">news for you</div>' in shown  # as Messenger shows it
        assert '<span class="chip">Tell me more</span>' in shown
        assert "send news to 3 contact(s) now" in shown

        # The confirm step: a send without the box ticked does nothing.
        token = csrf_of(shown)
        refused = client.post("/broadcasts/news/send", data={"csrf_token": token})
        assert refused.status_code == 400
        assert "Nothing was sent" in refused.get_data(as_text=True)
        assert "It has not run yet" in page(client, "/broadcasts/news")

        world.sim.control.fail_next(1, code=551, status=400)  # one contact unavailable
        sent = client.post("/broadcasts/news/send", data={"csrf_token": token, "confirm": "yes"})
        assert sent.status_code == 302
        assert sent.headers["Location"] == "/broadcasts/news?sent=5"

        # Before the worker runs: running, 5 to decide, the page polls its progress.
        running = page(client, "/broadcasts/news?sent=5")
        assert "Started: 5 contact(s) to decide for" in running
        assert 'data-progress="/broadcasts/news/progress"' in running
        assert number(running, "data-field", "pending") == 5
        progress = client.get("/broadcasts/news/progress").get_json()
        assert progress["status"] == "running" and progress["going"] is True
        assert (progress["contacts"], progress["pending"], progress["sent"]) == (5, 5, 0)
        listing = page(client, "/broadcasts")
        assert "0 of 5 decided: 0 sent, 0 failed, 0 skipped" in listing

        world.settle()
        numbers = report(engine, PAGE, "news")
        progress = client.get("/broadcasts/news/progress").get_json()
        assert progress["status"] == "done" and progress["going"] is False
        assert (progress["sent"], progress["failed"], progress["skipped"]) == (2, 1, 2)
        done = page(client, "/broadcasts/news")
        assert "data-progress=" not in done  # nothing left to poll
        assert number(done, "data-field", "sent") == numbers["sent"] == 2
        assert number(done, "data-field", "failed") == numbers["failed"]["count"] == 1
        assert number(done, "data-error", "551") == 1
        assert escape(numbers["failed"]["by_error"][0]["message"]) in done  # Facebook's reason
        assert number(done, "data-field", "skipped") == 2
        assert number(done, "data-reason", "outside_window") == 2
        ok = Counter(
            m["recipient_id"]
            for m in world.sim.control.sent_messages()
            if m["ok"] and m["request"].get("message", {}).get("text") == "news for you"
        )
        assert len(ok) == numbers["sent"] and set(ok) <= set(NEW)

        # Sent once: a second send is refused with why, and nothing goes again.
        again = client.post(
            "/broadcasts/news/send", data={"csrf_token": csrf_of(done), "confirm": "yes"}
        )
        assert again.status_code == 409
        assert "already ran" in again.get_data(as_text=True)

        # Retry the failed one: decided again through today's policy, and sent.
        assert "Retry the 1 failed" in done
        retried = client.post("/broadcasts/news/retry", data={"csrf_token": csrf_of(done)})
        assert retried.status_code == 302
        assert retried.headers["Location"] == "/broadcasts/news?retrying=1"
        world.settle()
        after = page(client, "/broadcasts/news")
        assert number(after, "data-field", "sent") == report(engine, PAGE, "news")["sent"] == 3
        assert number(after, "data-field", "failed") == 0
        assert "done" in page(client, "/broadcasts")


def test_a_retry_before_the_run_is_done_is_refused_with_why(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        client = start(world)
        say_hi(world, NEW)
        token = csrf_of(page(client, "/broadcasts/news/preview"))
        client.post("/broadcasts/news/send", data={"csrf_token": token, "confirm": "yes"})
        refused = client.post("/broadcasts/news/retry", data={"csrf_token": token})
        assert refused.status_code == 409
        assert "is still running; retry it once it is done" in refused.get_data(as_text=True)
        assert page(client, "/broadcasts/nope", status=404)
        assert client.get("/broadcasts/nope/preview").status_code == 404


def _program(world: World) -> Program:
    assert world.service is not None
    return world.service.worker.pages[PAGE].program
