"""Task logs get their own table: log_line, one row per line, keyed by try and sequence.

The log events of earlier runs (``event_log`` rows of kind ``log`` holding a
JSON array of lines) are moved into it, numbered in the order they were
written, so ``partita logs`` shows old runs as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(250)
_MOVE_CHUNK = 5000


def upgrade() -> None:
    log_line = op.create_table(
        "log_line",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "run_id", "task_id", "map_index", "try_number", "seq", name="pk_log_line"
        ),
    )
    _move_log_events(log_line)


def _move_log_events(log_line: sa.Table) -> None:
    """Copy the lines of every ``log`` event into ``log_line``, then drop those events."""
    bind = op.get_bind()
    events = sa.table(
        "event_log",
        sa.column("id", sa.Integer()),
        sa.column("run_id", ID),
        sa.column("task_id", ID),
        sa.column("map_index", sa.Integer()),
        sa.column("try_number", sa.Integer()),
        sa.column("kind", sa.String(32)),
        sa.column("timestamp", sa.DateTime(timezone=True)),
        sa.column("payload", sa.JSON()),
    )
    query = (
        sa.select(events)
        .where(events.c.kind == "log", events.c.task_id.is_not(None))
        .order_by(events.c.id)
    )
    rows: list[dict[str, Any]] = []
    naive = bind.dialect.name == "sqlite"  # SQLite keeps UTC wall time, as UTCDateTime does
    for row in _moved_lines(bind.execute(query), naive):
        rows.append(row)
        if len(rows) >= _MOVE_CHUNK:
            bind.execute(log_line.insert(), rows)
            rows = []
    if rows:
        bind.execute(log_line.insert(), rows)
    bind.execute(sa.delete(events).where(events.c.kind == "log", events.c.task_id.is_not(None)))


def _moved_lines(events: Any, naive: bool) -> Iterator[dict[str, Any]]:
    next_seq: dict[tuple[str, str, int, int], int] = {}
    for event in events:
        key = (event.run_id, event.task_id, event.map_index, event.try_number)
        payload = event.payload
        if isinstance(payload, str):  # SQLite hands back the text
            payload = json.loads(payload)
        for stamp, level, message in (payload or {}).get("lines", ()):
            seq = next_seq.get(key, 0)
            next_seq[key] = seq + 1
            yield {
                "run_id": key[0], "task_id": key[1], "map_index": key[2], "try_number": key[3],
                "seq": seq, "timestamp": _as_time(stamp, event.timestamp, naive),
                "level": str(level)[:32], "message": str(message),
            }  # fmt: skip


def _as_time(stamp: Any, fallback: datetime, naive: bool) -> datetime:
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        moment = fallback
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(tzinfo=None) if naive else moment


def downgrade() -> None:
    op.drop_table("log_line")
