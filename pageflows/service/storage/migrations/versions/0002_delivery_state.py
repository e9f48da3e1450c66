"""delivery state machine, parked events, paused pages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.alter_column(
            "occurred_at", existing_type=sa.DateTime(timezone=True), nullable=True
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_inbox_status_id", ["status", "id"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("possible_duplicate", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "page_state",
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("paused_reason", sa.String(length=64), nullable=True),
        sa.Column("paused_detail", sa.Text(), nullable=True),
        sa.Column("paused_code", sa.Integer(), nullable=True),
        sa.Column("paused_subcode", sa.Integer(), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("slow_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rate_limit_strikes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("page_id"),
    )


def downgrade() -> None:
    op.drop_table("page_state")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("possible_duplicate")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("lease_until")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_status_id")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.alter_column(
            "occurred_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
