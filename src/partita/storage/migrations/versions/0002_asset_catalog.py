"""The asset catalog: asset_materialization, one row per materialization of an asset.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "asset_materialization",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("asset_key", sa.String(1024), nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("code_version", ID, nullable=True),
        sa.Column("data_version", sa.String(128), nullable=True),
        sa.Column("location", sa.String(1024), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_asset_materialization"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_asset_materialization_asset_key_id", "asset_materialization", ["asset_key", "id"]
    )
    op.create_index("ix_asset_materialization_run_id", "asset_materialization", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_asset_materialization_run_id", table_name="asset_materialization")
    op.drop_index("ix_asset_materialization_asset_key_id", table_name="asset_materialization")
    op.drop_table("asset_materialization")
