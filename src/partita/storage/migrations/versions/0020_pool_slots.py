"""Pool slots shared by schedulers: ``pool_slot``, one row per task instance holding slots.

A scheduler on PostgreSQL takes a pool's slots by inserting rows here (in a
transaction holding the pool's lock) and frees them by deleting the rows, so
the slots of a pool bound the task instances running over every scheduler.
Existing databases get an empty table: nothing holds slots yet.

Revision ID: 0020
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)


def upgrade() -> None:
    op.create_table(
        "pool_slot",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("pool", ID, nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("scheduler_id", ID, nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "task_id", "map_index", name="pk_pool_slot"),
    )
    op.create_index("ix_pool_slot_pool", "pool_slot", ["pool"])


def downgrade() -> None:
    op.drop_index("ix_pool_slot_pool", table_name="pool_slot")
    op.drop_table("pool_slot")
