"""The storage interfaces: six small read interfaces, one atomic writer, and the DAG registry.

``Storage`` bundles a run store, an event log, an output store, a DAG
version store, the asset catalog and the log store. Reads go through the
part that owns them; every write of run records goes through
``Storage.write(batch)``, applied in a single transaction, so that a crash or
a kill never leaves a run half-recorded. The DAG registry (the scheduler's
table of known DAGs) is scheduling state, not run records: each of its writes
is one transaction of its own. Each backend (memory, SQL) passes the same
contract tests in ``tests/storage/``.

A writer in another thread (``storage.writer``) uses the split form:
``prepare(batch)`` snapshots the records in the caller's thread (so the
engine may change them right after), ``write_prepared`` applies several
snapshots in one transaction. Two small writes exist for the owner of a run
and for whoever recovers a dead one: ``heartbeat`` and ``write_if_unchanged``
(a compare-and-set on the run's state and heartbeat).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState, TaskState
from partita.definitions.timetable_base import DagRunInfo
from partita.storage.auth import AuthStore
from partita.storage.automation import AutomationStore
from partita.storage.backfills import BackfillStore
from partita.storage.dag_records import DagParse, DagRecord, ImportErrorRecord
from partita.storage.instigators import InstigatorStore
from partita.storage.records import (
    AssetCheckEvaluationRecord,
    AssetMaterializationRecord,
    AssetPartitionStatusRecord,
    DagRunRecord,
    DagVersionRecord,
    EventKind,
    EventRecord,
    LogLineRecord,
    OutputRecord,
    TaskInstanceRecord,
    TaskSummary,
    WriteBatch,
)
from partita.storage.retention import RetentionStore
from partita.storage.run_queue import PoolStore, RunQueue
from partita.storage.secrets import ConnectionStore, VariableStore
from partita.storage.signing import PickleSigner

_BATCH_FIELDS = (
    "dag_versions",
    "runs",
    "task_instances",
    "events",
    "outputs",
    "materializations",
    "check_evaluations",
    "log_lines",
    "partition_statuses",
)


class RunStore(ABC):
    """Reads DAG runs and their task instances."""

    @abstractmethod
    def get_run(self, run_id: str) -> DagRunRecord:
        """Return the run, or raise ``RunNotFoundError`` naming the id."""

    @abstractmethod
    def list_runs(
        self,
        dag_id: str | None = None,
        *,
        states: Iterable[RunState] | None = None,
        limit: int = 50,
        partition_key: str | None = None,
        offset: int = 0,
        tags: Mapping[str, str] | None = None,
    ) -> list[DagRunRecord]:
        """Runs, newest first (by queued time, then run id), skipping the first ``offset``;
        only those for ``partition_key`` when it is given (with ``dag_id``: one indexed
        lookup), only those carrying every one of ``tags`` when given."""

    @abstractmethod
    def count_runs(
        self,
        dag_id: str | None = None,
        *,
        states: Iterable[RunState] | None = None,
        partition_key: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> int:
        """How many runs ``list_runs`` with the same filters would page through."""

    @abstractmethod
    def get_task_instances(self, run_id: str) -> list[TaskInstanceRecord]:
        """Task instances of a run, ordered by task id then map index."""

    @abstractmethod
    def task_summaries(self, run_id: str) -> list[TaskSummary]:
        """Each task of a run (by task id): its instances counted by state, whether it is
        mapped, its first start and last end; one grouped read however many instances."""

    @abstractmethod
    def page_task_instances(
        self,
        run_id: str,
        *,
        task_id: str | None = None,
        map_index: int | None = None,
        state: TaskState | None = None,
        limit: int,
        offset: int = 0,
    ) -> list[TaskInstanceRecord]:
        """One page of a run's task instances (of one task, of one map index, in one state),
        by task id then map index; an indexed range however many the run has."""

    @abstractmethod
    def latest_runs(self, dag_ids: Sequence[str], per_dag: int) -> dict[str, list[DagRunRecord]]:
        """The newest ``per_dag`` runs of each of ``dag_ids`` (newest first, as
        ``list_runs``); a DAG without runs maps to an empty list."""

    @abstractmethod
    def list_ended_runs(
        self, after: tuple[datetime, str] | None, states: Iterable[RunState], limit: int
    ) -> list[DagRunRecord]:
        """Runs that ended in one of ``states`` after ``(end_date, run_id)``, oldest first.

        What run status sensors read: ordered by (end date, run id), so a reader
        that keeps the last pair it saw as its cursor sees every run once.
        """

    @abstractmethod
    def runs_at(self, dag_id: str, logical_dates: Iterable[datetime]) -> list[DagRunRecord]:
        """The runs of ``dag_id`` at those logical dates, newest first (as ``list_runs``)."""


class EventLog(ABC):
    """Reads the append-only event log."""

    @abstractmethod
    def read_events(
        self,
        run_id: str,
        *,
        task_id: str | None = None,
        map_index: int | None = None,
        kinds: Sequence[EventKind] | None = None,
        after_id: int | None = None,
    ) -> list[EventRecord]:
        """Events of a run in the order they were written, optionally filtered."""


class OutputStore(ABC):
    """Serializes task outputs and loads them back.

    ``encode`` turns a value into an ``OutputRecord`` (which the caller writes
    in a batch); ``load`` turns a stored record back into the value.
    """

    @abstractmethod
    def encode(
        self, run_id: str, task_id: str, map_index: int, key: str, value: Any
    ) -> OutputRecord:
        """Serialize ``value``; large values may be written to their own file right away."""

    @abstractmethod
    def get_record(
        self, run_id: str, task_id: str, map_index: int, key: str
    ) -> OutputRecord | None:
        """The stored record for that output, or None if nothing was stored."""

    @abstractmethod
    def load(self, record: OutputRecord) -> Any:
        """The value a record points to."""

    @abstractmethod
    def list_records(self, run_id: str) -> list[OutputRecord]:
        """All output records of a run."""

    @abstractmethod
    def page_records(
        self,
        run_id: str,
        *,
        task_id: str | None = None,
        map_index: int | None = None,
        limit: int,
        offset: int = 0,
    ) -> list[OutputRecord]:
        """One page of a run's output records (of one task, of one map index), by task id,
        map index and key, without inline payloads (``load`` fetches them)."""


class DagStore(ABC):
    """Reads stored DAG versions (serialized structure, keyed by hash)."""

    @abstractmethod
    def get_dag_version(self, dag_id: str, version: str) -> DagVersionRecord | None:
        """The stored version, or None."""


class AssetCatalog(ABC):
    """Reads the history of asset materializations and check evaluations (written through
    ``WriteBatch``)."""

    @abstractmethod
    def latest_materializations(
        self, asset_keys: Iterable[AssetKey] | None = None
    ) -> dict[AssetKey, AssetMaterializationRecord]:
        """The newest materialization of each key (of ``asset_keys``, or of every key)."""

    @abstractmethod
    def list_materializations(
        self,
        asset_key: AssetKey | None = None,
        *,
        run_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AssetMaterializationRecord]:
        """Materializations, newest first, optionally of one key and/or one run (``offset``
        skipped first)."""

    @abstractmethod
    def asset_keys(self) -> list[AssetKey]:
        """Every key materialized at least once, sorted."""

    @abstractmethod
    def latest_check_evaluations(
        self, asset_keys: Iterable[AssetKey] | None = None
    ) -> dict[tuple[AssetKey, str], AssetCheckEvaluationRecord]:
        """The newest evaluation of each (asset key, check name), of ``asset_keys`` or of all."""

    @abstractmethod
    def list_check_evaluations(
        self,
        asset_key: AssetKey | None = None,
        *,
        run_id: str | None = None,
        limit: int = 100,
    ) -> list[AssetCheckEvaluationRecord]:
        """Check evaluations, newest first, optionally of one asset and/or one run."""

    @abstractmethod
    def partition_statuses(self, asset_key: AssetKey) -> dict[str, AssetPartitionStatusRecord]:
        """The latest outcome of each partition of ``asset_key`` that ever ran, by key."""


class DynamicPartitionStore(ABC):
    """The keys of dynamic partitions definitions, by definition name, in the order added.

    Each method is one transaction of its own (like the DAG registry): keys are
    definitions data, not run records.
    """

    @abstractmethod
    def add_partitions(self, partitions_def_name: str, partition_keys: Sequence[str]) -> list[str]:
        """Add the keys not there yet (in order); return those added."""

    @abstractmethod
    def delete_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> list[str]:
        """Delete the keys that are there; return those deleted."""

    @abstractmethod
    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The keys of ``partitions_def_name``, in the order they were added."""

    @abstractmethod
    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        """True when ``partition_key`` is a key of ``partitions_def_name`` (one indexed read)."""

    @abstractmethod
    def partitions_def_names(self) -> dict[str, int]:
        """Every definition name with keys, and how many it has, sorted by name."""


