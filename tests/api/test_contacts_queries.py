"""Contact lists at scale, on SQLite and PostgreSQL: keyset pages, filters, indexes.

Contacts are inserted directly here (the real path, webhooks through the
worker, is in test_conversations_api.py): 100,000 of them for the index test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, text
from sqlalchemy.orm import Session

from pageflows.service.conversations import (
    ContactFilter,
    QueryError,
    conversation,
    list_contacts,
)
from pageflows.service.storage.contact_search import name_key
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import Contact, ContactField, ContactTag

PAGE = "104123456789012"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def contact_row(psid: str, last: datetime | None, first: str = "Ana", surname: str = "Silva",
                tags: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:  # fmt: skip
    state = {"id": psid, "first_name": first, "last_name": surname, "tags": list(tags),
             "last_user_message_at": last.isoformat() if last else None}  # fmt: skip
    return {
        "page_id": PAGE, "psid": psid, "state": state, "last_user_message_at": last,
        "updated_at": NOW, "first_name": first, "last_name": surname,
        "first_key": name_key(first), "last_key": name_key(surname), **extra,
    }  # fmt: skip


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def walk(engine: Engine, filters: ContactFilter | None = None, limit: int = 7) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(1000):
        page = list_contacts(
            engine, PAGE, NOW, filters or ContactFilter(), limit=limit, after=after
        )
        assert len(page.items) <= limit
        seen += [item["psid"] for item in page.items]
        if page.next is None:
            return seen
        after = page.next
    raise AssertionError("the pages never ended")


def test_walking_every_page_yields_each_contact_once_in_order_with_ties(engine: Engine) -> None:
    rows = []
    for n in range(60):
        # Groups of 6 share a last-message time; 8 contacts never wrote.
        last = None if n >= 52 else NOW - timedelta(minutes=n // 6)
        rows.append(contact_row(f"p{n:03d}", last))
    with Session(engine) as session, session.begin():
        session.execute(insert(Contact), rows)
    expected = sorted(
        (r for r in rows if r["last_user_message_at"] is not None),
        key=lambda r: (r["last_user_message_at"], r["psid"]),
        reverse=True,
    ) + sorted((r for r in rows if r["last_user_message_at"] is None),
               key=lambda r: r["psid"], reverse=True)  # fmt: skip
    for limit in (1, 5, 6, 7, 52, 200):
        assert walk(engine, limit=limit) == [r["psid"] for r in expected], limit


def test_filters_by_name_prefix_tag_field_ref_and_window(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            insert(Contact),
            [
                contact_row("a1", NOW - timedelta(hours=2), "Élodie", "Martin", ref="summer",
                            ref_source="SHORTLINK"),
                contact_row("a2", NOW - timedelta(hours=30), "elo", "Durand"),
                contact_row("a3", NOW - timedelta(days=8), "Marta", "Eloy"),
                contact_row("a4", None, "Bob", "Stone", ref="summer", ref_source="QR"),
            ],
        )  # fmt: skip
        session.execute(insert(ContactTag), [{"page_id": PAGE, "psid": "a2", "tag": "vip"}])
        session.execute(
            insert(ContactField),
            [{"page_id": PAGE, "psid": "a3", "name": "city", "value": "Lisbon"}],
        )

    def psids(**kwargs: Any) -> list[str]:
        return walk(engine, ContactFilter(**kwargs))

    assert psids(q="ELO") == ["a1", "a2", "a3"]  # first or last name, no case, no accents
    assert psids(q="élodie mar") == ["a1"]  # every word starts a name
    assert psids(q="lodie") == []  # a prefix, not a substring
    assert psids(q="a4") == ["a4"]  # an exact PSID
    assert psids(tag="vip") == ["a2"]
    assert psids(field="city=Lisbon") == ["a3"]
    assert psids(ref="summer") == ["a1", "a4"]
    assert psids(ref="summer", source="QR") == ["a4"]
    assert psids(window="open") == ["a1"]
    assert psids(window="human_agent") == ["a2"]
    assert psids(window="closed") == ["a3", "a4"]
    items = list_contacts(engine, PAGE, NOW, ContactFilter(q="marta")).items
    assert items[0]["window"] == {"state": "closed", "open_until": None, "human_agent_until": None}
    (two,) = list_contacts(engine, PAGE, NOW, ContactFilter(tag="vip")).items
    assert two["window"]["state"] == "human_agent"
    assert two["window"]["human_agent_until"] == (NOW + timedelta(days=7, hours=-30)).isoformat()


def test_on_a_page_with_the_ad_window_an_ad_message_keeps_the_window_open(
    engine: Engine,
) -> None:
    """The list's window filter agrees with each item's window, ad window included."""
    rows = []
    for n in range(450):  # more than one chunk of the filter's read-ahead
        last = NOW - timedelta(days=3, minutes=n)
        extra = {"ad_message_at": last.isoformat()} if n % 3 == 0 else {}
        row = contact_row(f"ad{n:03d}", last)
        row["state"] = {**row["state"], **extra}
        rows.append(row)
    with Session(engine) as session, session.begin():
        session.execute(insert(Contact), rows)
    ad = [r["psid"] for r in rows if "ad_message_at" in r["state"]]
    plain = [r["psid"] for r in rows if "ad_message_at" not in r["state"]]

    def states(psids: list[str]) -> set[str]:
        items = list_contacts(engine, PAGE, NOW, ContactFilter(q=psids[0]), ad_window=True).items
        return {i["window"]["state"] for i in items}

    for window, expected in (("open", ad), ("human_agent", plain)):
        found: list[str] = []
        after = None
        while True:
            page = list_contacts(
                engine, PAGE, NOW, ContactFilter(window=window), limit=40, after=after,
                ad_window=True,
            )  # fmt: skip
            assert {i["window"]["state"] for i in page.items} <= {window}
            found += [i["psid"] for i in page.items]
            if page.next is None:
                break
            after = page.next
        assert found == expected, window
    assert states(ad) == {"open"} and states(plain) == {"human_agent"}
    # Without the page's ad window, every one of them is in the human agent window.
    assert walk(engine, ContactFilter(window="open")) == []


def test_bad_cursor_limit_window_and_field_are_refused_with_what_is_allowed(
    engine: Engine,
) -> None:
    for call, words in (
        (lambda: list_contacts(engine, PAGE, NOW, after="not-a-cursor"), "cursor"),
        (lambda: list_contacts(engine, PAGE, NOW, limit=0), "1 to 200"),
        (lambda: list_contacts(engine, PAGE, NOW, limit=201), "1 to 200"),
        (lambda: list_contacts(engine, PAGE, NOW, ContactFilter(window="soon")), "open"),
        (lambda: list_contacts(engine, PAGE, NOW, ContactFilter(field="city")), "name=value"),
        (lambda: conversation(engine, PAGE, "x", before="e30"), "cursor"),
    ):
        with pytest.raises(QueryError, match=words):
            call()


def plan(engine: Engine, **kwargs: Any) -> str:
    """The plan of the query list_contacts runs, caught as it runs and explained."""
    seen: list[tuple[str, Any]] = []

    def catch(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM contacts" in statement and "LIMIT" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", catch)
    try:
        list_contacts(engine, PAGE, NOW, **kwargs)
    finally:
        event.remove(engine, "before_cursor_execute", catch)
    statement, parameters = seen[0]
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(explain + statement, parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_list_and_search_use_an_index_at_100000_contacts(engine: Engine) -> None:
    batch = []
    with Session(engine) as session, session.begin():
        for n in range(100_000):
            last = None if n % 50 == 0 else NOW - timedelta(seconds=n * 7)
            batch.append(contact_row(f"{n:08d}", last, f"Name{n % 997}", f"Family{n % 331}"))
            if len(batch) == 5000:
                session.execute(insert(Contact), batch)
                batch = []
        session.execute(
            insert(ContactTag),
            [{"page_id": PAGE, "psid": f"{n:08d}", "tag": "vip"} for n in range(0, 100_000, 97)]
            + [{"page_id": PAGE, "psid": f"{n:08d}", "tag": "customer"}
               for n in range(1, 100_000, 2)],
        )  # fmt: skip
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    second_page = list_contacts(engine, PAGE, NOW, limit=50).next
    for kwargs in (
        {},
        {"after": second_page},
        {"filters": ContactFilter(q="name12")},
        {"filters": ContactFilter(q="family3 name1")},
        {"filters": ContactFilter(tag="vip")},  # few: from the tag's index
        {"filters": ContactFilter(tag="customer")},  # many: the newest, each checked
        {"filters": ContactFilter(window="open")},
    ):
        shown = plan(engine, **kwargs)
        if engine.dialect.name == "sqlite":
            scans = [line for line in shown.splitlines() if re.match(r"SCAN contacts\b", line)]
            assert scans == [] or all("USING" in s and "INDEX" in s for s in scans), shown
            assert "INDEX" in shown, (kwargs, shown)
        else:
            assert "Seq Scan on contacts" not in shown, (kwargs, shown)
            assert "Index" in shown, (kwargs, shown)
