"""Claims of task instance tries by remote workers: task_instance.claimed_try and claimed_by.

A Celery worker claims try N of a task instance before it runs it
(``Storage.claim_task_instance``); the claim lives in columns of its own that
the engine's batched writes never touch, so a later write of the row by the
scheduler cannot undo it, and a message delivered twice is run once.
Existing rows get NULL in both (no claim).

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task_instance") as batch:
        batch.add_column(sa.Column("claimed_try", sa.Integer()))
        batch.add_column(sa.Column("claimed_by", sa.String(250)))


def downgrade() -> None:
    with op.batch_alter_table("task_instance") as batch:
        batch.drop_column("claimed_by")
        batch.drop_column("claimed_try")
