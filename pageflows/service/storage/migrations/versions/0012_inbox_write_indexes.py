"""inbox: two indexes no query needs, dropped (issue 13, tenth session)

Every webhook event inserts an inbox row and the worker updates its status once; on
PostgreSQL that update is never a HOT one (`status` is indexed), so each index of the
table is written twice per event, and SQLite's commit writes each index's page into
the WAL. These two served nothing another index does not:

- `ix_inbox_status`: `ix_inbox_status_id` begins with `status`; it serves the worker's
  candidates (pending, by id) and any count or look-up by status.
- `ix_inbox_page_id`: every query by page either names the dedup key
  (`uq_inbox_dedup`, which begins with the page) or the contact
  (`ix_inbox_conversation`, `ix_inbox_contact_pending`, both beginning with the page).

Revision ID: 0012_inbox_write_indexes
Revises: 0011_fewer_write_indexes
Create Date: 2026-11-29 20:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0012_inbox_write_indexes"
down_revision = "0011_fewer_write_indexes"
branch_labels = None
depends_on = None

DROPPED = (
    ("ix_inbox_status", "inbox", "status"),
    ("ix_inbox_page_id", "inbox", "page_id"),
)


def upgrade() -> None:
    for name, table, _ in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, column in DROPPED:
        op.create_index(name, table, [column], unique=False)
