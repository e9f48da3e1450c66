"""The QR marker: a scan of our QR code reaches flows as the plain ref, from qr.

Webhook bodies in (as Facebook sends them), core events out: the marker is
taken off only at the end of a ref, and never leaves an empty ref.
"""

from __future__ import annotations

import json

import pytest

from pageflows.engine.events import QR_MARKER, PostbackIn, ReferralIn
from pageflows.engine.inbound import to_core
from pageflows.webhook.parse import Parsed, parse_body

PAGE = "104123456789012"


def referral_body(key: str, referral: dict[str, str]) -> bytes:
    item: dict[str, object] = {
        "sender": {"id": "psid-1"},
        "recipient": {"id": PAGE},
        "timestamp": 1764320000000,
    }
    if key == "postback":
        item["postback"] = {"title": "Get Started", "payload": "GET_STARTED", "referral": referral}
    else:
        item["referral"] = referral
    body = {"object": "page", "entry": [{"id": PAGE, "time": 1764320000000, "messaging": [item]}]}
    return json.dumps(body).encode()


@pytest.mark.parametrize("key", ["referral", "postback"])
@pytest.mark.parametrize(
    ("ref", "source", "seen_ref", "word"),
    [
        ("spring_sale::qr", "SHORTLINK", "spring_sale", "qr"),
        ("spring_sale::qr", None, "spring_sale", "qr"),  # the EU case: no source, still a scan
        ("spring_sale", "SHORTLINK", "spring_sale", "link"),
        ("spring_sale", "ADS", "spring_sale", "ads"),
        ("::qr", "SHORTLINK", "::qr", "link"),  # the marker alone is a ref, not a scan
        ("a::qr::qr", "SHORTLINK", "a::qr", "qr"),  # only one marker, at the end, comes off
        ("menu::qrs", "SHORTLINK", "menu::qrs", "link"),
    ],
)
def test_the_marker_comes_off_before_flows_see_the_ref(
    key: str, ref: str, source: str | None, seen_ref: str, word: str
) -> None:
    referral = {"ref": ref, "type": "OPEN_THREAD"}
    if source:
        referral["source"] = source
    parsed = parse_body(referral_body(key, referral))
    assert isinstance(parsed, Parsed)
    (event,) = parsed.events
    core = to_core(event)
    assert isinstance(core, ReferralIn | PostbackIn) and core.referral is not None
    assert core.referral.ref == seen_ref
    assert core.referral.source_word == word
    assert core.referral.scanned is (word == "qr")
    assert QR_MARKER == "::qr"
