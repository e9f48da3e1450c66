"""outbox and follow-ups: four indexes no query reads, dropped (issue 13)

Every index is written for every row inserted and, when a column of it changes, for
every row updated (on PostgreSQL for every index when the update is not a HOT one:
a follow-up's status changing is never). A due follow-up inserts an outbox row and
updates its own row; these four cost that work on every one and served no query:

- `ix_outbox_contact_id`: every query on a contact's messages names its page too,
  and `ix_outbox_contact_status` / `ix_outbox_conversation` begin (page, contact).
- `ix_outbox_message_id`: the one query by message id (the conversation view's
  "which of these are ours") names the page and contact: `ix_outbox_conversation`.
- `ix_follow_ups_status`: `ix_follow_ups_pending_due` begins with `status`, so it
  serves a count by status (health, status) as this one did.
- `ix_follow_ups_due_at`: the claim reads `ix_follow_ups_pending_due`; nothing
  reads follow-ups by due time alone.

Revision ID: 0011_fewer_write_indexes
Revises: 0010_follow_ups_pending_due
Create Date: 2026-11-29 11:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0011_fewer_write_indexes"
down_revision = "0010_follow_ups_pending_due"
branch_labels = None
depends_on = None

DROPPED = (
    ("ix_outbox_contact_id", "outbox", "contact_id"),
    ("ix_outbox_message_id", "outbox", "message_id"),
    ("ix_follow_ups_status", "follow_ups", "status"),
    ("ix_follow_ups_due_at", "follow_ups", "due_at"),
)


def upgrade() -> None:
    for name, table, _ in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, column in DROPPED:
        op.create_index(name, table, [column], unique=False)
