"""reasons: why a follow-up did not run, and what the engine said of an event

`follow_ups.reason` / `detail`: a follow-up or broadcast delivery cancelled when it
fell due (contact_replied, handed_off, person_answering, flow_changed...), or one
never scheduled (date_missing, date_unreadable, date_passed), kept with the
engine's sentence instead of only a log line. `inbox.notes`: the engine's notes
on an event that sent nothing ("no trigger matched"), so operators and the
simulator's customer read why from the decision, not a guess. Both nullable:
older rows simply have none.

Revision ID: 0007_reasons
Revises: 0006_conversations
Create Date: 2026-11-28 13:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_reasons"
down_revision = "0006_conversations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follow_ups") as table:
        table.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
        table.add_column(sa.Column("detail", sa.Text(), nullable=True))
    with op.batch_alter_table("inbox") as table:
        table.add_column(sa.Column("notes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as table:
        table.drop_column("notes")
    with op.batch_alter_table("follow_ups") as table:
        table.drop_column("detail")
        table.drop_column("reason")
