"""Links, QR codes, arrivals and per-step numbers through the running service.

Signed webhooks (from the simulator, or posted as Facebook shapes them) go
through the webhook and the worker into the database; the operator API reads
the numbers back over HTTP, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import zxingcpp
from PIL import Image
from service_world import PAGE, World, running_world

from pageflows.engine.inbound_messaging import to_ms

USERNAME = "shop.demo"
FLOW = """\
on ref "spring_sale":
    send "Spring sale is on"
        quick "Show me deals" -> deals
        quick "Not now" -> not_now

on ref "window" from qr:
    send "Thanks for scanning our shop window"

on ref "window":
    send "Hi from the window campaign"

on ref "camp_*":
    send "A campaign"

on ref missing:
    send "Welcome! How did you find us?"

step deals:
    send "Two for one on all tees"

step not_now:
    send "No problem"
"""


def referral_webhook(world: World, psid: str, **referral: Any) -> int:
    """A `messaging_referrals` event exactly as Facebook posts it (signed); the simulator
    learns of the person (and their open window) as Facebook would."""
    world.sim.control.add_contact(psid)
    world.sim.control.seen(psid, at=world.clock.now())
    now = to_ms(world.clock.now())
    body = {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": now,
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": PAGE},
                        "timestamp": now,
                        "referral": {**referral, "type": "OPEN_THREAD"},
                    }
                ],
            }
        ],
    }
    return world.post(body)


def start(world: World, username: str | None = USERNAME) -> None:
    world.page = replace(world.page, username=username)
    world.start()


def test_arrivals_are_counted_per_ref_and_way_and_a_scan_runs_the_refs_flow(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        control = world.sim.control
        control.referral("spring_sale", psid="p-link", source="SHORTLINK")
        assert referral_webhook(world, "p-qr", ref="spring_sale::qr", source="SHORTLINK") == 200
        control.say("hi", psid="p-ad", ref="spring_sale", from_ad=True)
        control.say("hello", psid="p-direct")  # a new conversation with no ref at all
        assert referral_webhook(world, "p-window", ref="window::qr", source="SHORTLINK") == 200
        # The EU case: the ref is kept, Facebook's `source` is not.
        assert referral_webhook(world, "p-eu", ref="spring_sale") == 200
        control.comment("Nice!", from_id="p-comment")  # a commenter: a contact, no conversation
        world.settle()
        world.advance(timedelta(minutes=5), step=timedelta(minutes=5))
        # A known contact comes back through a QR code: a second arrival, not a new contact.
        control.referral("spring_sale::qr", psid="p-link", source="SHORTLINK")
        world.settle()

        # The marker never reaches the flows: the scan ran `on ref "spring_sale"`, and the
        # window scan ran the `from qr` trigger, not the one for any source.
        assert world.texts("p-qr") == ["Spring sale is on"]
        assert world.texts("p-window") == ["Thanks for scanning our shop window"]
        assert world.texts("p-ad") == ["Spring sale is on"]
        assert world.texts("p-direct") == ["Welcome! How did you find us?"]
        assert world.texts("p-link") == ["Spring sale is on", "Spring sale is on"]

        growth = world.api("GET", "/growth").json()
        refs = {r["ref"]: r for r in growth["refs"]}
        assert refs["spring_sale"] == {
            "page": PAGE, "ref": "spring_sale", "total": 5,
            "link": 2, "qr": 2, "ad": 1, "comment": 0, "direct": 0,
        }  # fmt: skip
        assert (refs["window"]["qr"], refs["window"]["total"]) == (1, 1)
        assert growth["without_ref"] == {"link": 0, "qr": 0, "ad": 0, "comment": 1, "direct": 1}
        assert growth["ref_missing"] == 1  # p-direct; a comment never carries a ref

        listed = {r["ref"]: r for r in world.api("GET", "/links").json()["refs"]}
        assert listed["spring_sale"]["arrivals"]["qr"] == 2
        assert listed["spring_sale"]["link"] == f"https://m.me/{USERNAME}?ref=spring_sale"
        assert listed["spring_sale"]["qr_link"] == f"https://m.me/{USERNAME}?ref=spring_sale::qr"
        assert listed["window"]["from"] == []  # a trigger for any source: any way
        assert listed["camp_*"]["link"] is None  # a pattern makes no link of its own

        contact = world.api("GET", "/growth?since=2030-01-01T00:00Z").json()
        assert contact["refs"] == [] and contact["ref_missing"] == 0
        bad = world.api("GET", "/growth?since=yesterday")
        assert bad.status_code == 400 and "ISO" in bad.json()["error"]
        backwards = world.api("GET", "/growth?since=2026-12-01T00:00Z&until=2026-11-01T00:00Z")
        assert backwards.status_code == 400
        assert backwards.json()["error"] == "since must be before until"
        # "+02:00" typed into a URL without %2B arrives as a space: read as meant.
        offset = world.api("GET", "/growth?since=2030-01-01T00:00+02:00")
        assert offset.status_code == 200 and offset.json()["refs"] == []


def test_a_ref_and_source_longer_than_their_columns_are_counted_cut_and_the_event_runs(
    database_url: str, tmp_path: Path
) -> None:
    """A forged or foreign referral: 300 characters of ref, 40 of source. The event is
    decided (not parked after failing at every try), the arrival counted under the ref's
    first 255 characters, and the flow still runs on the whole ref."""
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        long_ref = "camp_" + "x" * 295
        status = referral_webhook(world, "p-long", ref=long_ref, source="S" * 40)
        assert status == 200
        world.settle()
        assert world.texts("p-long") == ["A campaign"]
        assert {row.status for row in world.inbox()} == {"done"}
        refs = {r["ref"]: r for r in world.api("GET", "/growth").json()["refs"]}
        assert refs[long_ref[:255]]["total"] == 1


def test_a_qr_code_decodes_to_its_link_and_a_scan_of_it_counts_as_qr(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        answer = world.api("GET", "/qr/spring_sale.png?size=300")
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"] == "image/png"
        assert answer.headers["Content-Disposition"] == 'inline; filename="qr-spring_sale.png"'
        image = Image.open(io.BytesIO(answer.content))
        assert 200 <= image.width <= 300
        (decoded,) = zxingcpp.read_barcodes(image)
        assert decoded.text == f"https://m.me/{USERNAME}?ref=spring_sale::qr"

        svg = world.api("GET", "/qr/spring_sale.svg?size=200")
        assert svg.headers["Content-Type"].startswith("image/svg+xml")
        assert ET.fromstring(svg.content).tag == "{http://www.w3.org/2000/svg}svg"

        # Someone scans it: Facebook sends the link's ref as a SHORTLINK referral.
        (ref,) = parse_qs(urlparse(decoded.text).query)["ref"]
        world.sim.control.referral(ref, psid="p-scan", source="SHORTLINK")
        world.settle()
        assert world.texts("p-scan") == ["Spring sale is on"]
        growth = world.api("GET", "/growth").json()
        assert [(r["ref"], r["qr"], r["link"]) for r in growth["refs"]] == [("spring_sale", 1, 0)]


def test_qr_refusals_say_why(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world, username=None)
        unknown = world.api("GET", "/qr/nope.png")
        assert unknown.status_code == 404
        assert "spring_sale" in unknown.json()["error"]  # the refs there are
        pattern = world.api("GET", "/qr/camp_*.svg")
        assert pattern.status_code == 404
        for size in ("abc", "10", "99999"):
            answer = world.api("GET", f"/qr/spring_sale.png?size={size}")
            assert answer.status_code == 400, size
            assert "size" in answer.json()["error"]
        no_username = world.api("GET", "/qr/spring_sale.png")
        assert no_username.status_code == 409
        assert "PAGEFLOWS_PAGE_USERNAME" in no_username.json()["error"]
        links = world.api("GET", "/links").json()
        assert links["username"] is None and "username" in links["missing_username"]
        assert world.api("GET", "/links?page=999").status_code == 404


def step(stats: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in stats["steps"] if s["step"] == name)
    return found


def test_stats_per_step_count_deliveries_reads_taps_and_replies(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        start(world)
        control = world.sim.control
        for psid in ("p-a", "p-b", "p-c"):
            control.referral("spring_sale", psid=psid, source="SHORTLINK")
        world.settle()
        world.advance(timedelta(minutes=1), step=timedelta(minutes=1))
        control.deliver("p-a")
        control.deliver("p-b")
        control.read("p-a")
        world.settle()
        world.advance(timedelta(minutes=1), step=timedelta(minutes=1))
        control.tap("Show me deals", psid="p-a")  # a click for the message that offered it
        control.tap("Not now", psid="p-b")
        world.settle()
        world.advance(timedelta(minutes=1), step=timedelta(minutes=1))
        control.say("great, thanks", psid="p-a")  # a reply to "Two for one on all tees"
        world.settle()

        stats = world.api("GET", "/stats").json()
        greeting = step(stats, 'on ref "spring_sale"')
        counts = {k: greeting[k] for k in ("sent", "delivered", "read", "clicked", "replied")}
        # A tap is a click, not a reply; a's words came after our next message (the deals),
        # so they answer that one; c never answered.
        assert counts == {"sent": 3, "delivered": 2, "read": 1, "clicked": 2, "replied": 0}
        assert greeting["messages"][0]["preview"].startswith("Spring sale is on")
        deals = step(stats, "step deals")
        assert (deals["sent"], deals["clicked"], deals["replied"]) == (1, 0, 1)
        assert (step(stats, "step not_now")["sent"], step(stats, "step not_now")["replied"]) == (
            1,
            0,
        )

        only = world.api("GET", "/stats?flow=main").json()
        assert only["flow"] == "main" and len(only["steps"]) == len(stats["steps"])
        later = world.api("GET", "/stats?since=2026-11-24T09:01:30Z").json()
        # Only the deals and not-now messages were decided after that (a's reply counts);
        # the greeting was sent before, but the taps on it came after.
        assert [(s["step"], s["sent"], s["clicked"], s["replied"]) for s in later["steps"]] == [
            ('on ref "spring_sale"', 0, 2, 0),
            ("step deals", 1, 0, 1),
            ("step not_now", 1, 0, 0),
        ]
        missing = world.api("GET", "/stats?flow=nope")
        assert missing.status_code == 404 and missing.json()["flows"] == ["main"]
