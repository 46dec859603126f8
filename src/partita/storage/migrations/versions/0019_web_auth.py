"""The web server's accounts (``web_user``, ``api_token``, ``web_session``) and the run indexes
the API's run list pages through (newest first, all runs or those in one state).

Existing databases get empty account tables; the first ``partita webserver``
or ``partita dev`` creates the ``admin`` user.

Revision ID: 0019
Revises: 0017
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_index("ix_dag_run_queued_at_run_id", "dag_run", ["queued_at", "run_id"])
    op.create_index(
        "ix_dag_run_state_queued_at_run_id", "dag_run", ["state", "queued_at", "run_id"]
    )
    op.create_table(
        "web_user",
        sa.Column("username", ID, nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(512), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("username", name="pk_web_user"),
    )
    op.create_table(
        "api_token",
        sa.Column("token_id", sa.String(32), nullable=False),
        sa.Column("username", ID, nullable=False),
        sa.Column("name", ID, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["username"],
            ["web_user.username"],
            name="fk_api_token_username_web_user",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_id", name="pk_api_token"),
        sa.UniqueConstraint("token_hash", name="uq_api_token_token_hash"),
    )
    op.create_index("ix_api_token_username", "api_token", ["username"])
    op.create_table(
        "web_session",
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("username", ID, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["username"],
            ["web_user.username"],
            name="fk_web_session_username_web_user",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_hash", name="pk_web_session"),
    )
    op.create_index("ix_web_session_username", "web_session", ["username"])
    op.create_index("ix_web_session_expires_at", "web_session", ["expires_at"])


def downgrade() -> None:
    op.drop_table("web_session")
    op.drop_table("api_token")
    op.drop_table("web_user")
    op.drop_index("ix_dag_run_state_queued_at_run_id", table_name="dag_run")
    op.drop_index("ix_dag_run_queued_at_run_id", table_name="dag_run")
