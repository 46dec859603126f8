"""Connections and variables: ``connection`` and ``variable`` (secrets as Fernet tokens).

Revision ID: 0018
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)


def upgrade() -> None:
    op.create_table(
        "connection",
        sa.Column("conn_id", ID, nullable=False),
        sa.Column("conn_type", ID, nullable=True),
        sa.Column("host", sa.Text(), nullable=True),
        sa.Column("login", sa.Text(), nullable=True),
        sa.Column("password", sa.Text(), nullable=True),
        sa.Column("schema", sa.Text(), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("extra", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("conn_id", name="pk_connection"),
    )
    op.create_table(
        "variable",
        sa.Column("key", ID, nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_variable"),
    )


def downgrade() -> None:
    op.drop_table("variable")
    op.drop_table("connection")
