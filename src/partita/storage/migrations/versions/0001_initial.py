"""The initial schema: dag_version, dag_run, task_instance, event_log, task_output.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)
VERSION = sa.String(128)
STATE = sa.String(32)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dag_version",
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("version", VERSION, nullable=False),
        sa.Column("serialized", JSON, nullable=False),
        sa.Column("created_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("dag_id", "version", name="pk_dag_version"),
    )
    op.create_table(
        "dag_run",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("dag_version", VERSION, nullable=False),
        sa.Column("state", STATE, nullable=False),
        sa.Column("run_type", sa.String(50), nullable=False),
        sa.Column("logical_date", _when(), nullable=True),
        sa.Column("data_interval_start", _when(), nullable=True),
        sa.Column("data_interval_end", _when(), nullable=True),
        sa.Column("conf", JSON, nullable=False),
        sa.Column("queued_at", _when(), nullable=True),
        sa.Column("start_date", _when(), nullable=True),
        sa.Column("end_date", _when(), nullable=True),
        sa.Column("hostname", ID, nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_dag_run"),
    )
    op.create_index("ix_dag_run_dag_id_queued_at", "dag_run", ["dag_id", "queued_at"])
    op.create_index("ix_dag_run_state", "dag_run", ["state"])
    op.create_table(
        "task_instance",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("max_tries", sa.Integer(), nullable=False),
        sa.Column("state", STATE, nullable=False),
        sa.Column("operator", ID, nullable=False),
        sa.Column("start_date", _when(), nullable=True),
        sa.Column("end_date", _when(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("hostname", ID, nullable=True),
        sa.Column("retry_at", _when(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["dag_run.run_id"],
            name="fk_task_instance_run_id_dag_run",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "task_id", "map_index", name="pk_task_instance"),
    )
    op.create_index("ix_task_instance_run_id_state", "task_instance", ["run_id", "state"])
    op.create_table(
        "event_log",
        sa.Column("id", EVENT_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=True),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("kind", STATE, nullable=False),
        sa.Column("timestamp", _when(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event_log"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_event_log_run_id_task_id_map_index_id",
        "event_log",
        ["run_id", "task_id", "map_index", "id"],
    )
    op.create_table(
        "task_output",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("key", ID, nullable=False),
        sa.Column("location", sa.String(1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "task_id", "map_index", "key", name="pk_task_output"),
    )


def downgrade() -> None:
    op.drop_table("task_output")
    op.drop_index("ix_event_log_run_id_task_id_map_index_id", table_name="event_log")
    op.drop_table("event_log")
    op.drop_index("ix_task_instance_run_id_state", table_name="task_instance")
    op.drop_table("task_instance")
    op.drop_index("ix_dag_run_state", table_name="dag_run")
    op.drop_index("ix_dag_run_dag_id_queued_at", table_name="dag_run")
    op.drop_table("dag_run")
    op.drop_table("dag_version")
