"""message templates: each page's templates as Facebook lists them

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("language", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("parameters", sa.Integer(), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=True),
        sa.Column("components", sa.Text(), nullable=True),
        sa.Column("template_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("page_id", "name", "language"),
    )
    op.create_index(
        "ix_message_templates_template_id",
        "message_templates",
        ["page_id", "template_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_message_templates_template_id", table_name="message_templates")
    op.drop_table("message_templates")
