"""Who arrived, by which ref and which way (link, QR code, ad, comment, or directly).

One `arrivals` row per new contact's first event and per event that carries a
referral (a known contact can come back through another link or ad). `via` is
how, read from Facebook's referral: `ADS` (or an ad id) -> ad, `SHORTLINK` ->
link unless the ref carries our QR marker (engine/events.py QR_MARKER) -> qr,
a comment -> comment, no referral -> direct. A referral without a source (the
EU/EEA case: Facebook leaves `source` out) counts as a link, the only other way
a ref reaches us. `ref_missing` marks a new conversation that came without a ref:
Facebook drops refs for some EU users, and flows then run `on ref missing`; a
person who simply wrote to the Page counts there too, as Facebook cannot tell
the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, String, Table, func, select
from sqlalchemy.orm import Session

from pageflows.engine.events import (
    CommentIn,
    InboundEvent,
    MessageIn,
    OptinIn,
    PostbackIn,
    Referral,
    ReferralIn,
)
from pageflows.service.storage.bulk import insert_rows
from pageflows.service.storage.models import Arrival

VIAS = ("link", "qr", "ad", "comment", "direct")
# A ref or source longer than its column (a forged webhook, a link made elsewhere) is
# kept cut, as the contact's own copy is (contact_search.py): the event still runs on the
# whole ref; refused by the database it failed at every try and was parked.
_REF_LIMIT = cast(String, Arrival.__table__.c.ref.type).length
_SOURCE_LIMIT = cast(String, Arrival.__table__.c.source.type).length
# What a contact does that may be its first contact with the Page (not our own timers).
CONTACT_EVENTS = (MessageIn, PostbackIn, ReferralIn, CommentIn, OptinIn)


def via_of(referral: Referral) -> str:
    if referral.scanned or referral.source == "MESSENGER_CODE":
        return "qr"
    if referral.source == "ADS" or referral.ad_id:
        return "ad"
    return "link"


def record(session: Session, page_id: str, event: InboundEvent, is_new: bool) -> Arrival | None:
    """Add the arrival this event makes, if any, at Facebook's time for the event; called
    while the event is decided, in its transaction (worker.py `decide`)."""
    if not isinstance(event, CONTACT_EVENTS):
        return None
    referral: Referral | None = getattr(event, "referral", None)
    if referral is None and not is_new:
        return None
    if referral is not None:
        via, ref = via_of(referral), referral.ref
    else:
        via, ref = ("comment" if isinstance(event, CommentIn) else "direct"), None
    source = referral.source if referral else None
    values = {
        "page_id": page_id,
        "psid": event.contact_id,
        "ref": None if ref is None else ref[:_REF_LIMIT],
        "source": None if source is None else source[:_SOURCE_LIMIT],
        "via": via,
        "ref_missing": is_new and not ref and via != "comment",
        "at": event.timestamp,
    }
    deferred: list[dict[str, Any]] | None = session.info.get(DEFERRED)
    if deferred is not None:  # a worker's batch: written at its end (`write_deferred`)
        deferred.append(values)
        return None
    arrival = Arrival(**values)
    session.add(arrival)
    return arrival


# issue 13: a worker's batch of inbox events keeps its arrivals as values and inserts them
# in one statement at its end (`write_deferred`), where an ORM object each cost its
# construction and its part of the flush. Set by the batch (worker.py `decide_batch`).
DEFERRED = "pageflows.arrival_rows"
_COLUMNS = ("page_id", "psid", "ref", "source", "via", "ref_missing", "at")


def write_deferred(session: Session) -> None:
    """The batch's arrivals deferred so far, in one statement, in the order recorded."""
    rows: list[dict[str, Any]] = session.info.get(DEFERRED) or []
    if rows:
        table = cast(Table, Arrival.__table__)
        insert_rows(session, table, _COLUMNS, [tuple(row[c] for c in _COLUMNS) for row in rows])
        rows.clear()


@dataclass(frozen=True)
class RefArrivals:
    page_id: str
    ref: str
    by_via: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_via.values())

    def as_json(self) -> dict[str, Any]:
        return {"page": self.page_id, "ref": self.ref, "total": self.total, **self.by_via}


@dataclass(frozen=True)
class PageArrivals:
    page_id: str
    refs: list[RefArrivals]
    without_ref: dict[str, int]  # arrivals with no ref, by via
    ref_missing: int  # new conversations that started without a ref

    def ref(self, ref: str) -> RefArrivals:
        found = next((r for r in self.refs if r.ref == ref), None)
        return found or RefArrivals(self.page_id, ref, dict.fromkeys(VIAS, 0))

    def as_json(self) -> dict[str, Any]:
        return {
            "page": self.page_id,
            "refs": [r.as_json() for r in self.refs],
            "without_ref": self.without_ref,
            "ref_missing": self.ref_missing,
        }


def counts(
    engine: Engine, page_id: str, since: datetime | None = None, until: datetime | None = None
) -> PageArrivals:
    """Arrivals per ref and via, and the ref-missing count, in two grouped queries."""
    where = [Arrival.page_id == page_id]
    if since is not None:
        where.append(Arrival.at >= since)
    if until is not None:
        where.append(Arrival.at < until)
    with Session(engine) as session:
        grouped = session.execute(
            select(Arrival.ref, Arrival.via, func.count())
            .where(*where)
            .group_by(Arrival.ref, Arrival.via)
        ).all()
        missing = session.scalar(select(func.count()).where(*where, Arrival.ref_missing.is_(True)))
    per_ref: dict[str, dict[str, int]] = {}
    without: dict[str, int] = dict.fromkeys(VIAS, 0)
    for ref, via, count in grouped:
        target = without if ref is None else per_ref.setdefault(ref, dict.fromkeys(VIAS, 0))
        target[via] = target.get(via, 0) + int(count)
    refs = [RefArrivals(page_id, ref, by_via) for ref, by_via in sorted(per_ref.items())]
    return PageArrivals(page_id, refs, without, int(missing or 0))
