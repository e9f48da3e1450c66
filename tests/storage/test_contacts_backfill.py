"""Migration 0006 fills the searchable columns of contacts saved before 0005, from their state.

Without it, a contact who has been quiet since the upgrade would never be found
by name, tag, field or ref.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from pageflows.service.conversations import ContactFilter, list_contacts
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import Contact, ContactField, ContactTag, InboxEvent

PAGE = "104123456789012"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_contacts_from_before_0005_are_searchable_after_0006(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0005")
    last = NOW - timedelta(hours=3)
    states = [
        {
            "id": f"old{n}",
            "first_name": "José" if n == 1 else f"Old{n}",
            "last_name": "Pérez",
            "tags": ["vip"] if n % 2 else [],
            "fields": {"city": "Porto"} if n == 1 else {},
            "ref": "summer" if n == 1 else None,
            "ref_source": "SHORTLINK" if n == 1 else None,
            "first_seen_at": (NOW - timedelta(days=30)).isoformat(),
            "last_user_message_at": last.isoformat(),
        }
        for n in range(2500)  # more than one batch
    ]
    with engine.begin() as connection:
        connection.execute(
            insert(Contact.__table__).values(),  # type: ignore[arg-type]
            [
                {"page_id": PAGE, "psid": s["id"], "state": s, "last_user_message_at": last,
                 "updated_at": NOW}
                for s in states
            ],
        )  # fmt: skip
        connection.execute(
            insert(InboxEvent.__table__).values(),  # type: ignore[arg-type]
            [
                {"page_id": PAGE, "contact_id": "old1", "kind": "message", "dedup_key": key,
                 "received_at": NOW, "occurred_at": NOW, "status": "done",
                 "payload": {"kind": "message", "text": text}, "attempts": 0}
                for key, text in (("m1", "first words"), ("m2", "where is my order?"))
            ],
        )  # fmt: skip
    upgrade(engine)
    with Session(engine) as session:
        one = session.get(Contact, (PAGE, "old1"))
        assert one is not None
        assert (one.first_name, one.last_name, one.first_key) == ("José", "Pérez", "jose")
        assert (one.ref, one.ref_source) == ("summer", "SHORTLINK")
        assert one.first_seen_at == NOW - timedelta(days=30)
        assert one.last_message == "where is my order?"
        tags = session.scalars(select(ContactTag.psid).where(ContactTag.tag == "vip")).all()
        assert len(tags) == 1250
        (field,) = session.scalars(select(ContactField)).all()
        assert (field.psid, field.name, field.value) == ("old1", "city", "Porto")
        keys = session.scalars(select(Contact.first_key)).all()
        assert None not in keys and len(keys) == 2500
    found = list_contacts(engine, PAGE, NOW, ContactFilter(q="JOSE perez")).items
    assert [c["psid"] for c in found] == ["old1"]
    assert found[0]["tags"] == ["vip"] and found[0]["fields"] == {"city": "Porto"}
    engine.dispose()
