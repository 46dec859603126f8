"""SQLAlchemy tables of the metadata database: DAG versions, runs, tasks, events, outputs,
assets, task logs.

Beside them, the DAG registry: ``dag`` (one row per DAG the scheduler knows)
and ``import_error`` (one row per file that failed to import).

The design decision: these are Core tables that describe the schema and
nothing else (no ORM: the store reads and writes through Core statements and
converts rows to the plain records of ``partita.storage.records``, and not
importing ``sqlalchemy.orm`` keeps every command's start short). Every
datetime column is ``UTCDateTime``: aware UTC in, aware UTC out, whatever the
backend returns. The Alembic migrations in
``partita/storage/migrations`` create exactly this schema (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from partita.storage.values import ID_LENGTH, PARTITION_KEY_LENGTH

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


#: The schema of the metadata database; the migrations create exactly this (a test compares).
metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _id(name: str, **options: Any) -> Column[str]:
    return Column(name, String(ID_LENGTH), nullable=options.pop("nullable", False), **options)


#: One distinct serialized structure of a DAG, keyed by its hash.
dag_version_table = Table(
    "dag_version",
    metadata,
    _id("dag_id", primary_key=True),
    Column("version", String(128), primary_key=True),
    Column("serialized", JsonType, nullable=False),
    Column("created_at", UTCDateTime()),
)

#: One run of one DAG.
dag_run_table = Table(
    "dag_run",
    metadata,
    _id("run_id", primary_key=True),
    _id("dag_id"),
    Column("dag_version", String(128), nullable=False),
    Column("state", String(STATE_LENGTH), nullable=False),
    Column("run_type", String(50), nullable=False),
    Column("logical_date", UTCDateTime()),
    Column("data_interval_start", UTCDateTime()),
    Column("data_interval_end", UTCDateTime()),
    Column("conf", JsonType, nullable=False),
    Column("queued_at", UTCDateTime()),
    Column("start_date", UTCDateTime()),
    Column("end_date", UTCDateTime()),
    _id("hostname", nullable=True),
    Column("pid", Integer),
    Column("heartbeat_at", UTCDateTime()),
    Column("cancel_requested_at", UTCDateTime()),
    Column("cancel_grace", Float),
    Column("partition_key", String(PARTITION_KEY_LENGTH)),
    Column("tags", JsonType, nullable=False, server_default=text("'{}'")),
    Index("ix_dag_run_dag_id_queued_at", "dag_id", "queued_at"),
    Index("ix_dag_run_dag_id_logical_date", "dag_id", "logical_date"),
    Index("ix_dag_run_state", "state"),
    Index("ix_dag_run_dag_id_partition_key", "dag_id", "partition_key"),
    Index("ix_dag_run_end_date", "end_date"),
    # The API's run list across all DAGs: newest first, one index range per page.
    Index("ix_dag_run_queued_at_run_id", "queued_at", "run_id"),
    Index("ix_dag_run_state_queued_at_run_id", "state", "queued_at", "run_id"),
)

#: The current state of one (run, task, map index).
task_instance_table = Table(
    "task_instance",
    metadata,
    _id("run_id", primary_key=True),
    _id("task_id", primary_key=True),
    Column("map_index", Integer, primary_key=True),
    Column("try_number", Integer, nullable=False),
    Column("max_tries", Integer, nullable=False),
    Column("state", String(STATE_LENGTH), nullable=False),
    _id("operator"),
    Column("start_date", UTCDateTime()),
    Column("end_date", UTCDateTime()),
    Column("duration", Float),
    _id("hostname", nullable=True),
    Column("retry_at", UTCDateTime()),
    # A remote worker's claim of a try (Storage.claim_task_instance): never written by batches.
    Column("claimed_try", Integer),
    _id("claimed_by", nullable=True),
    ForeignKeyConstraint(["run_id"], ["dag_run.run_id"], ondelete="CASCADE"),
    Index("ix_task_instance_run_id_state", "run_id", "state"),
    info={"not_batched": ("claimed_try", "claimed_by")},
)

#: One entry of the append-only event log; ``id`` gives the order.
event_table = Table(
    "event_log",
    metadata,
    Column("id", EventIdType, primary_key=True, autoincrement=True),
    _id("run_id"),
    _id("task_id", nullable=True),
    Column("map_index", Integer, nullable=False),
    Column("try_number", Integer, nullable=False),
    Column("kind", String(STATE_LENGTH), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("payload", JsonType, nullable=False),
    Index("ix_event_log_run_id_task_id_map_index_id", "run_id", "task_id", "map_index", "id"),
    sqlite_autoincrement=True,
)

#: Where one output of a task instance is stored; small ones inline in ``payload``.
task_output_table = Table(
    "task_output",
    metadata,
    _id("run_id", primary_key=True),
    _id("task_id", primary_key=True),
    Column("map_index", Integer, primary_key=True),
    _id("key", primary_key=True),
    Column("location", String(1024), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("payload", LargeBinary),
)

#: One materialization of one asset (the asset catalog); ``id`` gives the order.
#: ``asset_key`` is the key's segments as a JSON array in text (``["schema", "t"]``),
#: so one indexed column finds a key's history and its newest entry.
asset_materialization_table = Table(
    "asset_materialization",
    metadata,
    Column("id", EventIdType, primary_key=True, autoincrement=True),
    Column("asset_key", String(1024), nullable=False),
    _id("run_id"),
    _id("task_id"),
    Column("map_index", Integer, nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("metadata", JsonType, nullable=False),
    _id("code_version", nullable=True),
    Column("data_version", String(128)),
    Column("location", String(1024)),
    Column("partition_key", String(PARTITION_KEY_LENGTH)),
    Index("ix_asset_materialization_asset_key_id", "asset_key", "id"),
    Index("ix_asset_materialization_run_id", "run_id"),
    Index(
        "ix_asset_materialization_asset_key_partition_key_id", "asset_key", "partition_key", "id"
    ),
    sqlite_autoincrement=True,
)

#: The latest outcome of each partition of each partitioned asset: ``materialized`` or
#: ``failed`` (a partition with no row is missing). One row per (asset, partition), so
#: the status of ten thousand partitions is one index range, whatever their history.
asset_partition_table = Table(
    "asset_partition",
    metadata,
    Column("asset_key", String(1024), primary_key=True),
    Column("partition_key", String(PARTITION_KEY_LENGTH), primary_key=True),
    Column("status", String(STATE_LENGTH), nullable=False),
    _id("run_id"),
    Column("timestamp", UTCDateTime(), nullable=False),
)

#: The keys of each dynamic partitions definition, in the order they were added (``id``).
dynamic_partition_table = Table(
    "dynamic_partition",
    metadata,
    Column("id", EventIdType, primary_key=True, autoincrement=True),
    _id("partitions_def"),
    Column("partition_key", String(PARTITION_KEY_LENGTH), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("partitions_def", "partition_key"),
    sqlite_autoincrement=True,
)

#: One evaluation of one asset check (the asset catalog); ``id`` gives the order.
#: ``asset_key`` is stored as in ``asset_materialization``; the newest evaluation of a
#: check is the highest id of its (asset_key, check_name).
asset_check_evaluation_table = Table(
    "asset_check_evaluation",
    metadata,
    Column("id", EventIdType, primary_key=True, autoincrement=True),
    Column("asset_key", String(1024), nullable=False),
    _id("check_name"),
    _id("run_id"),
    _id("task_id"),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("metadata", JsonType, nullable=False),
    Column("description", String(4096)),
    Index("ix_asset_check_evaluation_key_name_id", "asset_key", "check_name", "id"),
    Index("ix_asset_check_evaluation_run_id", "run_id"),
    sqlite_autoincrement=True,
)

#: One DAG the scheduler knows (the DAG registry): where it lives, paused, next due.
#: ``next_dagrun_create_after`` is the "next due" column: the index on
#: (is_paused, is_active, next_dagrun_create_after, dag_id) makes "which DAGs are
#: due, soonest first" one range scan, already in order.
dag_table = Table(
    "dag",
    metadata,
    _id("dag_id", primary_key=True),
    Column("fileloc", String(1024)),
    Column("code_location", String(1024)),
    Column("is_paused", Boolean, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("timetable_summary", String(1024)),
    Column("next_dagrun", UTCDateTime()),
    Column("next_dagrun_data_interval_start", UTCDateTime()),
    Column("next_dagrun_data_interval_end", UTCDateTime()),
    Column("next_dagrun_create_after", UTCDateTime()),
    Column("last_parsed_at", UTCDateTime()),
    Column("last_parse_duration", Float),
    Column("max_active_runs", Integer, nullable=False),
    Column("tags", JsonType, nullable=False),
    _id("owner", nullable=True),
    Column("description", Text),
    Index(
        "ix_dag_next_dagrun_create_after",
        "is_paused",
        "is_active",
        "next_dagrun_create_after",
        "dag_id",
    ),
    Index("ix_dag_code_location", "code_location"),
)

#: The error of a DAG file (or module) that failed to import at its last parse.
import_error_table = Table(
    "import_error",
    metadata,
    Column("fileloc", String(1024), primary_key=True),
    Column("code_location", String(1024)),
    Column("error", Text, nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Index("ix_import_error_code_location", "code_location"),
)

#: One line of one try of a task instance's log (a very long line: one bounded piece).
#: The key is (run, task, map index, try, seq): a try's lines are one index range, so a
#: range, a tail or "the lines after seq N" is an indexed read however long the log is.
log_line_table = Table(
    "log_line",
    metadata,
    _id("run_id", primary_key=True),
    _id("task_id", primary_key=True),
    Column("map_index", Integer, primary_key=True),
    Column("try_number", Integer, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("level", String(STATE_LENGTH), nullable=False),
    Column("message", Text, nullable=False),
)

#: One live (or dead) scheduler: who it is and when it last said it was alive.
scheduler_heartbeat_table = Table(
    "scheduler_heartbeat",
    metadata,
    _id("scheduler_id", primary_key=True),
    Column("hostname", String(250), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
)

#: Which scheduler drives a running run (the run queue's claims); a run outlives its owner.
run_claim_table = Table(
    "run_claim",
    metadata,
    _id("run_id", primary_key=True),
    _id("scheduler_id"),
    Column("claimed_at", UTCDateTime(), nullable=False),
    Index("ix_run_claim_scheduler_id", "scheduler_id"),
)

#: A pool of task slots (``partita pools set``); ``default_pool`` needs no row.
pool_table = Table(
    "pool",
    metadata,
    _id("name", primary_key=True),
    Column("slots", Integer, nullable=False),
    Column("description", Text),
)

#: The stored state of one sensor or schedule (``storage/instigators.py``): started or
#: stopped by hand (NULL: as declared in code), a sensor's cursor, its last tick.
instigator_state_table = Table(
    "instigator_state",
    metadata,
    Column("kind", String(16), primary_key=True),
    _id("name", primary_key=True),
    Column("status", String(16)),
    Column("cursor", Text),
    Column("last_tick_at", UTCDateTime()),
    Column("updated_at", UTCDateTime()),
)

#: One evaluation of a sensor or schedule; ``id`` gives the order, so a sensor's history
#: (newest first) is one range of the (kind, name, id) index.
instigator_tick_table = Table(
    "instigator_tick",
    metadata,
    Column("id", EventIdType, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    _id("name"),
    Column("status", String(16), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("run_ids", JsonType, nullable=False),
    Column("run_keys", JsonType, nullable=False),
    Column("skip_reason", Text),
    Column("error", Text),
    Column("cursor", Text),
    Column("duration", Float),
    Index("ix_instigator_tick_kind_name_id", "kind", "name", "id"),
    sqlite_autoincrement=True,
)

#: The run keys a sensor has used, keyed by a digest of the key (any length fits); the
#: primary key makes "was this key used?" one index lookup and a second use impossible.
sensor_run_key_table = Table(
    "sensor_run_key",
    metadata,
    _id("sensor_name", primary_key=True),
    Column("key_digest", String(40), primary_key=True),
    Column("run_key", Text, nullable=False),
    _id("run_id"),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: A connection (``partita connections add``); ``password`` and ``extra`` hold Fernet tokens.
connection_table = Table(
    "connection",
    metadata,
    _id("conn_id", primary_key=True),
    Column("conn_type", String(ID_LENGTH)),
    Column("host", Text),
    Column("login", Text),
    Column("password", Text),
    Column("schema", Text),
    Column("port", Integer),
    Column("extra", Text),
    Column("description", Text),
)

#: A variable (``partita variables set``); ``value`` holds a Fernet token.
variable_table = Table(
    "variable",
    metadata,
    _id("key", primary_key=True),
    Column("value", Text, nullable=False),
    Column("description", Text),
)

#: A cursor of an event-driven service (an asset-triggered DAG's last consumed event, the
#: automation conditions' state): a JSON value with the version ``advance`` compares.
automation_cursor_table = Table(
    "automation_cursor",
    metadata,
    Column("name", String(300), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("value", JsonType, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: A user of the web server and API (``partita users``): role and argon2 password hash.
web_user_table = Table(
    "web_user",
    metadata,
    _id("username", primary_key=True),
    Column("role", String(STATE_LENGTH), nullable=False),
    Column("password_hash", String(512), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: An API token (``partita tokens``); only the SHA-256 digest of the secret is stored.
api_token_table = Table(
    "api_token",
    metadata,
    Column("token_id", String(32), primary_key=True),
    _id("username"),
    _id("name"),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    ForeignKeyConstraint(["username"], ["web_user.username"], ondelete="CASCADE"),
    Index("ix_api_token_username", "username"),
)

#: A logged-in browser; the cookie holds the session id, this table its SHA-256 digest.
web_session_table = Table(
    "web_session",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    _id("username"),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    ForeignKeyConstraint(["username"], ["web_user.username"], ondelete="CASCADE"),
    Index("ix_web_session_username", "username"),
    Index("ix_web_session_expires_at", "expires_at"),
)

#: A failed login (the web server's rate limit): a digest of address and username, and when.
login_failure_table = Table(
    "login_failure",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_hash", String(64), nullable=False),
    Column("failed_at", UTCDateTime(), nullable=False),
    Index("ix_login_failure_key_hash_failed_at", "key_hash", "failed_at"),
    Index("ix_login_failure_failed_at", "failed_at"),
)

#: One backfill (``partita backfill create``): its DAG, range, options, status.
backfill_table = Table(
    "backfill",
    metadata,
    _id("backfill_id", primary_key=True),
    _id("dag_id"),
    Column("from_date", UTCDateTime(), nullable=False),
    Column("to_date", UTCDateTime(), nullable=False),
    Column("status", String(STATE_LENGTH), nullable=False),
    Column("reprocess", String(STATE_LENGTH), nullable=False),
    Column("max_active_runs", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("conf", JsonType, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime()),
    Column("partitions", Text),  # the FIRST...LAST of an asset backfill (0024)
    Index("ix_backfill_status", "status"),
)

#: One logical date of a backfill, in order (``ordinal``): its run and what to do with it.
#: ``run_id`` is indexed so that "how many of its runs are active" starts from the few
#: queued and running runs (``ix_dag_run_state``) and finds their planned rows.
backfill_run_table = Table(
    "backfill_run",
    metadata,
    _id("backfill_id", primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("logical_date", UTCDateTime(), nullable=False),
    Column("data_interval_start", UTCDateTime(), nullable=False),
    Column("data_interval_end", UTCDateTime(), nullable=False),
    _id("run_id"),
    Column("action", String(STATE_LENGTH), nullable=False),
    Column("done", Boolean, nullable=False),
    Column("partition_key", String(PARTITION_KEY_LENGTH)),  # an asset backfill's (0024)
    ForeignKeyConstraint(["backfill_id"], ["backfill.backfill_id"], ondelete="CASCADE"),
    Index("ix_backfill_run_run_id", "run_id"),
    Index("ix_backfill_run_backfill_id_done_ordinal", "backfill_id", "done", "ordinal"),
)

#: Slots of a pool held by one task instance, for the scheduler that admitted it (PostgreSQL:
#: the slots of a pool bound the task instances running over all schedulers).
pool_slot_table = Table(
    "pool_slot",
    metadata,
    _id("run_id", primary_key=True),
    _id("task_id", primary_key=True),
    Column("map_index", Integer, primary_key=True),
    _id("pool"),
    Column("slots", Integer, nullable=False),
    _id("scheduler_id"),
    Column("taken_at", UTCDateTime(), nullable=False),
    Index("ix_pool_slot_pool", "pool"),
)

__all__ = [
    "UTCDateTime",
    "api_token_table",
    "asset_check_evaluation_table",
    "asset_materialization_table",
    "asset_partition_table",
    "automation_cursor_table",
    "backfill_run_table",
    "backfill_table",
    "connection_table",
    "dag_run_table",
    "dag_table",
    "dag_version_table",
    "dynamic_partition_table",
    "event_table",
    "import_error_table",
    "instigator_state_table",
    "instigator_tick_table",
    "log_line_table",
    "login_failure_table",
    "metadata",
    "pool_slot_table",
    "pool_table",
    "run_claim_table",
    "scheduler_heartbeat_table",
    "sensor_run_key_table",
    "task_instance_table",
    "task_output_table",
    "variable_table",
    "web_session_table",
    "web_user_table",
]
