"""Whatever arrives on the webhook, `parse_body` answers Parsed or Malformed, never raises.

A crash would be a 500, which Facebook retries and, after an hour, answers by
unsubscribing the app from the Page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pageflows.webhook.parse import Malformed, Parsed, parse_body

SAMPLES = sorted((Path(__file__).parent / "samples").glob("wh_*.json"))
BODIES = [json.loads(p.read_text()) for p in SAMPLES]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["page", "comment", "feed", "add", "notification_messages", "m_1"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def check(raw: bytes) -> None:
    result = parse_body(raw)
    assert isinstance(result, Parsed | Malformed)
    if isinstance(result, Malformed):
        assert result.reason
    else:
        for event in result.events:
            assert isinstance(event.dedup_key, str) and event.dedup_key
            event.model_dump(mode="json")


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(json_values)
def test_arbitrary_json(value: Any) -> None:
    check(json.dumps(value).encode())
    check(json.dumps({"object": "page", "entry": [value]}).encode())


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += paths(child, (*prefix, i))
    return found


@FUZZ
@given(st.data())
def test_mutated_samples(data: st.DataObject) -> None:
    body = json.loads(json.dumps(data.draw(st.sampled_from(BODIES))))
    for _ in range(data.draw(st.integers(1, 3))):
        places = paths(body)[1:]
        if not places:
            break
        path = data.draw(st.sampled_from(places))
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values)
    check(json.dumps(body).encode())
