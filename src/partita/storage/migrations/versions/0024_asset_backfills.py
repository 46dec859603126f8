"""Backfills of partitioned assets: backfill.partitions and backfill_run.partition_key.

``partita backfill create PATH --assets SELECTION --partitions FIRST...LAST``
plans one run per partition key: each planned row keeps its key, and the
backfill keeps the range it was given (shown by ``backfill list/show``).
Existing backfills (of DAGs over dates) get NULL in both.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backfill") as batch:
        batch.add_column(sa.Column("partitions", sa.Text()))
    with op.batch_alter_table("backfill_run") as batch:
        batch.add_column(sa.Column("partition_key", sa.String(512)))


def downgrade() -> None:
    with op.batch_alter_table("backfill_run") as batch:
        batch.drop_column("partition_key")
    with op.batch_alter_table("backfill") as batch:
        batch.drop_column("partitions")
