"""Partitions: run and materialization partition keys, partition statuses, dynamic partitions.

``dag_run.partition_key`` is the partition a run is for and
``asset_materialization.partition_key`` the partition a materialization
wrote (both NULL for what is not partitioned, so existing rows need no
value); ``asset_partition`` keeps the latest outcome of each partition of each
asset; ``dynamic_partition`` the keys of dynamic partitions definitions.

Revision ID: 0015
Revises: 0018
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)
KEY = sa.String(512)
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("dag_run") as batch:
        batch.add_column(sa.Column("partition_key", KEY))
    op.create_index("ix_dag_run_dag_id_partition_key", "dag_run", ["dag_id", "partition_key"])
    with op.batch_alter_table("asset_materialization") as batch:
        batch.add_column(sa.Column("partition_key", KEY))
    op.create_index(
        "ix_asset_materialization_asset_key_partition_key_id",
        "asset_materialization",
        ["asset_key", "partition_key", "id"],
    )
    op.create_table(
        "asset_partition",
        sa.Column("asset_key", sa.String(1024), nullable=False),
        sa.Column("partition_key", KEY, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("asset_key", "partition_key", name="pk_asset_partition"),
    )
    op.create_table(
        "dynamic_partition",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("partitions_def", ID, nullable=False),
        sa.Column("partition_key", KEY, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dynamic_partition"),
        sa.UniqueConstraint(
            "partitions_def",
            "partition_key",
            name="uq_dynamic_partition_partitions_def_partition_key",
        ),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("dynamic_partition")
    op.drop_table("asset_partition")
    op.drop_index(
        "ix_asset_materialization_asset_key_partition_key_id", table_name="asset_materialization"
    )
    with op.batch_alter_table("asset_materialization") as batch:
        batch.drop_column("partition_key")
    op.drop_index("ix_dag_run_dag_id_partition_key", table_name="dag_run")
    with op.batch_alter_table("dag_run") as batch:
        batch.drop_column("partition_key")
