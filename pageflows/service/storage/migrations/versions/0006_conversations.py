"""conversations: folded name keys for search; searchable columns of older contacts filled

Contacts saved before 0005 have empty searchable columns (names, ref, first
seen, tags, fields, last message): the worker fills them only when it saves the
contact again, which for a quiet contact may be never. This fills them from the
state (the truth) in batches of BATCH contacts, keyset on the primary key, so
memory stays flat at any size; the last message comes from the contact's latest
stored message. The folded name keys are new here and are filled for everyone.

Revision ID: 0006_conversations
Revises: 0005
Create Date: 2026-11-28 10:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from pageflows.service.storage.contact_search import (
    FIELD_VALUE_LIMIT,
    LAST_MESSAGE_LIMIT,
    NAME_LIMIT,
    TAG_LIMIT,
    name_key,
)
from pageflows.service.storage.models import SEARCH_KEY, UTCDateTime

revision = "0006_conversations"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 1000

contacts = sa.table(
    "contacts",
    sa.column("page_id", sa.String()),
    sa.column("psid", sa.String()),
    sa.column("state", sa.JSON()),
    sa.column("first_name", sa.String()),
    sa.column("last_name", sa.String()),
    sa.column("ref", sa.String()),
    sa.column("ref_source", sa.String()),
    sa.column("first_seen_at", UTCDateTime()),
    sa.column("last_message", sa.String()),
    sa.column("first_key", sa.String()),
    sa.column("last_key", sa.String()),
)
tags = sa.table(
    "contact_tags", sa.column("page_id", sa.String()), sa.column("psid", sa.String()),
    sa.column("tag", sa.String()),
)  # fmt: skip
fields = sa.table(
    "contact_fields", sa.column("page_id", sa.String()), sa.column("psid", sa.String()),
    sa.column("name", sa.String()), sa.column("value", sa.String()),
)  # fmt: skip
inbox = sa.table(
    "inbox", sa.column("id", sa.Integer()), sa.column("page_id", sa.String()),
    sa.column("contact_id", sa.String()), sa.column("kind", sa.String()),
    sa.column("payload", sa.JSON()),
)  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("contacts") as table:
        table.add_column(sa.Column("first_key", SEARCH_KEY, nullable=True))
        table.add_column(sa.Column("last_key", SEARCH_KEY, nullable=True))
    op.create_index("ix_contacts_first_key", "contacts", ["page_id", "first_key"])
    op.create_index("ix_contacts_last_key", "contacts", ["page_id", "last_key"])
    backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_contacts_last_key", "contacts")
    op.drop_index("ix_contacts_first_key", "contacts")
    with op.batch_alter_table("contacts") as table:
        table.drop_column("last_key")
        table.drop_column("first_key")


def backfill(connection: sa.Connection) -> None:
    """Every contact's searchable columns from its state, BATCH contacts at a time."""
    after: tuple[str, str] | None = None
    while True:
        query = sa.select(
            contacts.c.page_id, contacts.c.psid, contacts.c.state, contacts.c.first_seen_at,
            contacts.c.last_message,
        ).order_by(contacts.c.page_id, contacts.c.psid).limit(BATCH)  # fmt: skip
        if after is not None:
            query = query.where(sa.tuple_(contacts.c.page_id, contacts.c.psid) > sa.tuple_(*after))
        rows = connection.execute(query).all()
        if not rows:
            return
        for page_id in {row.page_id for row in rows}:
            _fill_page(connection, page_id, [row for row in rows if row.page_id == page_id])
        after = (rows[-1].page_id, rows[-1].psid)


def _fill_page(connection: sa.Connection, page_id: str, rows: list[Any]) -> None:
    stale = [row for row in rows if row.first_seen_at is None]  # never copied (before 0005)
    texts = _last_texts(connection, page_id, [r.psid for r in stale if r.last_message is None])
    for row in rows:
        state = row.state if isinstance(row.state, dict) else {}
        first, last = _text(state.get("first_name")), _text(state.get("last_name"))
        values: dict[str, Any] = {"first_key": name_key(first), "last_key": name_key(last)}
        if row.first_seen_at is None:
            values.update(
                first_name=_cut(first, NAME_LIMIT),
                last_name=_cut(last, NAME_LIMIT),
                ref=_cut(_text(state.get("ref")), NAME_LIMIT),
                ref_source=_cut(_text(state.get("ref_source")), 32),
                first_seen_at=_moment(state.get("first_seen_at")),
            )
            if row.psid in texts:
                values["last_message"] = _cut(texts[row.psid], LAST_MESSAGE_LIMIT)
            _copy_tags_and_fields(connection, page_id, row.psid, state)
        connection.execute(
            sa.update(contacts)
            .where(contacts.c.page_id == page_id, contacts.c.psid == row.psid)
            .values(**values)
        )


def _copy_tags_and_fields(
    connection: sa.Connection, page_id: str, psid: str, state: dict[str, Any]
) -> None:
    """The state's tags and fields as rows, replacing any (the state is the truth)."""
    connection.execute(sa.delete(tags).where(tags.c.page_id == page_id, tags.c.psid == psid))
    connection.execute(sa.delete(fields).where(fields.c.page_id == page_id, fields.c.psid == psid))
    tag_rows = {tag[:TAG_LIMIT] for tag in state.get("tags") or () if isinstance(tag, str) and tag}
    if tag_rows:
        connection.execute(
            sa.insert(tags),
            [{"page_id": page_id, "psid": psid, "tag": t} for t in sorted(tag_rows)],
        )
    field_rows = {
        _cut(name, NAME_LIMIT): _cut(value, FIELD_VALUE_LIMIT)
        for name, value in (state.get("fields") or {}).items()
        if isinstance(name, str) and name and isinstance(value, str)
    }
    if field_rows:
        connection.execute(
            sa.insert(fields),
            [
                {"page_id": page_id, "psid": psid, "name": n, "value": v}
                for n, v in sorted(field_rows.items())
            ],
        )


def _last_texts(connection: sa.Connection, page_id: str, psids: list[str]) -> dict[str, str]:
    """Each contact's latest stored message text (one query for the whole batch)."""
    if not psids:
        return {}
    latest = (
        sa.select(sa.func.max(inbox.c.id))
        .where(inbox.c.page_id == page_id, inbox.c.contact_id.in_(psids))
        .where(inbox.c.kind == "message")
        .group_by(inbox.c.contact_id)
    )
    rows = connection.execute(
        sa.select(inbox.c.contact_id, inbox.c.payload).where(inbox.c.id.in_(latest))
    ).all()
    found = {}
    for psid, payload in rows:
        text = payload.get("text") if isinstance(payload, dict) else None
        if isinstance(text, str) and text:
            found[psid] = text
    return found


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _cut(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
