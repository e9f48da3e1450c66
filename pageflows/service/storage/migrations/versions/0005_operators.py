"""operators: why each message was allowed, who sent it, searchable contacts, arrivals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("rationale", sa.Text(), nullable=True))
        outbox.add_column(sa.Column("source", sa.String(length=16), nullable=True))
        outbox.add_column(sa.Column("broadcast", sa.String(length=128), nullable=True))
        outbox.add_column(sa.Column("author", sa.String(length=128), nullable=True))
    op.create_index("ix_outbox_conversation", "outbox", ["page_id", "contact_id", "id"])
    op.create_index("ix_outbox_broadcast", "outbox", ["page_id", "broadcast", "status"])
    op.create_index("ix_inbox_conversation", "inbox", ["page_id", "contact_id", "id"])

    with op.batch_alter_table("contacts") as contacts:
        contacts.add_column(sa.Column("first_name", sa.String(length=255), nullable=True))
        contacts.add_column(sa.Column("last_name", sa.String(length=255), nullable=True))
        contacts.add_column(sa.Column("ref", sa.String(length=255), nullable=True))
        contacts.add_column(sa.Column("ref_source", sa.String(length=32), nullable=True))
        contacts.add_column(sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True))
        contacts.add_column(sa.Column("last_message", sa.String(length=500), nullable=True))
        contacts.add_column(sa.Column("agent_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_contacts_recent", "contacts", ["page_id", "last_user_message_at", "psid"])
    op.create_index("ix_contacts_ref", "contacts", ["page_id", "ref"])

    op.create_table(
        "contact_tags",
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("psid", sa.String(length=64), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("page_id", "psid", "tag"),
    )
    op.create_index("ix_contact_tags_tag", "contact_tags", ["page_id", "tag", "psid"])
    op.create_table(
        "contact_fields",
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("psid", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("page_id", "psid", "name"),
    )
    op.create_index("ix_contact_fields_value", "contact_fields", ["page_id", "name", "value"])

    with op.batch_alter_table("broadcast_runs") as runs:
        runs.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="running")
        )
        runs.add_column(
            sa.Column("requested", sa.String(length=16), nullable=False, server_default="schedule")
        )
        runs.add_column(sa.Column("after_psid", sa.String(length=64), nullable=True))
        runs.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "arrivals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("psid", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("ref_missing", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_arrivals_ref", "arrivals", ["page_id", "ref", "via"])
    op.create_index("ix_arrivals_at", "arrivals", ["page_id", "at"])


def downgrade() -> None:
    op.drop_table("arrivals")
    with op.batch_alter_table("broadcast_runs") as runs:
        for column in ("finished_at", "after_psid", "requested", "status"):
            runs.drop_column(column)
    op.drop_table("contact_fields")
    op.drop_table("contact_tags")
    op.drop_index("ix_contacts_ref", "contacts")
    op.drop_index("ix_contacts_recent", "contacts")
    with op.batch_alter_table("contacts") as contacts:
        for column in (
            "agent_until", "last_message", "first_seen_at", "ref_source", "ref", "last_name",
            "first_name",
        ):  # fmt: skip
            contacts.drop_column(column)
    op.drop_index("ix_inbox_conversation", "inbox")
    op.drop_index("ix_outbox_broadcast", "outbox")
    op.drop_index("ix_outbox_conversation", "outbox")
    with op.batch_alter_table("outbox") as outbox:
        for column in ("author", "broadcast", "source", "rationale"):
            outbox.drop_column(column)
