"""X-Hub-Signature-256 and the GET handshake."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pageflows.webhook.verify import signature_is_valid, verify_handshake

SECRET = "app-secret-123"
BODY = (Path(__file__).parent / "samples" / "wh_text_message.json").read_bytes()
HEX = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()


def test_valid_signature() -> None:
    assert signature_is_valid(SECRET, BODY, f"sha256={HEX}")
    assert signature_is_valid(SECRET, BODY, f"sha256={HEX.upper()}")
    assert signature_is_valid(SECRET, BODY, f"SHA256={HEX} ")


@given(
    secret=st.text(min_size=1, max_size=200) | st.sampled_from(["s" * 64, "s" * 65, "é" * 40]),
    body=st.binary(max_size=3000),
)
def test_the_signature_is_hmac_sha256_for_any_secret_and_body(secret: str, body: bytes) -> None:
    """The keyed HMAC made once per secret, copied per body, gives what `hmac.new` gives, for
    secrets shorter and longer than SHA-256's block (a longer key is hashed first), any body."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert signature_is_valid(secret, body, f"sha256={expected}")
    assert signature_is_valid(secret, body, f"sha256={expected}")  # the keyed one is not spent
    wrong = hmac.new(secret.encode() + b"x", body, hashlib.sha256).hexdigest()
    assert not signature_is_valid(secret, body, f"sha256={wrong}")
    assert not signature_is_valid(secret, body + b"x", f"sha256={expected}")


def test_signature_is_over_the_raw_bytes() -> None:
    # Same JSON, different bytes (Facebook escapes unicode and `/`): must not validate.
    respaced = BODY.replace(b",", b", ")
    assert not signature_is_valid(SECRET, respaced, f"sha256={HEX}")
    assert not signature_is_valid("other-secret", BODY, f"sha256={HEX}")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        HEX,
        f"sha1={HEX}",
        f"sha256:{HEX}",
        "sha256=",
        f"sha256={HEX[:-1]}",
        f"sha256={HEX}00",
        f"sha256={HEX[:-1]}g",
        f"sha256={HEX[:-2]}é",
        "sha256=" + "0" * 64,
        "garbage",
    ],
)
def test_invalid_missing_or_garbled(header: str | None) -> None:
    assert not signature_is_valid(SECRET, BODY, header)


def test_an_empty_secret_never_validates() -> None:
    empty = hmac.new(b"", BODY, hashlib.sha256).hexdigest()
    assert not signature_is_valid("", BODY, f"sha256={empty}")


def test_handshake() -> None:
    args = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert verify_handshake(args, "tok") == "1158201444"
    assert verify_handshake(args, "other") is None
    assert verify_handshake(args, "") is None
    assert verify_handshake({**args, "hub.mode": "unsubscribe"}, "tok") is None
    assert verify_handshake({"hub.mode": "subscribe", "hub.verify_token": "tok"}, "tok") is None
    assert verify_handshake({**args, "hub.verify_token": "tökén"}, "tok") is None
