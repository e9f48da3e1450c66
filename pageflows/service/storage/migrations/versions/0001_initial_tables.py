"""initial tables

Revision ID: 0001
Revises:
Create Date: 2026-11-24 21:43:56.549923
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcast_runs",
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("page_id", "name"),
    )
    op.create_table(
        "comment_replies",
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("comment_id", sa.String(length=128), nullable=False),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("page_id", "comment_id"),
    )
    op.create_table(
        "contacts",
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("psid", sa.String(length=64), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column(
            "last_user_message_at",
            sa.DateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "profile_checked_at",
            sa.DateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("page_id", "psid"),
    )
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_ups_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_ups_status"), ["status"], unique=False)

    op.create_table(
        "inbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=512), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("page_id", "dedup_key", name="uq_inbox_dedup"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_page_id"), ["page_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_status"), ["status"], unique=False)

    op.create_table(
        "media_checks",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("preview", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=512), nullable=True),
        sa.Column("messaging_type", sa.String(length=32), nullable=True),
        sa.Column("tag", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=128), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_subcode", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "delivered_at",
            sa.DateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_page_id"), ["page_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_status"))
        batch_op.drop_index(batch_op.f("ix_outbox_page_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_contact_id"))

    op.drop_table("outbox")
    op.drop_table("media_checks")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_status"))
        batch_op.drop_index(batch_op.f("ix_inbox_page_id"))

    op.drop_table("inbox")
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_status"))
        batch_op.drop_index(batch_op.f("ix_follow_ups_due_at"))
        batch_op.drop_index(batch_op.f("ix_follow_ups_contact_id"))

    op.drop_table("follow_ups")
    op.drop_table("contacts")
    op.drop_table("comment_replies")
    op.drop_table("broadcast_runs")
