"""The console's Growth page: each ref's link, QR codes to download, and who arrived how.

People arrive through the real path (the simulator's webhooks, the worker, the
database) on a fake clock; the page is read through the app's test client,
signed in, and its numbers are what a person reads: they must equal the
service's counts (service/arrivals.py) for the period picked, and a downloaded
QR code must decode back to the ref's m.me link.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import zxingcpp
from flask.testing import FlaskClient
from PIL import Image
from service_world import ADMIN_TOKEN, PAGE, World, running_world

from pageflows.service import arrivals

USERNAME = "shop.demo"
FLOW = """\
on ref "spring_sale":
    send "Spring sale is on"

on ref "window" from qr:
    send "Thanks for scanning our shop window"

on ref "camp_*":
    send "A campaign"

on ref missing:
    send "Welcome! How did you find us?"
"""
VIAS = ("link", "qr", "ad", "comment", "direct")


def start(world: World, username: str | None = USERNAME) -> FlaskClient:
    world.page = replace(world.page, username=username)
    world.start()
    assert world.served is not None
    client = world.served.server.app.test_client()
    assert client.get(f"/growth?token={ADMIN_TOKEN}").status_code == 302  # signs in
    return client


def jump(world: World, delta: timedelta) -> None:
    world.clock.set(world.clock.now() + delta)
    world.sim.control.set_clock(world.clock.now())
    world.settle()


def ref_numbers(html: str, ref: str) -> dict[str, int]:
    """The numbers a person reads in the row (or card) of `ref`, by way and in total."""
    block = re.search(rf'data-ref="{re.escape(ref)}">(.*?)(?=data-ref=|</section>)', html, re.S)
    assert block, f"no row for {ref}"
    return {k: int(v) for k, v in re.findall(r'data-via="(\w+)">(\d+)<', block.group(1))}


def without_ref(html: str) -> dict[str, int]:
    block = re.search(r'aria-label="without a ref">(.*?)</section>', html, re.S)
    assert block
    return {k: int(v) for k, v in re.findall(r'data-via="(\w+)">(\d+)<', block.group(1))}


def total(html: str, name: str) -> int:
    found = re.search(rf'data-total="{name}">(\d+)', html)
    assert found, name
    return int(found.group(1))


def test_arrivals_per_ref_and_way_over_the_period_picked(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        client = start(world)
        control = world.sim.control
        control.referral("spring_sale", psid="p-old", source="SHORTLINK")  # 40 days ago
        world.settle()
        jump(world, timedelta(days=20))
        control.referral("spring_sale::qr", psid="p-scan", source="SHORTLINK")  # 20 days ago
        control.say("hello", psid="p-nobody")  # no ref: the EU case, or simply wrote
        world.settle()
        jump(world, timedelta(days=17))
        control.say("hi", psid="p-ad", ref="spring_sale", from_ad=True)  # 3 days ago
        control.referral("camp_autumn", psid="p-camp", source="SHORTLINK")
        control.referral("window::qr", psid="p-window", source="SHORTLINK")
        world.settle()
        jump(world, timedelta(days=3))
        now = world.clock.now()

        expected = {
            "7d": ({"ad": 1}, 3, 0),
            "30d": ({"ad": 1, "qr": 1}, 5, 1),
            "all": ({"ad": 1, "qr": 1, "link": 1}, 6, 1),
        }
        for period, (spring, arrived, missing) in expected.items():
            html = client.get(f"/growth?period={period}").get_data(as_text=True)
            assert "selected>" in html and f'value="{period}" selected' in html
            days = {"7d": 7, "30d": 30, "all": None}[period]
            since = None if days is None else now - timedelta(days=days)
            counted = arrivals.counts(world.service.engine, PAGE, since)  # type: ignore[union-attr]
            shown = ref_numbers(html, "spring_sale")
            assert shown == {**dict.fromkeys(VIAS, 0), **spring, "total": sum(spring.values())}
            assert {k: v for k, v in shown.items() if k != "total"} == (
                counted.ref("spring_sale").by_via
            )
            assert total(html, "arrivals") == arrived
            assert total(html, "ref_missing") == missing == counted.ref_missing
            assert without_ref(html)["direct"] == missing == counted.without_ref["direct"]
            assert ref_numbers(html, "window")["qr"] == 1
            # camp_autumn came through the pattern `camp_*`: listed under other refs
            assert ref_numbers(html, "camp_autumn")["link"] == 1
        # an unknown period is the default one (30 days), not an error
        assert (
            ref_numbers(client.get("/growth?period=year").get_data(as_text=True), "spring_sale")[
                "total"
            ]
            == 2
        )


def test_the_links_and_a_downloaded_qr_code_decode_to_the_refs_m_me_link(
    database_url: str, tmp_path: Path
) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        client = start(world)
        html = client.get("/growth").get_data(as_text=True)
        assert f'href="https://m.me/{USERNAME}?ref=spring_sale"' in html
        assert "a pattern: links need a whole ref" in html  # camp_*: no link, no QR
        assert "/growth/qr/camp_" not in html
        for size in (256, 512, 1024):
            assert f"/growth/qr/spring_sale.png?size={size}&amp;download=1" in html
            assert f"/growth/qr/spring_sale.svg?size={size}&amp;download=1" in html

        png = client.get("/growth/qr/spring_sale.png?size=512&download=1")
        assert png.status_code == 200 and png.mimetype == "image/png"
        assert png.headers["Content-Disposition"] == (
            'attachment; filename="qr-spring_sale-512.png"'
        )
        image = Image.open(io.BytesIO(png.data))
        assert 400 <= image.width <= 512
        (decoded,) = zxingcpp.read_barcodes(image)
        assert decoded.text == f"https://m.me/{USERNAME}?ref=spring_sale::qr"

        small = Image.open(io.BytesIO(client.get("/growth/qr/spring_sale.png?size=256").data))
        assert small.width <= 256 < image.width
        svg = client.get("/growth/qr/window.svg?size=1024&download=1")
        assert svg.mimetype == "image/svg+xml"
        assert svg.headers["Content-Disposition"] == 'attachment; filename="qr-window-1024.svg"'
        assert ET.fromstring(svg.data).tag == "{http://www.w3.org/2000/svg}svg"

        unknown = client.get("/growth/qr/nope.png")
        assert unknown.status_code == 404 and "spring_sale" in unknown.get_data(as_text=True)
        for size in ("10", "99999", "big"):
            answer = client.get(f"/growth/qr/spring_sale.png?size={size}")
            assert answer.status_code == 400 and "64 to 4096" in answer.get_data(as_text=True)


def test_without_a_username_the_page_says_how_to_set_one(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, FLOW) as world:
        client = start(world, username=None)
        html = client.get("/growth").get_data(as_text=True)
        assert "PAGEFLOWS_PAGE_USERNAME" in html
        assert "m.me/shop" not in html and "/growth/qr/" not in html
        assert ref_numbers(html, "spring_sale")["total"] == 0
        answer = client.get("/growth/qr/spring_sale.png")
        assert answer.status_code == 404 and "username" in answer.get_data(as_text=True)
