"""`pageflows links`, `qr` and `stats` in the terminal: the same numbers as the API.

Arrivals and sends are made through the running service (World); the
commands then read the same database, as an operator would on the server.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from click.testing import CliRunner, Result
from PIL import Image
from service_world import PAGE, START, World, running_world

from pageflows.cli import main
from pageflows.clock import FakeClock

FLOW = """\
on ref "spring_sale":
    send "Spring sale is on"
        quick "Show me deals" -> deals

on ref "window" from qr:
    send "Thanks for scanning"

on ref missing:
    send "Welcome!"

step deals:
    send "Two for one on all tees"
"""


def config(tmp_path: Path, username: str | None = "shop.demo") -> Path:
    path = tmp_path / "pageflows.toml"
    line = f'username = "{username}"\n' if username else ""
    path.write_text(f'[[pages]]\nid = "{PAGE}"\nname = "Shop"\n{line}', "utf-8")
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), obj=FakeClock(START))


@pytest.fixture
def world_with_traffic(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("PAGEFLOWS_DATABASE_URL", database_url)
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        control = world.sim.control
        control.referral("spring_sale", psid="c-1", source="SHORTLINK")
        control.referral("spring_sale::qr", psid="c-2", source="SHORTLINK")
        control.say("hello", psid="c-3")
        world.settle()
        world.advance(timedelta(minutes=1))
        control.deliver("c-1")
        control.tap("Show me deals", psid="c-1")
        world.settle()
        return world


def test_links_lists_each_ref_with_its_links_and_arrivals(
    world_with_traffic: World, tmp_path: Path
) -> None:
    flows = str(world_with_traffic.flows)
    result = run("links", flows, "--config", str(config(tmp_path)))
    assert result.exit_code == 0, result.output
    assert result.output == (
        "spring_sale  [main]\n"
        "  link: https://m.me/shop.demo?ref=spring_sale\n"
        "  QR:   https://m.me/shop.demo?ref=spring_sale::qr  (`pageflows qr spring_sale`)\n"
        "  arrived: link 1, qr 1\n"
        "window (from qr)  [main]\n"
        "  link: https://m.me/shop.demo?ref=window\n"
        "  QR:   https://m.me/shop.demo?ref=window::qr  (`pageflows qr window`)\n"
        "  arrived: none\n"
        f"page {PAGE}: 1 new conversation(s) began without a ref (Facebook dropped it, or they"
        " just wrote); every arrival without a ref, by way (comments too): direct 1\n"
    )
    no_username = run("links", flows, "--config", str(config(tmp_path, None)))
    assert "no links: set the Page's username" in no_username.output
    assert "PAGEFLOWS_PAGE_USERNAME" in no_username.output


def test_qr_writes_a_code_that_decodes_to_the_link(
    world_with_traffic: World, tmp_path: Path
) -> None:
    flows, toml = str(world_with_traffic.flows), str(config(tmp_path))
    out = tmp_path / "spring.png"
    result = run("qr", "spring_sale", "--flows", flows, "--config", toml, "--out", str(out),
                 "--size", "256")  # fmt: skip
    assert result.exit_code == 0, result.output
    link = "https://m.me/shop.demo?ref=spring_sale::qr"
    assert result.output == f"{out}: {link}\n"
    (decoded,) = zxingcpp.read_barcodes(Image.open(out))
    assert decoded.text == link
    svg = run("qr", "window", "--flows", flows, "--config", toml, "--format", "svg", "--out", "-")
    assert ET.fromstring(svg.stdout_bytes).tag == "{http://www.w3.org/2000/svg}svg"

    unknown = run("qr", "nope", "--flows", flows, "--config", toml)
    assert unknown.exit_code == 1
    assert unknown.output == (
        "Error: no flow has `on ref 'nope'`; the refs are: spring_sale, window\n"
    )
    too_small = run("qr", "window", "--flows", flows, "--config", toml, "--size", "8")
    assert too_small.exit_code == 1 and "size must be 64 to 4096" in too_small.output


def test_stats_show_each_step_and_its_messages(world_with_traffic: World) -> None:
    result = run("stats", "--flows", str(world_with_traffic.flows))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["step", "sent", "deliv", "read", "click", "reply", "failed", "skip"]
    rows = {line[:40].strip(): line[40:].split() for line in lines[1:]}
    assert rows['main: on ref "spring_sale"'] == ["2", "1", "0", "1", "0", "0", "0"]
    assert rows["main: on ref missing"] == ["1", "0", "0", "0", "0", "0", "0"]
    assert rows["main: step deals"] == ["1", "0", "0", "0", "0", "0", "0"]
    assert rows["2:5 Spring sale is on  [Show me deals]"] == ["2", "1", "0", "1", "0", "0", "0"]
    missing = run("stats", "nope", "--flows", str(world_with_traffic.flows))
    assert missing.exit_code == 1 and "no flow named 'nope' (flows: main)" in missing.output
