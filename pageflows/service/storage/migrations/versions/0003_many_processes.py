"""many processes: worker heartbeats, the page's pace, per-contact indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopping", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workers_beat_at", "workers", ["beat_at"], unique=False)
    with op.batch_alter_table("page_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_send_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rate", sa.Float(), nullable=True))
    op.create_index("ix_inbox_contact_pending", "inbox", ["page_id", "contact_id", "status", "id"])
    op.create_index("ix_outbox_contact_status", "outbox", ["page_id", "contact_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_contact_status", table_name="outbox")
    op.drop_index("ix_inbox_contact_pending", table_name="inbox")
    with op.batch_alter_table("page_state", schema=None) as batch_op:
        batch_op.drop_column("rate")
        batch_op.drop_column("next_send_at")
    op.drop_index("ix_workers_beat_at", table_name="workers")
    op.drop_table("workers")
