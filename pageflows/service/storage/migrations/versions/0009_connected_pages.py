"""connected pages: Facebook Pages connected on the console's Pages page (issue 11)

One row per page connected through Facebook Login: its name, the long-lived
page token sealed with PAGEFLOWS_TOKEN_KEY (never in clear), a fingerprint of
it, the tasks the person has on it and the webhook fields Facebook reports.

Revision ID: 0009_connected_pages
Revises: 0007_reasons
Create Date: 2026-11-28 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pageflows.service.storage.models import UTCDateTime

revision = "0009_connected_pages"
down_revision = "0007_reasons"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connected_pages",
        sa.Column("page_id", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("token_sealed", sa.Text(), nullable=False),
        sa.Column("token_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("tasks", sa.JSON(), nullable=False),
        sa.Column("subscribed_fields", sa.JSON(), nullable=False),
        sa.Column("connected_by", sa.String(length=255), nullable=False),
        sa.Column("connected_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("connected_pages")
