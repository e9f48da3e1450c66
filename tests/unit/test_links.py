"""m.me links and QR codes of refs: Facebook's ref rules kept, sizes checked."""

from __future__ import annotations

import io
from datetime import date

import pytest
import zxingcpp
from PIL import Image

from pageflows.engine.policy import RULES, check_tag
from pageflows.rules.compile import Program
from pageflows.rules.load import load_texts
from pageflows.service import links
from pageflows.service.config import PageConfig

FLOWS = """\
on ref "a+b/c=d":
    send "odd but allowed"

on ref "spring" from ads:
    send "ad"

on ref "spring" from qr:
    send "scan"

on ref "camp_*":
    send "campaign"

on ref missing:
    send "hi"
"""


def program() -> Program:
    texts = {"f/main.flow": FLOWS.encode()}
    result = load_texts(texts, date(2026, 11, 28), check_tag, (), RULES.token_regions)
    assert result.program is not None
    return result.program


def test_each_ref_once_with_the_ways_its_triggers_take() -> None:
    found = {r.ref: r for r in links.flow_refs(program())}
    assert list(found) == ["a+b/c=d", "spring", "camp_*"]
    assert found["spring"].sources == ("ads", "qr")
    assert found["a+b/c=d"].sources == () and found["a+b/c=d"].where == "f/main.flow:1"
    assert found["camp_*"].is_pattern


def test_a_plus_is_escaped_so_the_ref_arrives_as_written() -> None:
    link = links.mme_link("shop", "a+b/c=d")
    assert link == "https://m.me/shop?ref=a%2Bb/c=d"
    image = links.qr_image(links.mme_link("shop", "a+b/c=d", qr=True), "png", 200)
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image)))
    assert decoded.text == "https://m.me/shop?ref=a%2Bb/c=d::qr"


def test_a_qr_ref_stays_within_facebooks_250_characters() -> None:
    assert links.mme_link("shop", "r" * 246, qr=True).endswith("r::qr")
    with pytest.raises(links.LinkError, match="at most 250"):
        links.mme_link("shop", "r" * 247, qr=True)
    rows = links.link_rows(PageConfig(id="1", token="", username="shop"), program())
    assert [r["link"] is None for r in rows] == [False, False, True]


@pytest.mark.parametrize("size", [0, 63, 4097])
def test_sizes_out_of_range_are_refused(size: int) -> None:
    with pytest.raises(links.LinkError, match="64 to 4096"):
        links.qr_image("https://m.me/shop?ref=x", "png", size)


def test_no_username_says_how_to_set_it() -> None:
    with pytest.raises(links.LinkError, match="PAGEFLOWS_PAGE_USERNAME"):
        links.username_of(PageConfig(id="1", token=""))
