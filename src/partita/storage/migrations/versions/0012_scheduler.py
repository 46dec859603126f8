"""The scheduler: ``scheduler_heartbeat``, ``run_claim`` (who drives a run) and ``pool``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scheduler_heartbeat",
        sa.Column("scheduler_id", ID, nullable=False),
        sa.Column("hostname", sa.String(250), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("heartbeat_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("scheduler_id", name="pk_scheduler_heartbeat"),
    )
    op.create_table(
        "run_claim",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("scheduler_id", ID, nullable=False),
        sa.Column("claimed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_run_claim"),
    )
    op.create_index("ix_run_claim_scheduler_id", "run_claim", ["scheduler_id"])
    op.create_table(
        "pool",
        sa.Column("name", ID, nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_pool"),
    )


def downgrade() -> None:
    op.drop_table("pool")
    op.drop_index("ix_run_claim_scheduler_id", table_name="run_claim")
    op.drop_table("run_claim")
    op.drop_table("scheduler_heartbeat")
