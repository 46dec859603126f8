"""Cancel requests: dag_run.cancel_requested_at and dag_run.cancel_grace.

``partita runs cancel`` records when it asked and how many seconds the run's
tasks get between SIGTERM and SIGKILL; the run's owner reads them at its
heartbeat. Existing runs get NULL in both (no request).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dag_run") as batch:
        batch.add_column(sa.Column("cancel_requested_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("cancel_grace", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("dag_run") as batch:
        batch.drop_column("cancel_grace")
        batch.drop_column("cancel_requested_at")
