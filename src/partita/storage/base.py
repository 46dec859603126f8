"""The storage interfaces: six small read interfaces and one atomic writer.

``Storage`` bundles a run store, an event log, an output store, a DAG
version store, the asset catalog and the log store. Reads go through the part that owns
them; every write goes through ``Storage.write(batch)``, applied in a single
transaction, so that a crash or a kill never leaves a run half-recorded. Each backend (memory, SQL)
passes the same contract tests in ``tests/storage/``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState
from partita.storage.records import (
    AssetMaterializationRecord,
    DagRunRecord,
    DagVersionRecord,
    EventKind,
    EventRecord,
    LogLineRecord,
    OutputRecord,
    TaskInstanceRecord,
    WriteBatch,
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
    ) -> list[DagRunRecord]:
        """Runs, newest first (by queued time, then run id)."""

    @abstractmethod
    def get_task_instances(self, run_id: str) -> list[TaskInstanceRecord]:
        """Task instances of a run, ordered by task id then map index."""


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


class DagStore(ABC):
    """Reads stored DAG versions (serialized structure, keyed by hash)."""

    @abstractmethod
    def get_dag_version(self, dag_id: str, version: str) -> DagVersionRecord | None:
        """The stored version, or None."""


class AssetCatalog(ABC):
    """Reads the history of asset materializations (written through ``WriteBatch``)."""

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
    ) -> list[AssetMaterializationRecord]:
        """Materializations, newest first, optionally of one key and/or one run."""

    @abstractmethod
    def asset_keys(self) -> list[AssetKey]:
        """Every key materialized at least once, sorted."""


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
    """A metadata store: six read interfaces and one transactional writer."""

    runs: RunStore
    events: EventLog
    outputs: OutputStore
    dags: DagStore
    assets: AssetCatalog
    logs: LogStore
    #: True when what is written outlives this process (SQL); False for the memory store.
    persistent: bool = False
    #: The folder for files next to the database (large outputs; the default filesystem
    #: IO manager's values); None for a store that keeps no files.
    storage_dir: Path | None = None
    #: True when ``write`` may be called from another thread while this one reads or
    #: writes (a live log flusher does); False for a store on a single shared connection.
    threadsafe: bool = True

    @abstractmethod
    def write(self, batch: WriteBatch) -> None:
        """Apply a batch atomically: all of it or none of it."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files."""

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "AssetCatalog",
    "DagStore",
    "EventLog",
    "LogStore",
    "OutputStore",
    "RunStore",
    "Storage",
]
