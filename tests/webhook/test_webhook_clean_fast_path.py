"""`load_json` skips its cleaning walk for bodies the walk could not change: whatever the
body, the answer is the walk's (same value, or the same refusal)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pageflows.webhook.clean import MAX_DEPTH, _clean, load_json
from pageflows.webhook.parse_kinds import Bad

TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\x00", "\ud800", "\udfff", "\ud83d", "\ude00", "😀", "ä", "\\", "u"]),
    ),
    max_size=12,
)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=40,
)


def walked(raw: bytes) -> Any:
    """What load_json answered before the fast path: always the walk."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise Bad("body is not JSON (or not UTF-8)") from None
    return _clean(value, 0)


def outcome(load: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "value", load(raw)
    except Bad as bad:
        return "refused", bad.reason


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": [value]}
    return value


@settings(max_examples=400, deadline=None)
@given(VALUES, st.booleans(), st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]))
def test_the_fast_path_answers_as_the_walk(value: Any, ascii: bool, encoding: str) -> None:
    raw = json.dumps(value, ensure_ascii=ascii).encode(encoding, "surrogatepass")
    assert outcome(load_json, raw) == outcome(walked, raw)


@given(st.integers(MAX_DEPTH // 2 - 2, MAX_DEPTH // 2 + 2), st.sampled_from(["\x00", "a"]))
def test_depth_and_nul_near_the_limits(depth: int, text: str) -> None:
    raw = json.dumps({"t": text, "v": nested(depth)}).encode()
    assert outcome(load_json, raw) == outcome(walked, raw)
