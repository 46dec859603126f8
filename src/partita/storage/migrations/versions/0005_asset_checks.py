"""Asset checks: asset_check_evaluation, one row per evaluation of an asset check.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "asset_check_evaluation",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("asset_key", sa.String(1024), nullable=False),
        sa.Column("check_name", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("description", sa.String(4096), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_asset_check_evaluation"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_asset_check_evaluation_key_name_id",
        "asset_check_evaluation",
        ["asset_key", "check_name", "id"],
    )
    op.create_index("ix_asset_check_evaluation_run_id", "asset_check_evaluation", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_asset_check_evaluation_run_id", table_name="asset_check_evaluation")
    op.drop_index("ix_asset_check_evaluation_key_name_id", table_name="asset_check_evaluation")
    op.drop_table("asset_check_evaluation")
