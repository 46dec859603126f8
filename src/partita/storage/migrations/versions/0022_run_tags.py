"""Run tags (dag_run.tags, a JSON map of strings) and an index on dag_run(dag_id, logical_date).

A run carries the labels its schedule, sensor ``RunRequest`` or trigger
gave it (``partita runs list --tag k=v`` filters on them); existing runs get
an empty map. The index serves the lookups of a DAG's runs by logical date
(``runs_at``: catchup, backfills, ``depends_on_past``).

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, not batch mode: SQLite adds a column with a constant default in
    # place, where a batch copy would drop dag_run and cascade to its task instances.
    json_type = sa.JSON().with_variant(JSONB(), "postgresql")
    tags = sa.Column("tags", json_type, nullable=False, server_default=sa.text("'{}'"))
    op.add_column("dag_run", tags)
    op.create_index("ix_dag_run_dag_id_logical_date", "dag_run", ["dag_id", "logical_date"])


def downgrade() -> None:
    op.drop_index("ix_dag_run_dag_id_logical_date", table_name="dag_run")
    with op.batch_alter_table("dag_run") as batch:
        batch.drop_column("tags")
