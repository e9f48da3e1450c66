"""Per flow step: how many of its messages were sent, delivered, read, clicked, replied to.

A "step" is where a message is written in the flows: a trigger's block
(`on keyword "hi"`), a named step (`step ask_email`) or a broadcast; everything
nested in it (`after`, `if`, `split`) counts for it. Each outbound row carries
`origin`, the file:line:col of the action that made it, which places it.

Definitions (docs/operators.md, "Growth, statistics and status", says the same):
- sent: rows Facebook accepted (`sent_at` set); delivered / read: of those, the
  ones a delivery / read watermark reached (status delivered or read);
- failed / skipped: rows Facebook refused / we did not send, with reasons elsewhere;
- clicked: taps on the message's quick replies or postback buttons (each tap;
  their payloads name the message, engine/render.py `payload`);
- replied: sent messages after which the contact wrote (a message that is not a
  quick-reply tap) before we sent them anything else.
Counts come from grouped queries; only the distinct tap payloads are read in Python.
Messages a person typed (source `agent`) are not a flow's and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from pageflows.engine import addresses, render
from pageflows.rules import model as m
from pageflows.rules.compile import Program
from pageflows.service.storage.models import InboxEvent, OutboxMessage

COUNTS = ("sent", "delivered", "read", "clicked", "replied", "failed", "skipped")
TAP_PARTS = ("quick", "button", "card")


@dataclass(frozen=True)
class Place:
    flow: str
    step: str  # `on keyword "hi"`, `step ask_email`, `broadcast spring`
    root: str


@dataclass
class Row:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))

    def add(self, other: dict[str, int]) -> None:
        for name, value in other.items():
            self.counts[name] += value


def trigger_label(trigger: m.Trigger) -> str:
    words = "on " + trigger.kind.replace("_", " ")
    for name in ("ref", "payload", "topic", "pattern", "post_id"):
        value = getattr(trigger, name, None)
        if isinstance(value, str):
            return f'{words} "{value}"'
    phrases = getattr(trigger, "phrases", None)
    if phrases:
        return words + " " + ", ".join(f'"{p}"' for p in phrases)
    return words


def places(program: Program) -> dict[str, Place]:
    """file:line:col of every action in the flows -> the step it is written in."""
    found: dict[str, Place] = {}
    for flow in program.flows.values():
        units: list[tuple[Place, tuple[m.Action, ...]]] = []
        for i, block in enumerate(flow.triggers):
            label = trigger_label(block.trigger)
            units.append((Place(flow.name, label, f"{flow.name}:on:{i}"), block.body))
        for step in flow.steps:
            root = addresses.step_root(flow.name, step.name)
            units.append((Place(flow.name, f"step {step.name}", root), step.body))
        for broadcast in flow.broadcasts:
            root = addresses.broadcast_root(flow.name, broadcast.name)
            units.append((Place(flow.name, f"broadcast {broadcast.name}", root), broadcast.body))
        for place, body in units:
            for action in body:
                _walk(action, place, found)
    return found


def _walk(node: Any, place: Place, found: dict[str, Place]) -> None:
    if isinstance(node, tuple | list):
        for item in node:
            _walk(item, place, found)
        return
    if not isinstance(node, BaseModel):
        return
    if isinstance(node, m.Node):
        found.setdefault(site(str(node.span)), place)
    for name in type(node).model_fields:
        if name != "span":
            _walk(getattr(node, name), place, found)


def tapped_origin(program: Program, payload: str) -> str | None:
    """The origin of the message whose quick reply or button carried `payload`."""
    address = render.parse_payload(payload)
    if address is None:
        return None
    root, path = address
    cut = next((i for i, part in enumerate(path) if part in TAP_PARTS), None)
    resolved = addresses.resolve(program, root)
    if cut is None or resolved is None:
        return None
    try:
        node = addresses.node_at(resolved[1], path[:cut])
    except LookupError:
        return None
    return site(str(node.span)) if isinstance(node, m.Node) else None


@dataclass(frozen=True)
class Period:
    """Messages decided, and taps made, from `since` (included) to `until` (excluded)."""

    since: datetime | None = None
    until: datetime | None = None

    def where(self, column: Any) -> list[Any]:
        bounds = []
        if self.since is not None:
            bounds.append(column >= self.since)
        if self.until is not None:
            bounds.append(column < self.until)
        return bounds


def _message_counts(
    session: Session, page_id: str, period: Period
) -> dict[str, tuple[str, dict[str, int]]]:
    """origin -> (a preview, counts other than clicks), in one grouped query."""
    o = OutboxMessage
    later = aliased(OutboxMessage)
    next_sent = (
        select(func.min(later.sent_at))
        .where(
            later.page_id == o.page_id,
            later.contact_id == o.contact_id,
            later.kind == "message",
            later.sent_at > o.sent_at,
        )
        .correlate_except(later)  # the outer row, through the `exists` it sits in
        .scalar_subquery()
    )
    wrote = (
        exists()
        .where(
            InboxEvent.page_id == o.page_id,
            InboxEvent.contact_id == o.contact_id,
            InboxEvent.kind == "message",
            InboxEvent.payload["quick_reply"].as_string().is_(None),
            InboxEvent.occurred_at > o.sent_at,
            or_(next_sent.is_(None), InboxEvent.occurred_at < next_sent),
        )
        .correlate_except(InboxEvent)
    )
    sent = o.sent_at.is_not(None)

    def total(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    rows = session.execute(
        select(
            o.origin,
            func.max(o.preview),
            total(sent),
            total(o.status.in_(("delivered", "read"))),
            total(o.status == "read"),
            total(and_(sent, wrote)),
            total(o.status == "failed"),
            total(o.status == "skipped"),
        )
        .where(
            o.page_id == page_id,
            *period.where(o.created_at),
            o.kind == "message",
            o.origin.is_not(None),
            or_(o.source.is_(None), o.source != "agent"),
        )
        .group_by(o.origin)
    ).all()
    out: dict[str, tuple[str, dict[str, int]]] = {}
    names = ("sent", "delivered", "read", "replied", "failed", "skipped")
    for origin, preview, *numbers in rows:
        counts = {n: int(v or 0) for n, v in zip(names, numbers, strict=True)}
        key = site(str(origin))
        if key in out:  # the same place, loaded through another spelling of the folder
            out[key][1].update({n: out[key][1][n] + counts[n] for n in names})
        else:
            out[key] = (str(preview or ""), counts)
    return out


def _taps(session: Session, page_id: str, period: Period) -> list[tuple[str, int]]:
    """Each distinct payload of ours tapped (quick reply or button) and how often."""
    quick = InboxEvent.payload["quick_reply"].as_string()
    button = InboxEvent.payload["payload"].as_string()
    tapped = (
        select(
            case((InboxEvent.kind == "message", quick), else_=button).label("tap"),
        )
        .where(
            InboxEvent.page_id == page_id,
            InboxEvent.kind.in_(("message", "postback")),
            *period.where(InboxEvent.occurred_at),
        )
        .subquery()
    )
    rows = session.execute(
        select(tapped.c.tap, func.count())
        .where(tapped.c.tap.like(render.PAYLOAD_PREFIX + "%"))
        .group_by(tapped.c.tap)
    ).all()
    return [(str(tap), int(count)) for tap, count in rows]


def step_stats(
    engine: Engine,
    page_id: str,
    program: Program,
    flow: str | None = None,
    period: Period | None = None,
) -> dict[str, Any]:
    """The page's numbers per step (and per message in it), optionally for one flow and a
    period (messages decided in it; their deliveries, reads and replies whenever they came)."""
    period = period or Period()
    where = places(program)
    with Session(engine) as session:
        messages = _message_counts(session, page_id, period)
        taps = _taps(session, page_id, period)
    for payload, count in taps:
        origin = tapped_origin(program, payload)
        if origin is None:
            continue
        preview, counts = messages.setdefault(origin, ("", dict.fromkeys(COUNTS, 0)))
        counts["clicked"] = counts.get("clicked", 0) + count
    steps: dict[Place, dict[str, Any]] = {}
    elsewhere = []
    for origin, (preview, counts) in sorted(messages.items(), key=lambda kv: _position(kv[0])):
        full = {name: counts.get(name, 0) for name in COUNTS}
        message = {"origin": origin, "preview": preview[:80], **full}
        place = where.get(origin)
        if place is None:
            if flow is None:
                elsewhere.append(message)
            continue
        if flow is not None and place.flow != flow:
            continue
        step = steps.setdefault(
            place,
            {"flow": place.flow, "step": place.step, "root": place.root, "messages": []},
        )
        step["messages"].append(message)
    out = []
    for step in steps.values():
        totals = Row()
        for message in step["messages"]:
            totals.add({name: message[name] for name in COUNTS})
        out.append({**{k: step[k] for k in ("flow", "step", "root")}, **totals.counts,
                    "messages": step["messages"]})  # fmt: skip
    return {
        "page": page_id,
        "flow": flow,
        "since": period.since.isoformat() if period.since else None,
        "until": period.until.isoformat() if period.until else None,
        "steps": out,
        "not_in_flows": elsewhere,
    }


def site(origin: str) -> str:
    """`flow:line:col` of an origin `path/to/flow.flow:line:col`: the worker and this report
    may load the same flows through different spellings of their folder, and a flow's
    name (its file's stem) is unique in a program."""
    path, _, col = origin.rpartition(":")
    path, _, line = path.rpartition(":")
    if not (line.isdigit() and col.isdigit()):
        return origin
    return f"{PurePath(path).stem}:{line}:{col}"


def _position(origin: str) -> tuple[str, int, int]:
    name, _, col = origin.rpartition(":")
    name, _, line = name.rpartition(":")
    if not (line.isdigit() and col.isdigit()):
        return (origin, 0, 0)
    return (name, int(line), int(col))
