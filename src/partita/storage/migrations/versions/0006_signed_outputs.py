"""Signed outputs: sign, once, the outputs an earlier partita stored as bare pickles.

No schema change. The work is ``partita.storage.sql.resign``: it needs the
installation's signing key, which ``partita db upgrade`` passes in; opening a
database that holds unsigned outputs any other way stops and says to run it.
Downgrading leaves the outputs signed (an earlier partita cannot read them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import context, op

from partita.storage.sql.resign import resign_legacy_outputs

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if context.is_offline_mode():  # ``alembic upgrade --sql``: data work has no SQL to print
        return
    resign_legacy_outputs(op.get_bind(), context.config.attributes.get("resigner"))


def downgrade() -> None:
    pass