class DagClaim(ABC):
    """Due DAGs held by one scheduler until the claim ends; no other claim gets them meanwhile.

    Next runs set through the claim are written when the claim ends without
    an error, and dropped when it ends with one.
    """

    #: The claimed DAGs, soonest due first.
    dags: list[DagRecord]

    @abstractmethod
    def set_next_run(self, dag_id: str, next_run: DagRunInfo | None) -> None:
        """Move a claimed DAG's next run (None: the timetable asks for no more runs)."""


class DagRegistry(ABC):
    """The DAGs the scheduler knows: where each lives, paused or not, and when it is next due.

    Rows come from parses (``record_parse``); ``next_dagrun_create_after`` is
    the "next due" column that ``due_dags`` and ``claim_due_dags`` find with
    one indexed query. Paused and inactive DAGs are never due.
    """

    @abstractmethod
    def record_parse(self, parse: DagParse) -> None:
        """Record a parse of one code location, in one transaction.

        New DAGs are inserted, paused when their ``is_paused_upon_creation``
        says so (or, when they say nothing, ``parse.paused_at_creation``);
        known DAGs keep their paused flag and their next run, unless their
        schedule (``timetable_summary``) changed, when the parsed next run
        replaces it. DAGs of the location not found again become inactive
        (unless their file failed to import this time). The location's import
        errors replace its previous ones.
        """

    @abstractmethod
    def get_dag(self, dag_id: str) -> DagRecord | None:
        """The DAG's row, or None when no parse has recorded it."""

    @abstractmethod
    def list_dags(
        self,
        *,
        code_location: str | None = None,
        paused: bool | None = None,
        active: bool | None = True,
    ) -> list[DagRecord]:
        """DAGs sorted by id; None for a filter means either."""

    @abstractmethod
    def page_dags(
        self,
        *,
        search: str | None = None,
        tag: str | None = None,
        tags: Sequence[str] = (),
        pattern: str | None = None,
        paused: bool | None = None,
        limit: int,
        offset: int = 0,
    ) -> tuple[list[DagRecord], int]:
        """One page of the active DAGs sorted by id, and how many match in all.

        ``search`` keeps the ids containing it, or matching it when it is a
        glob (``*``, ``?``), in any case; ``pattern`` keeps the ids the glob
        matches whole, case and all (only ``*`` and ``?`` are special); ``tag``
        and every one of ``tags`` must be tags of the DAG; ``paused`` keeps the
        paused (True) or unpaused (False) DAGs.
        """

    @abstractmethod
    def list_tags(self) -> list[str]:
        """Every tag of an active DAG, once each, sorted (one read, not one per DAG)."""

    @abstractmethod
    def set_paused(self, dag_id: str, paused: bool) -> DagRecord:
        """Pause or unpause a DAG; ``DagNotFoundError`` when it is not in the registry."""

    @abstractmethod
    def set_next_run(self, dag_id: str, next_run: DagRunInfo | None) -> None:
        """Move a DAG's next run; ``DagNotFoundError`` when it is not in the registry."""

    @abstractmethod
    def due_dags(self, now: datetime, limit: int) -> list[DagRecord]:
        """Active, unpaused DAGs whose next run may be created at ``now``, soonest first."""

    @abstractmethod
    def claim_due_dags(self, now: datetime, limit: int) -> AbstractContextManager[DagClaim]:
        """``due_dags``, held until the ``with`` block ends; concurrent claims skip them.

        On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED``; on
        SQLite (one writer at a time) a second claim waits for the first.
        """

    @abstractmethod
    def list_import_errors(self, code_location: str | None = None) -> list[ImportErrorRecord]:
        """Import errors of the last parse of each location, sorted by file."""


