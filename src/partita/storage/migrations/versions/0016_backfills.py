"""Backfills: ``backfill`` (one per ``partita backfill create``) and ``backfill_run``.

``backfill_run`` holds each logical date a backfill planned, in order, with
its run id and whether its run was queued yet; nothing existing changes.

Revision ID: 0016
Revises: 0019
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)
STATE = sa.String(32)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "backfill",
        sa.Column("backfill_id", ID, nullable=False),
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("from_date", TIME, nullable=False),
        sa.Column("to_date", TIME, nullable=False),
        sa.Column("status", STATE, nullable=False),
        sa.Column("reprocess", STATE, nullable=False),
        sa.Column("max_active_runs", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("conf", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("ended_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("backfill_id", name="pk_backfill"),
    )
    op.create_index("ix_backfill_status", "backfill", ["status"])
    op.create_table(
        "backfill_run",
        sa.Column("backfill_id", ID, nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("logical_date", TIME, nullable=False),
        sa.Column("data_interval_start", TIME, nullable=False),
        sa.Column("data_interval_end", TIME, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("action", STATE, nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["backfill_id"],
            ["backfill.backfill_id"],
            name="fk_backfill_run_backfill_id_backfill",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("backfill_id", "ordinal", name="pk_backfill_run"),
    )
    op.create_index("ix_backfill_run_run_id", "backfill_run", ["run_id"])
    op.create_index(
        "ix_backfill_run_backfill_id_done_ordinal",
        "backfill_run",
        ["backfill_id", "done", "ordinal"],
    )


def downgrade() -> None:
    op.drop_index("ix_backfill_run_backfill_id_done_ordinal", table_name="backfill_run")
    op.drop_index("ix_backfill_run_run_id", table_name="backfill_run")
    op.drop_table("backfill_run")
    op.drop_index("ix_backfill_status", table_name="backfill")
    op.drop_table("backfill")
