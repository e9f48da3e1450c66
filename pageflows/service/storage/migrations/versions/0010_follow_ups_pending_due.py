"""follow-ups pending, by due time: the index a worker's claim query reads (issue 13)

`process_due` asks for the pending follow-ups due by now, earliest first, 500 at a
time. With an index on `due_at` and one on `status` only, each pass read past every
follow-up already done (or sorted every pending one): a pass cost grew with the
table, and draining 100,000 cost the square of it. On (status, due_at, id) a pass
reads the 500 rows it returns.

Revision ID: 0010_follow_ups_pending_due
Revises: 0009_connected_pages
Create Date: 2026-11-29 02:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0010_follow_ups_pending_due"
down_revision = "0009_connected_pages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_follow_ups_pending_due", "follow_ups", ["status", "due_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_follow_ups_pending_due", table_name="follow_ups")