class LogStore(ABC):
    """Reads task logs, one try of one task instance at a time, by line number (``seq``).

    Lines are written through ``WriteBatch.log_lines`` while a task runs, so
    a reader sees a running task's lines; every read is bounded (a range, a
    tail, the lines after a cursor), so a log of any size is cheap to read.
    """

    @abstractmethod
    def read_lines(
        self,
        run_id: str,
        task_id: str,
        map_index: int = -1,
        try_number: int = 1,
        *,
        start: int = 0,
        limit: int | None = None,
    ) -> list[LogLineRecord]:
        """The lines with ``seq >= start``, in order, at most ``limit`` of them.

        A live reader follows a try by passing the last ``seq`` it saw, plus one.
        """

    @abstractmethod
    def tail_lines(
        self, run_id: str, task_id: str, map_index: int, try_number: int, count: int
    ) -> list[LogLineRecord]:
        """The last ``count`` lines of the try, in order."""

    @abstractmethod
    def log_tries(self, run_id: str, task_id: str, map_index: int = -1) -> list[int]:
        """The try numbers of the task instance that have at least one line, ascending."""


class Storage(ABC):
    """A metadata store: six read interfaces, one transactional writer, the DAG registry,
    the run queue, pools, connections and variables, the sensor and schedule state
    (``instigators``)."""

    runs: RunStore
    events: EventLog
    outputs: OutputStore
    dags: DagStore
    assets: AssetCatalog
    logs: LogStore
    registry: DagRegistry
    queue: RunQueue
    pools: PoolStore
    instigators: InstigatorStore
    connections: ConnectionStore
    variables: VariableStore
    partitions: DynamicPartitionStore
    #: Asset events after a cursor, and the cursors of the event-driven services.
    automation: AutomationStore
    #: Users, API tokens and login sessions of the web server.
    auth: AuthStore
    backfills: BackfillStore
    retention: RetentionStore
    #: True when what is written outlives this process (SQL); False for the memory store.
    persistent: bool = False
    #: The folder for files next to the database (large outputs; the default filesystem
    #: IO manager's values); None for a store that keeps no files.
    storage_dir: Path | None = None
    #: True when ``write`` may be called from another thread while this one reads or
    #: writes (a live log flusher does); False for a store on a single shared connection.
    threadsafe: bool = True
    #: What signs and checks the pickles this store writes; None for a store that keeps none.
    signer: PickleSigner | None = None

    @abstractmethod
    def write(self, batch: WriteBatch) -> None:
        """Apply a batch atomically: all of it or none of it."""

    def prepare(self, batch: WriteBatch) -> Any:
        """A snapshot of ``batch`` for ``write_prepared``; later changes to its records don't count.

        Raises the error ``write`` would raise for a value the store cannot hold.
        """
        return WriteBatch(
            runs=list(batch.runs),
            task_instances=list(batch.task_instances),
            events=list(batch.events),
            outputs=list(batch.outputs),
            dag_versions=list(batch.dag_versions),
            materializations=list(batch.materializations),
            check_evaluations=list(batch.check_evaluations),
            log_lines=list(batch.log_lines),
            partition_statuses=list(batch.partition_statuses),
        )

    def write_prepared(self, prepared: Sequence[Any]) -> None:
        """Apply snapshots made by ``prepare``, in order, in one transaction."""
        merged = WriteBatch()
        for batch in prepared:
            for name in _BATCH_FIELDS:
                getattr(merged, name).extend(getattr(batch, name))
        self.write(merged)

    @abstractmethod
    def heartbeat(self, run_id: str, at: datetime) -> bool:
        """Set the run's ``heartbeat_at`` if it is still running; False if it is not."""

    @abstractmethod
    def write_if_unchanged(self, batch: WriteBatch, seen: DagRunRecord) -> bool:
        """Apply ``batch`` only if run ``seen.run_id`` still has ``seen``'s state and heartbeat.

        A compare-and-set: of several processes that saw the same run and write at
        once, exactly one succeeds (True); the others write nothing (False).
        """

    @abstractmethod
    def write_if_claimed(
        self, batch: WriteBatch, run_id: str, task_id: str, map_index: int, try_number: int
    ) -> bool:
        """Apply ``batch`` (a try's end) only while try ``try_number`` of the task instance is
        the one claimed and the newest (no later try was handed out since).

        True when written. A worker whose try was given up on (its scheduler died and
        the run was resumed with a new try) so writes nothing over the newer try's row.
        """

    @abstractmethod
    def claim_task_instance(
        self, run_id: str, task_id: str, map_index: int, try_number: int, hostname: str,
        at: datetime,
    ) -> bool:  # fmt: skip
        """Claim try ``try_number`` of a task instance for ``hostname``; mark it running.

        A compare-and-set on the instance's claim, which only this method writes:
        it succeeds (True) when the row exists, holds this try or an earlier one,
        and no try this late was claimed before; so a message delivered twice runs
        its try at most once, whatever the row's state was written back to since.
        """

    @abstractmethod
    def task_instance_claims(self, run_id: str) -> dict[tuple[str, int], tuple[int, str]]:
        """(task id, map index) -> (claimed try, who claimed it), for the run's claimed tries."""

    @abstractmethod
    def request_cancel(self, run_id: str, at: datetime, grace: float) -> bool:
        """Record a request to cancel run ``run_id`` if it is running; False if it is not.

        Sets only the run's ``cancel_requested_at`` and ``cancel_grace`` and appends a
        ``cancel_requested`` event, in one transaction that checks the state, so it
        never overwrites what the run's owner writes meanwhile.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files."""

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "AssetCatalog",
    "DagClaim",
    "DagRegistry",
    "DagStore",
    "DynamicPartitionStore",
    "EventLog",
    "LogStore",
    "OutputStore",
    "RunStore",
    "Storage",
]
