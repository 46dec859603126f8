"""Event-driven runs: the automation_cursor table.

Asset-triggered DAGs (``schedule=[Asset(...)]``) keep the id of the last
asset event they consumed, and the automation conditions their per-asset
state, each as one versioned JSON row. The asset events themselves are the
existing ``asset_materialization`` rows, so nothing else changes.

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "automation_cursor",
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_automation_cursor"),
    )


def downgrade() -> None:
    op.drop_table("automation_cursor")
