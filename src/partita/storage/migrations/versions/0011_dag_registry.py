"""The DAG registry: ``dag`` (the DAGs the scheduler knows) and ``import_error``.

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)
PATH = sa.String(1024)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dag",
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("fileloc", PATH, nullable=True),
        sa.Column("code_location", PATH, nullable=True),
        sa.Column("is_paused", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("timetable_summary", PATH, nullable=True),
        sa.Column("next_dagrun", TIME, nullable=True),
        sa.Column("next_dagrun_data_interval_start", TIME, nullable=True),
        sa.Column("next_dagrun_data_interval_end", TIME, nullable=True),
        sa.Column("next_dagrun_create_after", TIME, nullable=True),
        sa.Column("last_parsed_at", TIME, nullable=True),
        sa.Column("last_parse_duration", sa.Float(), nullable=True),
        sa.Column("max_active_runs", sa.Integer(), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("owner", ID, nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("dag_id", name="pk_dag"),
    )
    op.create_index(
        "ix_dag_next_dagrun_create_after",
        "dag",
        ["is_paused", "is_active", "next_dagrun_create_after", "dag_id"],
    )
    op.create_index("ix_dag_code_location", "dag", ["code_location"])
    op.create_table(
        "import_error",
        sa.Column("fileloc", PATH, nullable=False),
        sa.Column("code_location", PATH, nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("timestamp", TIME, nullable=False),
        sa.PrimaryKeyConstraint("fileloc", name="pk_import_error"),
    )
    op.create_index("ix_import_error_code_location", "import_error", ["code_location"])


def downgrade() -> None:
    op.drop_index("ix_import_error_code_location", table_name="import_error")
    op.drop_table("import_error")
    op.drop_index("ix_dag_code_location", table_name="dag")
    op.drop_index("ix_dag_next_dagrun_create_after", table_name="dag")
    op.drop_table("dag")
