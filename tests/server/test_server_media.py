"""Pictures, videos and files: sent as attachments when Messenger takes them, as a link otherwise.

Messenger refuses files over 25 MB, images fetched from a URL over 8 MB and
some types (webp images, say). pageflows asks the file's server first (HEAD),
remembers the answer in `media_checks`, and sends a link in a text message
instead of an attachment Facebook would refuse. End to end: a running
service, the Graph API simulator serving the media, SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from embedded_web import serve_in_thread
from sqlalchemy import select
from sqlalchemy.orm import Session
from support import wait_for

from pageflows.clock import FakeClock
from pageflows.serve import Service, build_service
from pageflows.service.config import PageConfig, Settings
from pageflows.service.graph.client import MediaInfo
from pageflows.service.graph.transport import Request, Response, Transport
from pageflows.service.sender import as_link, media_fits, why_not_media
from pageflows.service.storage.models import MediaCheck, OutboxMessage
from pageflows.simulator import RunningSimulator, running_simulator

MB = 1024 * 1024
PAGE = "104123456789012"
TOKEN = "media-page-token"
SECRET = "media-app-secret"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "content_type", "size", "fits"),
    [
        ("image", "image/jpeg", 7 * MB, True),
        ("image", "image/png", 8 * MB, True),
        ("image", "image/gif; charset=binary", 100_000, True),
        ("image", "image/jpeg", 9 * MB, False),
        ("image", "image/webp", 100_000, False),
        ("image", "application/pdf", 100_000, False),
        ("video", "video/mp4", 24 * MB, True),
        ("video", "video/mp4", 26 * MB, False),
        ("audio", "audio/mpeg", 3 * MB, True),
        ("audio", "video/mp4", 3 * MB, False),
        ("file", "application/pdf", 25 * MB, True),
        ("file", "application/x-whatever", 1024, True),
        ("file", "application/zip", 25 * MB + 1, False),
        ("image", "image/jpeg", None, False),
        ("file", None, 1024, False),
    ],
)
def test_which_media_messenger_takes_as_an_attachment(
    kind: str, content_type: str | None, size: int | None, fits: bool
) -> None:
    assert media_fits(kind, MediaInfo(size, content_type)) is fits


def test_media_whose_server_did_not_answer_goes_as_a_link() -> None:
    assert media_fits("image", None) is False


# ------------------------------------------------------------------ end to end


@dataclass
class CountingTransport:
    """The real transport, with the HEAD requests it made written down."""

    inner: Transport
    heads: list[str] = field(default_factory=list)

    def send(self, request: Request) -> Response:
        if request.method == "HEAD":
            self.heads.append(request.path.rsplit("/", 1)[-1])
        return self.inner.send(request)


@dataclass
class World:
    service: Service
    sim: RunningSimulator
    clock: FakeClock
    transport: CountingTransport

    def answers(self, psid: str, count: int, wait: float = 8.0) -> list[dict[str, Any]]:
        return wait_for(lambda: self.sim.control.sent_messages(psid), count, wait)

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.sim.control.set_clock(self.clock.now())
        self.service.wake()

    def media(self, name: str) -> str:
        return f"{self.sim.root}/media/{name}"


FLOWS = """
on keyword "bigpic":
    send image "{root}/media/big.jpg"

on keyword "smallpic":
    send image "{root}/media/small.png"

on keyword "sticker":
    send image "{root}/media/sticker.webp"

on keyword "brochure":
    send file "{root}/media/brochure.pdf"
