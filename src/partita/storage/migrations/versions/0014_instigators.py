"""Sensors and schedules: ``instigator_state``, ``instigator_tick``, ``sensor_run_key``.

Also an index on ``dag_run.end_date``, so run status sensors find the runs
that ended since their cursor with a range scan. Existing databases get empty
tables: every sensor and schedule starts as declared in code.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)
TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TICK_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "instigator_state",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", ID, nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("last_tick_at", TIME, nullable=True),
        sa.Column("updated_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("kind", "name", name="pk_instigator_state"),
    )
    op.create_table(
        "instigator_tick",
        sa.Column("id", TICK_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", ID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("timestamp", TIME, nullable=False),
        sa.Column("run_ids", JSON, nullable=False),
        sa.Column("run_keys", JSON, nullable=False),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_instigator_tick"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_instigator_tick_kind_name_id", "instigator_tick", ["kind", "name", "id"])
    op.create_table(
        "sensor_run_key",
        sa.Column("sensor_name", ID, nullable=False),
        sa.Column("key_digest", sa.String(40), nullable=False),
        sa.Column("run_key", sa.Text(), nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("sensor_name", "key_digest", name="pk_sensor_run_key"),
    )
    op.create_index("ix_dag_run_end_date", "dag_run", ["end_date"])


def downgrade() -> None:
    op.drop_index("ix_dag_run_end_date", table_name="dag_run")
    op.drop_table("sensor_run_key")
    op.drop_index("ix_instigator_tick_kind_name_id", table_name="instigator_tick")
    op.drop_table("instigator_tick")
    op.drop_table("instigator_state")
