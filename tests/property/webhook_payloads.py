"""Hypothesis strategies for webhook POSTs: Facebook's shapes, broken as the world breaks them.

Bases are the samples in tests/webhook/samples (copies of Facebook's) and the
documented shapes without a sender or a time. Each example may be given fresh
ids (so the worker meets a new event, not a redelivery), then mutated: values
turned into NUL, lone surrogates, huge or negative integers, long strings,
wrong types or arbitrary JSON; keys deleted or renamed; milliseconds turned
into seconds; items duplicated. It is sent as compact JSON, as raw UTF-8 with
unpaired surrogates (not UTF-8 at all), or cut short; signed with the app
secret, unsigned, or signed wrongly.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hypothesis import strategies as st

SAMPLES = Path(__file__).resolve().parents[1] / "webhook" / "samples"
PAGE = "104123456789012"
PSID = "6543210987654321"
T0_MS = 1767225600000

Signing = Literal["valid", "none", "wrong"]
# A counter, not a draw, applied when the body is encoded (after Hypothesis has
# drawn everything): Hypothesis repeats small integers, and a repeated id is a
# redelivery, which the worker never sees.
_NONCES = itertools.count(1)
Form = Literal["json", "raw_utf8", "cut"]


def _documented_without_sender_or_time() -> list[dict[str, Any]]:
    """Facebook's items that have no sender (or no time), an unsent message, and a template's
    status change (no sender either: the worker stores it, nothing is answered)."""
    items = [
        {"recipient": {"id": PAGE}, "timestamp": T0_MS,
         "app_roles": {"987654321098765": ["primary_receiver"]}},
        {"recipient": {"id": PAGE}, "timestamp": T0_MS,
         "policy_enforcement": {"action": "block", "reason": "spam"}},
        {"recipient": {"id": PAGE}, "timestamp": T0_MS,
         "policy-enforcement": {"action": "unblock"}},
        {"recipient": {"id": PAGE}, "timestamp": T0_MS,
         "optin": {"ref": "cart", "user_ref": "shop-user-8842"}},
        {"sender": {"user_ref": "guest-1"}, "recipient": {"id": PAGE}, "timestamp": T0_MS,
         "message": {"mid": "m_guest", "text": "hi"}},
        {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": T0_MS // 1000,
         "message": {"mid": "m_gone", "is_deleted": True}},
    ]  # fmt: skip
    bodies = [{"object": "page", "entry": [{"id": PAGE, "messaging": [item]}]} for item in items]
    feed = {"field": "feed", "value": {"item": "post", "verb": "add", "post_id": f"{PAGE}_1"}}
    bodies.append({"object": "page", "entry": [{"id": PAGE, "changes": [feed]}]})
    # policy.md §2a; webhooks.md lists the field
    status = {
        "field": "message_template_status_update",
        "value": {
            "event": "PAUSED",
            "message_template_id": 880012345,
            "message_template_name": "order_shipped",
            "message_template_language": "en_US",
            "reason": "NONE",
        },
    }
    bodies.append({"object": "page", "entry": [{"id": PAGE, "time": T0_MS, "changes": [status]}]})
    return bodies


BASES: list[dict[str, Any]] = [
    json.loads(path.read_text("utf-8")) for path in sorted(SAMPLES.glob("wh_*.json"))
] + _documented_without_sender_or_time()

NASTY_TEXT = st.sampled_from(
    ["\x00", "pri\x00ce", "\ud800", "a\udfffb", "\ud83d\ude00", "", " ", "\u2028", "price"]
) | st.text(st.characters(codec=None), max_size=12)
LONG_TEXT = st.sampled_from(["m_" + "a" * 600, "1" * 65, "7" * 129, "x" * 20_000]) | st.integers(
    60, 700
).map(lambda n: "9" * n)
NUMBERS = st.sampled_from(
    [10**30, 2**63, 2**63 - 1, -(2**63) - 1, 10**100, -1, 0, 10**11 - 1, 10**11, 32503680000000]
) | st.integers(min_value=-(2**70), max_value=2**70)
WRONG = (
    st.none()
    | st.booleans()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.just([])
    | st.just({})
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | NASTY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NASTY_TEXT, inner, max_size=3),
    max_leaves=8,
)
VALUES = NASTY_TEXT | LONG_TEXT | NUMBERS | WRONG | JSON_VALUES


@dataclass(frozen=True)
class Post:
    body: Any
    fresh: bool
    form: Form
    cut_at: float
    signing: Signing

    def encode(self) -> bytes:
        """The bytes to send: compact JSON, raw UTF-8 with any lone surrogate, or cut short."""
        body = copy.deepcopy(self.body)
        if self.fresh:
            _freshen(body, next(_NONCES))
        if self.form == "raw_utf8":
            return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
        raw = json.dumps(body, separators=(",", ":")).encode()
        return raw[: int(len(raw) * self.cut_at)] if self.form == "cut" else raw


def _places(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _places(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _places(child, (*prefix, i))
    return found


def _parent(body: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        body = body[step]
    return body


def _walk_dicts(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value, *(d for child in value.values() for d in _walk_dicts(child))]
    if isinstance(value, list):
        return [d for child in value for d in _walk_dicts(child)]
    return []


def _freshen(body: Any, nonce: int) -> None:
    """New mids and times, so the example is a new event for the worker, not a redelivery."""
    for d in _walk_dicts(body):
        for key in ("mid", "comment_id"):
            if isinstance(d.get(key), str):
                d[key] = f"{d[key]}_{nonce}"
        for key in ("timestamp", "watermark", "time"):  # an entry's time keys a template status
            if isinstance(d.get(key), int) and not isinstance(d.get(key), bool):
                d[key] += nonce


def _to_seconds(body: Any) -> None:
    for d in _walk_dicts(body):
        for key in ("timestamp", "time", "watermark", "token_expiry_timestamp"):
            value = d.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 10**11:
                d[key] = value // 1000


# Where stored columns and the worker's reading come from: mutated more often.
TARGETS = frozenset(
    ["id", "time", "timestamp", "watermark", "created_time", "mid", "text", "payload",
     "comment_id", "post_id", "ref", "verb", "item", "field", "is_echo", "is_deleted",
     "event", "message_template_id", "message_template_name", "message_template_language"]
)  # fmt: skip


@st.composite
def mutated_body(draw: st.DrawFn) -> Any:
    body = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(0, 4))):
        places = _places(body)[1:]
        action = draw(
            st.sampled_from(["target", "target", "set", "delete", "rename", "seconds", "twice"])
        )
        if action == "seconds":
            _to_seconds(body)
            continue
        if action == "target":
            places = [p for p in places if p and p[-1] in TARGETS] or places
            action = "set"
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = _parent(body, path)
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(NASTY_TEXT | LONG_TEXT)] = parent.pop(path[-1])
        elif action == "twice" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        else:
            parent[path[-1]] = draw(VALUES)
    return body


@st.composite
def webhook_posts(draw: st.DrawFn) -> Post:
    return Post(
        body=draw(mutated_body()),
        fresh=draw(st.integers(0, 3)) > 0,  # three in four are new events, the rest redeliveries
        form=draw(st.sampled_from(["json", "json", "json", "raw_utf8", "cut"])),
        cut_at=draw(st.floats(0, 1, exclude_max=True)),
        signing=draw(st.sampled_from(["valid", "valid", "valid", "valid", "none", "wrong"])),
    )
