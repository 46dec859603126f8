"""An in-memory ``Storage``: the ephemeral store of ``dag.test()`` and the twin of the SQL one.

Nothing is serialized: outputs are kept as the objects themselves, so a test
run costs no pickling and leaves no files. Records are copied on write so
that later mutation by the engine cannot change what was "stored". A batch
is checked before anything of it is applied, by the rules of the SQL store
(``storage.values``: ids that fit, JSON without NaN, clean text; task
instances of recorded runs; no log line written twice), so both accept
exactly the same batches and read back the same values.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from msgspec.structs import replace

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState, TaskState
from partita.exceptions import RunNotFoundError, StorageError
from partita.storage.base import (
    AssetCatalog,
    DagStore,
    EventLog,
    LogStore,
    OutputStore,
    RunStore,
    Storage,
)
from partita.storage.memory_auth import MemoryAuthStore
from partita.storage.memory_automation import MemoryAutomationStore
from partita.storage.memory_backfills import MemoryBackfillStore
from partita.storage.memory_instigators import MemoryInstigatorStore
from partita.storage.memory_partitions import MemoryDynamicPartitions
from partita.storage.memory_registry import MemoryDagRegistry
from partita.storage.memory_retention import MemoryParts, MemoryRetentionStore
from partita.storage.memory_run_queue import MemoryPoolStore, MemoryRunQueue
from partita.storage.memory_secrets import MemoryConnectionStore, MemoryVariableStore
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
    fold_summaries,
    stamp_id,
)
from partita.storage.values import (
    UnstorableValueError,
    check_batch_ids,
    clean_text,
    storable_json,
)

_RUN_ID = attrgetter("run_id")
_OutputKey = tuple[str, str, int, str]
_TryKey = tuple[str, str, int, int]
_NEVER = datetime.min.replace(tzinfo=UTC)


class _MemoryRuns(RunStore):
    def __init__(self) -> None:
        self.runs: dict[str, DagRunRecord] = {}
        self.tis: dict[str, dict[tuple[str, int], TaskInstanceRecord]] = {}

    def get_run(self, run_id: str) -> DagRunRecord:
        try:
            return self.runs[run_id]
        except KeyError:
            raise RunNotFoundError(
                f"no run with id {run_id!r}; 'partita runs list' shows the known runs"
            ) from None

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
        found = self._matching(dag_id, states, partition_key, tags)
        found.sort(key=_newest_first_key, reverse=True)
        return found[offset : offset + limit]

    def count_runs(
        self,
        dag_id: str | None = None,
        *,
        states: Iterable[RunState] | None = None,
        partition_key: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> int:
        return len(self._matching(dag_id, states, partition_key, tags))

    def _matching(
        self,
        dag_id: str | None,
        states: Iterable[RunState] | None,
        partition_key: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> list[DagRunRecord]:
        wanted = set(states) if states is not None else None
        tag_items = list((tags or {}).items())
        return [
            r
            for r in self.runs.values()
            if (dag_id is None or r.dag_id == dag_id)
            and (wanted is None or r.state in wanted)
            and (partition_key is None or r.partition_key == partition_key)
            and all(r.tags.get(k) == v for k, v in tag_items)
        ]

    def get_task_instances(self, run_id: str) -> list[TaskInstanceRecord]:
        tis = self.tis.get(run_id, {})
        return [tis[k] for k in sorted(tis)]

    def task_summaries(self, run_id: str) -> list[TaskSummary]:
        rows: dict[tuple[str, str], list[Any]] = {}
        for ti in self.get_task_instances(run_id):
            row = rows.setdefault((ti.task_id, str(ti.state)), [0, -1, None, None, 0])
            row[0] += 1
            row[4] = max(row[4], ti.try_number)
            row[1] = max(row[1], ti.map_index)
            if ti.start_date is not None and (row[2] is None or ti.start_date < row[2]):
                row[2] = ti.start_date
            if ti.end_date is not None and (row[3] is None or ti.end_date > row[3]):
                row[3] = ti.end_date
        return fold_summaries((task, state, *rest) for (task, state), rest in rows.items())

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
        found = [
            ti
            for ti in self.get_task_instances(run_id)
            if (task_id is None or ti.task_id == task_id)
            and (map_index is None or ti.map_index == map_index)
            and (state is None or ti.state == state)
        ]
        return found[offset : offset + limit]

    def latest_runs(self, dag_ids: Sequence[str], per_dag: int) -> dict[str, list[DagRunRecord]]:
        return {dag_id: self.list_runs(dag_id, limit=per_dag) for dag_id in dag_ids}

    def list_ended_runs(
        self, after: tuple[datetime, str] | None, states: Iterable[RunState], limit: int
    ) -> list[DagRunRecord]:
        wanted = set(states)
        ended = sorted(
            ((r.end_date, r.run_id), r)
            for r in list(self.runs.values())
            if r.end_date is not None and r.state in wanted
        )
        return [r for key, r in ended if after is None or key > after][:limit]

    def runs_at(self, dag_id: str, logical_dates: Iterable[datetime]) -> list[DagRunRecord]:
        dates = set(logical_dates)
        found = [r for r in self.runs.values() if r.dag_id == dag_id and r.logical_date in dates]
        found.sort(key=_newest_first_key, reverse=True)
        return found


def _newest_first_key(run: DagRunRecord) -> tuple[bool, datetime, str]:
    """Sort key (reversed) of ``list_runs``: by queued time, unqueued runs last, then run id."""
    return (run.queued_at is not None, run.queued_at or _NEVER, run.run_id)


class _MemoryEvents(EventLog):
    def __init__(self) -> None:
        self.by_run: dict[str, list[EventRecord]] = {}
        self.next_id = 1

    def read_events(
        self,
        run_id: str,
        *,
        task_id: str | None = None,
        map_index: int | None = None,
        kinds: Sequence[EventKind] | None = None,
        after_id: int | None = None,
    ) -> list[EventRecord]:
        wanted = set(kinds) if kinds is not None else None
        return [
            e
            for e in self.by_run.get(run_id, ())
            if (task_id is None or e.task_id == task_id)
            and (map_index is None or e.map_index == map_index)
            and (wanted is None or e.kind in wanted)
            and (after_id is None or (e.id is not None and e.id > after_id))
        ]


class _MemoryOutputs(OutputStore):
    def __init__(self) -> None:
        self.records: dict[_OutputKey, OutputRecord] = {}
        self.values: dict[str, Any] = {}

    def encode(
        self, run_id: str, task_id: str, map_index: int, key: str, value: Any
    ) -> OutputRecord:
        location = f"memory://{run_id}/{task_id}/{map_index}/{key}"
        self.values[location] = value
        return OutputRecord(run_id, task_id, map_index, key, location)

    def get_record(
        self, run_id: str, task_id: str, map_index: int, key: str
    ) -> OutputRecord | None:
        return self.records.get((run_id, task_id, map_index, key))

    def load(self, record: OutputRecord) -> Any:
        return self.values[record.location]

    def list_records(self, run_id: str) -> list[OutputRecord]:
        return [r for k, r in sorted(self.records.items()) if k[0] == run_id]

    def page_records(
        self,
        run_id: str,
        *,
        task_id: str | None = None,
        map_index: int | None = None,
        limit: int,
        offset: int = 0,
    ) -> list[OutputRecord]:
        found = [
            replace(r, payload=None)
            for r in self.list_records(run_id)
            if (task_id is None or r.task_id == task_id)
            and (map_index is None or r.map_index == map_index)
        ]
        return found[offset : offset + limit]


class _MemoryDags(DagStore):
    def __init__(self) -> None:
        self.versions: dict[tuple[str, str], DagVersionRecord] = {}

    def get_dag_version(self, dag_id: str, version: str) -> DagVersionRecord | None:
        return self.versions.get((dag_id, version))


class _MemoryAssets(AssetCatalog):
    def __init__(self) -> None:
        self.records: list[AssetMaterializationRecord] = []
        self.latest: dict[AssetKey, AssetMaterializationRecord] = {}
        self.evaluations: list[AssetCheckEvaluationRecord] = []
        self.latest_checks: dict[tuple[AssetKey, str], AssetCheckEvaluationRecord] = {}
        self.partitions: dict[AssetKey, dict[str, AssetPartitionStatusRecord]] = {}
        self.next_id = 1

    def old_materialization_ids(self, cutoff: datetime, keep: int) -> list[int]:
        """Retention: ids before ``cutoff`` with ``keep`` newer ones of their asset partition."""
        newer: dict[tuple[AssetKey, str | None], int] = {}
        old: list[int] = []
        for record in reversed(self.records):
            key = (record.asset_key, record.partition_key)
            if newer.get(key, 0) >= keep and record.timestamp < cutoff and record.id is not None:
                old.append(record.id)
            newer[key] = newer.get(key, 0) + 1
        return sorted(old)

    def delete_materializations(self, ids: Iterable[int]) -> int:
        """Retention: delete these materializations (never an asset's latest; see above)."""
        chosen = set(ids)
        before = len(self.records)
        self.records[:] = [r for r in self.records if r.id not in chosen]  # shared list
        return before - len(self.records)

    def latest_materializations(
        self, asset_keys: Iterable[AssetKey] | None = None
    ) -> dict[AssetKey, AssetMaterializationRecord]:
        if asset_keys is None:
            return {k: r for k, r in self.latest.items()}
        return {k: self.latest[k] for k in asset_keys if k in self.latest}

    def list_materializations(
        self,
        asset_key: AssetKey | None = None,
        *,
        run_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AssetMaterializationRecord]:
        found: list[AssetMaterializationRecord] = []
        for record in reversed(self.records):
            if len(found) >= offset + limit:
                break
            if (asset_key is None or record.asset_key == asset_key) and (
                run_id is None or record.run_id == run_id
            ):
                found.append(record)
        return found[offset:]

    def asset_keys(self) -> list[AssetKey]:
        return sorted(self.latest, key=lambda k: k.path)

    def latest_check_evaluations(
        self, asset_keys: Iterable[AssetKey] | None = None
    ) -> dict[tuple[AssetKey, str], AssetCheckEvaluationRecord]:
        wanted = None if asset_keys is None else set(asset_keys)
        return {k: r for k, r in self.latest_checks.items() if wanted is None or k[0] in wanted}

    def list_check_evaluations(
        self,
        asset_key: AssetKey | None = None,
        *,
        run_id: str | None = None,
        limit: int = 100,
    ) -> list[AssetCheckEvaluationRecord]:
        found = [
            r
            for r in reversed(self.evaluations)
            if (asset_key is None or r.asset_key == asset_key)
            and (run_id is None or r.run_id == run_id)
        ]
        return found[:limit]

    def partition_statuses(self, asset_key: AssetKey) -> dict[str, AssetPartitionStatusRecord]:
        return dict(self.partitions.get(asset_key, {}))


class _MemoryLogs(LogStore):
    def __init__(self) -> None:
        #: Each try's lines, sorted by seq.
        self.tries: dict[_TryKey, list[LogLineRecord]] = {}

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
        lines = self.tries.get((run_id, task_id, map_index, try_number), [])
        first = bisect.bisect_left(lines, start, key=_SEQ)
        end = len(lines) if limit is None else first + max(limit, 0)
        return [line for line in lines[first:end]]

    def tail_lines(
        self, run_id: str, task_id: str, map_index: int, try_number: int, count: int
    ) -> list[LogLineRecord]:
        lines = self.tries.get((run_id, task_id, map_index, try_number), [])
        return [line for line in lines[max(len(lines) - count, 0) :]] if count > 0 else []

    def log_tries(self, run_id: str, task_id: str, map_index: int = -1) -> list[int]:
        return sorted(
            key[3]
            for key, lines in self.tries.items()
            if key[:3] == (run_id, task_id, map_index) and lines
        )

    def check(self, lines: list[LogLineRecord]) -> None:
        """Refuse a line whose (try, seq) is already stored or twice in ``lines``."""
        new: set[tuple[_TryKey, int]] = set()
        for line in lines:
            key = (line.run_id, line.task_id, line.map_index, line.try_number)
            stored = self.tries.get(key)
            mark = (key, line.seq)
            if mark in new or (stored and _has_seq(stored, line.seq)):
                raise StorageError(
                    f"could not write a batch of run {line.run_id!r}: log line {line.seq} of "
                    f"task {line.task_id!r} (map index {line.map_index}, try "
                    f"{line.try_number}) is already stored; each line is written once"
                )
            new.add(mark)

    def add(self, line: LogLineRecord) -> None:
        message = clean_text(line.message)
        stored = line if message == line.message else replace(line, message=message)
        lines = self.tries.setdefault(
            (line.run_id, line.task_id, line.map_index, line.try_number), []
        )
        if not lines or lines[-1].seq < line.seq:
            lines.append(stored)
        else:
            bisect.insort(lines, stored, key=_SEQ)


def _SEQ(line: LogLineRecord) -> int:
    return line.seq


def _has_seq(lines: list[LogLineRecord], seq: int) -> bool:
    at = bisect.bisect_left(lines, seq, key=_SEQ)
    return at < len(lines) and lines[at].seq == seq


def _keep_changed(changed: dict[int, Any], record: object, value: Any, where: str) -> None:
    cleaned = storable_json(value, where)
    if cleaned is not value:
        changed[id(record)] = cleaned


class MemoryStorage(Storage):
    """Keeps everything in dictionaries of this process; thread-safe for writes."""

    persistent = False

    def __init__(self) -> None:
        self._runs = _MemoryRuns()
        self._events = _MemoryEvents()
        self._outputs = _MemoryOutputs()
        self._dags = _MemoryDags()
        self._assets = _MemoryAssets()
        self._logs = _MemoryLogs()
        self.runs = self._runs
        self.events = self._events
        self.outputs = self._outputs
        self.dags = self._dags
        self.assets = self._assets
        self.logs = self._logs
        self.registry = MemoryDagRegistry()
        self._lock = threading.Lock()
        self.queue = MemoryRunQueue(self._runs.runs, self._lock)
        self.automation = MemoryAutomationStore(self._assets.records, self._runs.runs, self._lock)
        self.pools = MemoryPoolStore()
        self.instigators = MemoryInstigatorStore(self.queue)
        self.connections = MemoryConnectionStore()
        self.variables = MemoryVariableStore()
        self.partitions = MemoryDynamicPartitions()
        self.auth = MemoryAuthStore()
        self.backfills = MemoryBackfillStore(self._runs.runs, self._lock)
        parts = MemoryParts(
            self._runs.runs, self._runs.tis, self._events.by_run, self._outputs.records,
            self._logs.tries, self.backfills, self.queue, self._lock, self.instigators,
            self._assets, self.auth,
        )  # fmt: skip
        self.retention = MemoryRetentionStore(parts)
        #: run id -> (task id, map index) -> (claimed try, claimed by).
        self._claims: dict[str, dict[tuple[str, int], tuple[int, str]]] = {}

    def heartbeat(self, run_id: str, at: datetime) -> bool:
        with self._lock:
            run = self._runs.runs.get(run_id)
            if run is None or run.state is not RunState.RUNNING:
                return False
            self._runs.runs[run_id] = replace(run, heartbeat_at=at)
            return True

    def write_if_unchanged(self, batch: WriteBatch, seen: DagRunRecord) -> bool:
        with self._lock:
            run = self._runs.runs.get(seen.run_id)
            if run is None or (run.state, run.heartbeat_at) != (seen.state, seen.heartbeat_at):
                return False
            self._apply(batch, self._checked(batch))
            return True

    def write_if_claimed(
        self, batch: WriteBatch, run_id: str, task_id: str, map_index: int, try_number: int
    ) -> bool:
        with self._lock:
            ti = self._runs.tis.get(run_id, {}).get((task_id, map_index))
            claimed = self._claims.get(run_id, {}).get((task_id, map_index), (0, ""))[0]
            if ti is None or ti.try_number != try_number or claimed != try_number:
                return False
            self._apply(batch, self._checked(batch))
            return True

    def claim_task_instance(
        self, run_id: str, task_id: str, map_index: int, try_number: int, hostname: str,
        at: datetime,
    ) -> bool:  # fmt: skip
        with self._lock:
            ti = self._runs.tis.get(run_id, {}).get((task_id, map_index))
            claims = self._claims.setdefault(run_id, {})
            claimed = claims.get((task_id, map_index), (0, ""))[0]
            if ti is None or ti.try_number > try_number or claimed >= try_number:
                return False
            claims[(task_id, map_index)] = (try_number, hostname)
            running = replace(ti, try_number=try_number).started(at, hostname)
            self._runs.tis[run_id][(task_id, map_index)] = running
            return True

    def task_instance_claims(self, run_id: str) -> dict[tuple[str, int], tuple[int, str]]:
        with self._lock:
            return dict(self._claims.get(run_id, {}))

    def request_cancel(self, run_id: str, at: datetime, grace: float) -> bool:
        with self._lock:
            run = self._runs.runs.get(run_id)
            if run is None or run.state is not RunState.RUNNING:
                return False
            self._runs.runs[run_id] = run.cancel_requested(at, grace)
            event = EventRecord(
                run_id, EventKind.CANCEL_REQUESTED, at, payload={"grace": grace},
                id=self._events.next_id,
            )  # fmt: skip
            self._events.next_id += 1
            self._events.by_run.setdefault(run_id, []).append(event)
            return True

    def write(self, batch: WriteBatch) -> None:
        with self._lock:
            self._apply(batch, self._checked(batch))

    def _checked(self, batch: WriteBatch) -> dict[int, Any]:
        try:
            return self._checked_values(batch)
        except UnstorableValueError as exc:
            raise StorageError(f"memory store: could not write a batch: {exc}") from exc

    def _checked_values(self, batch: WriteBatch) -> dict[int, Any]:
        """Check ``batch`` as the SQL store would; return the JSON values cleaning changed."""
        check_batch_ids(batch)
        unknown = set(map(_RUN_ID, batch.task_instances)) - self._runs.runs.keys()
        unknown.difference_update(run.run_id for run in batch.runs)
        if unknown:
            ti = next(t for t in batch.task_instances if t.run_id in unknown)
            raise StorageError(
                f"memory store: could not write a batch: task instance {ti.task_id!r} "
                f"belongs to run {ti.run_id!r}, which is not recorded; write the run first"
            )
        self._logs.check(batch.log_lines)
        changed: dict[int, Any] = {}  # id(record) -> its JSON value, when cleaning changed it
        for run in batch.runs:
            _keep_changed(changed, run, run.conf, "the run conf")
        for m in batch.materializations:
            _keep_changed(changed, m, m.metadata, "asset metadata")
        for evaluation in batch.check_evaluations:
            _keep_changed(changed, evaluation, evaluation.metadata, "asset check metadata")
        for event in batch.events:  # inlined: a batch may hold thousands
            payload = event.payload
            cleaned = storable_json(payload, "an event payload")
            if cleaned is not payload:
                changed[id(event)] = cleaned
        return changed

    def _apply(self, batch: WriteBatch, changed: dict[int, Any]) -> None:
        for run in batch.runs:
            conf = changed.get(id(run), run.conf)
            self._runs.runs[run.run_id] = run if conf is run.conf else replace(run, conf=conf)
        tis = self._runs.tis
        for ti in batch.task_instances:
            tis.setdefault(ti.run_id, {})[(ti.task_id, ti.map_index)] = ti
        events = self._events
        for event in batch.events:
            stamp_id(event, events.next_id)  # the caller's record gets its id, as in SQL
            events.next_id += 1
            if changed and id(event) in changed:
                # the caller's record keeps its own payload
                event = replace(event, payload=changed[id(event)])
            events.by_run.setdefault(event.run_id, []).append(event)
        for out in batch.outputs:
            self._outputs.records[(out.run_id, out.task_id, out.map_index, out.key)] = out
        for version in batch.dag_versions:
            self._dags.versions.setdefault((version.dag_id, version.version), version)
        assets = self._assets
        for materialization in batch.materializations:
            stored = replace(  # the caller's record keeps id None, as in SQL
                materialization,
                metadata=changed.get(id(materialization), materialization.metadata),
                id=assets.next_id,
            )
            assets.next_id += 1
            assets.records.append(stored)
            assets.latest[stored.asset_key] = stored
        for evaluation in batch.check_evaluations:
            kept = replace(
                evaluation,
                metadata=changed.get(id(evaluation), evaluation.metadata),
                id=len(assets.evaluations) + 1,
            )
            assets.evaluations.append(kept)
            assets.latest_checks[(kept.asset_key, kept.check_name)] = kept
        for line in batch.log_lines:
            self._logs.add(line)
        for status in batch.partition_statuses:
            assets.partitions.setdefault(status.asset_key, {})[status.partition_key] = status


__all__ = ["MemoryStorage"]