"""


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    clock = FakeClock(START)
    with running_simulator() as sim:
        sim.control.set_clock(START)
        sim.control.set_media("big.jpg", "image/jpeg", 30 * MB)
        sim.control.set_media("small.png", "image/png", 100 * 1024)
        sim.control.set_media("sticker.webp", "image/webp", 20 * 1024)
        sim.control.set_media("brochure.pdf", "application/pdf", 2 * MB)
        flows = tmp_path / "flows"
        flows.mkdir()
        (flows / "media.flow").write_text(FLOWS.format(root=sim.root), "utf-8")
        settings = Settings(
            database_url=database_url,
            app_secret=SECRET,
            verify_token="media-verify",
            graph_url=sim.url,
            pages=(PageConfig(id=PAGE, token=TOKEN, name="Shop"),),
        )
        service = build_service(settings, str(flows), clock)
        client = service.sender.clients[PAGE]
        counting = CountingTransport(client.transport)
        client.transport = counting
        served = serve_in_thread(service)
        sim.control.register_page(
            page_id=PAGE, token=TOKEN, app_secret=SECRET,
            webhook_url=f"{served.url}/webhook", name="Shop",
        )  # fmt: skip
        service.start()
        try:
            yield World(service, sim, clock, counting)
        finally:
            served.stop()


def message_of(entry: dict[str, Any]) -> dict[str, Any]:
    assert entry["ok"], entry
    message: dict[str, Any] = entry["request"]["message"]
    return message


def test_a_big_picture_arrives_as_a_link_and_a_small_one_as_a_picture(world: World) -> None:
    psid = world.sim.control.say("bigpic", as_="alice")["psid"]
    big = world.answers(psid, 1)
    assert [message_of(m) for m in big] == [{"text": world.media("big.jpg")}]

    world.sim.control.say("smallpic", as_="alice")
    small = message_of(world.answers(psid, 2)[1])
    assert small["attachment"]["type"] == "image"
    assert small["attachment"]["payload"]["url"] == world.media("small.png")

    world.sim.control.say("sticker", as_="alice")
    assert message_of(world.answers(psid, 3)[2]) == {"text": world.media("sticker.webp")}

    world.sim.control.say("brochure", as_="alice")
    brochure = message_of(world.answers(psid, 4)[3])
    assert brochure["attachment"]["type"] == "file"

    def outbox() -> list[OutboxMessage]:
        with Session(world.service.engine) as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    # The simulator has the 4th message before the sender has recorded its answer.
    deadline = time.monotonic() + 8
    while {r.status for r in outbox()} != {"sent"} and time.monotonic() < deadline:
        time.sleep(0.05)
    rows = outbox()
    assert [r.status for r in rows] == ["sent"] * 4
    assert rows[0].body["message"] == {"text": world.media("big.jpg")}  # the outbox says so too


def test_an_attachment_sent_as_a_link_keeps_its_quick_replies() -> None:
    """A person's picture with quick replies (the operator API) becomes a link that still
    asks the question; the reason in the log is the real one."""
    body = {
        "recipient": {"id": "p"},
        "messaging_type": "RESPONSE",
        "message": {
            "attachment": {"type": "image", "payload": {"url": "https://x.example/a.jpg"}},
            "quick_replies": [{"content_type": "text", "title": "Yes", "payload": "Y"}],
        },
    }
    assert as_link(body, "https://x.example/a.jpg") == {
        "recipient": {"id": "p"},
        "messaging_type": "RESPONSE",
        "message": {
            "text": "https://x.example/a.jpg",
            "quick_replies": [{"content_type": "text", "title": "Yes", "payload": "Y"}],
        },
    }
    assert why_not_media("image", None) == "could not be checked (no answer to HEAD)"
    assert why_not_media("image", MediaInfo(9 * MB, "image/jpeg")) == (
        f"is {9 * MB} bytes, over Messenger's {8 * MB}"
    )
    assert why_not_media("image", MediaInfo(10, "image/webp")) == (
        "is of type image/webp, which Messenger refuses as image"
    )


def test_the_size_check_is_remembered_and_not_asked_again(world: World) -> None:
    psid = world.sim.control.say("bigpic", as_="bob")["psid"]
    world.answers(psid, 1)
    world.sim.control.say("smallpic", as_="bob")
    world.answers(psid, 2)
    assert sorted(world.transport.heads) == ["big.jpg", "small.png"]
    with Session(world.service.engine) as session:
        checks = {c.url: c for c in session.scalars(select(MediaCheck))}
    assert checks[world.media("big.jpg")].size == 30 * MB
    assert checks[world.media("big.jpg")].content_type == "image/jpeg"
    assert checks[world.media("small.png")].size == 100 * 1024

    world.sim.control.say("bigpic", as_="bob")
    world.sim.control.say("smallpic", as_="bob")
    again = world.answers(psid, 4)
    assert message_of(again[2]) == {"text": world.media("big.jpg")}
    assert message_of(again[3])["attachment"]["type"] == "image"
    assert sorted(world.transport.heads) == ["big.jpg", "small.png"]  # no second HEAD

    # A day later the file may have changed: it is checked again.
    world.sim.control.set_media("small.png", "image/png", 12 * MB)
    world.advance(timedelta(days=1, minutes=1))
    world.sim.control.say("smallpic", as_="bob")
    later = world.answers(psid, 5)
    assert message_of(later[4]) == {"text": world.media("small.png")}
    assert sorted(world.transport.heads) == ["big.jpg", "small.png", "small.png"]
