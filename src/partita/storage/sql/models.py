"""SQLAlchemy tables of the metadata database: DAG versions, runs, tasks, events, outputs, assets.

The design decision: these models describe the schema and nothing else. The
store reads and writes through Core statements on their tables and converts
rows to the plain records of ``partita.storage.records``; no ORM object leaves
this package. Every datetime column is ``UTCDateTime``: aware UTC in, aware
UTC out, whatever the backend returns. The Alembic migrations in
``partita/storage/migrations`` create exactly this schema (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from partita.storage.values import ID_LENGTH

#: Deterministic constraint names, so that migrations can name what they create.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STATE_LENGTH = 32

#: JSON on SQLite, JSONB on PostgreSQL.
JsonType = JSON().with_variant(JSONB(), "postgresql")
#: 64-bit ids on PostgreSQL; SQLite needs exactly INTEGER for an autoincrementing rowid.
EventIdType = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC; naive datetimes are refused.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the UTC wall
    time is stored and ``tzinfo=UTC`` is put back when it is read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} cannot be stored: partita stores "
                f"timezone-aware times; use datetime.now(UTC) or attach a tzinfo"
            )
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base holding partita's metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DagVersionRow(Base):
    """One distinct serialized structure of a DAG, keyed by its hash."""

    __tablename__ = "dag_version"

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    version: Mapped[str] = mapped_column(String(128), primary_key=True)
    serialized: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DagRunRow(Base):
    """One run of one DAG."""

    __tablename__ = "dag_run"
    __table_args__ = (
        Index("ix_dag_run_dag_id_queued_at", "dag_id", "queued_at"),
        Index("ix_dag_run_state", "state"),
    )

    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    dag_version: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(STATE_LENGTH))
    run_type: Mapped[str] = mapped_column(String(50))
    logical_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    data_interval_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    data_interval_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    conf: Mapped[dict[str, Any]] = mapped_column(JsonType)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    start_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hostname: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    pid: Mapped[int | None] = mapped_column(Integer)


class TaskInstanceRow(Base):
    """The current state of one (run, task, map index)."""

    __tablename__ = "task_instance"
    __table_args__ = (Index("ix_task_instance_run_id_state", "run_id", "state"),)

    run_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("dag_run.run_id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    try_number: Mapped[int] = mapped_column(Integer)
    max_tries: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(STATE_LENGTH))
    operator: Mapped[str] = mapped_column(String(ID_LENGTH))
    start_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration: Mapped[float | None] = mapped_column(Float)
    hostname: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EventRow(Base):
    """One entry of the append-only event log; ``id`` gives the order."""

    __tablename__ = "event_log"
    __table_args__ = (
        Index("ix_event_log_run_id_task_id_map_index_id", "run_id", "task_id", "map_index", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(EventIdType, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    task_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    map_index: Mapped[int] = mapped_column(Integer)
    try_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(STATE_LENGTH))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)


class TaskOutputRow(Base):
    """Where one output of a task instance is stored; small ones inline in ``payload``."""

    __tablename__ = "task_output"

    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    location: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)


class AssetMaterializationRow(Base):
    """One materialization of one asset (the asset catalog); ``id`` gives the order.

    ``asset_key`` is the key's segments as a JSON array in text (``["schema", "t"]``),
    so one indexed column finds a key's history and its newest entry.
    """

    __tablename__ = "asset_materialization"
    __table_args__ = (
        Index("ix_asset_materialization_asset_key_id", "asset_key", "id"),
        Index("ix_asset_materialization_run_id", "run_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(EventIdType, primary_key=True, autoincrement=True)
    asset_key: Mapped[str] = mapped_column(String(1024))
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    map_index: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonType)
    code_version: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    data_version: Mapped[str | None] = mapped_column(String(128))
    location: Mapped[str | None] = mapped_column(String(1024))


class LogLineRow(Base):
    """One line of one try of a task instance's log (a very long line: one bounded piece).

    The key is (run, task, map index, try, seq): a try's lines are one index
    range, so a range, a tail or "the lines after seq N" is an indexed read
    however long the log is.
    """

    __tablename__ = "log_line"

    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    try_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    level: Mapped[str] = mapped_column(String(STATE_LENGTH))
    message: Mapped[str] = mapped_column(Text)


dag_version_table: Table = Base.metadata.tables["dag_version"]
dag_run_table: Table = Base.metadata.tables["dag_run"]
task_instance_table: Table = Base.metadata.tables["task_instance"]
event_table: Table = Base.metadata.tables["event_log"]
task_output_table: Table = Base.metadata.tables["task_output"]
asset_materialization_table: Table = Base.metadata.tables["asset_materialization"]
log_line_table: Table = Base.metadata.tables["log_line"]

__all__ = [
    "AssetMaterializationRow",
    "Base",
    "DagRunRow",
    "DagVersionRow",
    "EventRow",
    "LogLineRow",
    "TaskInstanceRow",
    "TaskOutputRow",
    "UTCDateTime",
    "asset_materialization_table",
    "dag_run_table",
    "dag_version_table",
    "event_table",
    "log_line_table",
    "task_instance_table",
    "task_output_table",
]
