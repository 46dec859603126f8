"""Planning a backfill of partitioned assets: one run per partition key of a range.

Assets with a ``BackfillPolicy`` (``single_run()``, ``multi_run(N)``) get one
run per chunk of the range instead, its partition key the chunk's range
``FIRST...LAST`` (``run_ranges``); the rest of the planning is the same.

``create_asset_backfill`` takes the location's partitioned-asset job that
holds the selected assets (``definitions.asset_backfill_job``), the keys of
its partitions definition from FIRST to LAST (both included, in the
definition's order), and the runs of that job that already exist for those
keys (one indexed query per 500 keys); it decides per key, as a backfill of
dates does per logical date, to create a run, run an existing one again
(``--reprocess``) or keep it, and stores the backfill with its planned runs
in one transaction. The scheduler's ``BackfillRunner`` then queues them,
``max_active_runs`` at a time, each run carrying its partition key and the
selected assets in its conf (the job's other assets skip).

The design decision: a planned run's id is derived from the job and the
partition key (``asset_backfill_run_id``) and a key that already has a run
of the job gets no second one, so a backfill over keys a sensor or another
backfill already ran makes no duplicate, and a scheduler that dies between
queueing a run and recording it never queues it twice. A time-window key's
run has the window as its data interval and its start as its logical date;
any other key's run is dated when the backfill was planned.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from partita.definitions.asset_backfill_job import ASSET_SELECTION_KEY, backfill_policy_of
from partita.definitions.asset_key import AssetKey
from partita.definitions.backfill_policy import BackfillPolicy
from partita.definitions.dag import DAG
from partita.definitions.partition_range import (
    RANGE_SEPARATOR,
    partition_keys_in_range,
    split_partition_range,
)
from partita.definitions.time_partitions import TimeWindow, TimeWindowPartitionsDefinition
from partita.engine.partition_context import time_window_of
from partita.scheduler.backfill_plan import (
    BackfillOptions,
    BackfillPlan,
    EmptyBackfillError,
    new_backfill_id,
    planned_action,
)
from partita.storage.backfills import (
    BackfillRecord,
    BackfillStatus,
    PlannedAction,
    PlannedRun,
    Reprocess,
)
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord

_UNSAFE = re.compile(r"[^A-Za-z0-9_.:+-]")


def asset_backfill_run_id(dag_id: str, partition_key: str) -> str:
    """``backfill__2024-01-31__1a2b3c4d5e``: the same for the same job and partition key."""
    digest = hashlib.sha1(f"{dag_id}\0{partition_key}".encode()).hexdigest()[:10]
    return f"backfill__{_UNSAFE.sub('_', partition_key)[:80]}__{digest}"


def plan_asset_backfill(
    backfill_id: str, dag: DAG, keys: Sequence[str], existing: Mapping[str, DagRunRecord],
    reprocess: Reprocess, now: datetime, windows: Sequence[TimeWindow | None] | None = None,
) -> list[PlannedRun]:  # fmt: skip
    """One planned run per partition key (or range key ``A...B``), in order.

    ``windows``: theirs, when known (a range's spans its keys' windows).
    """
    planned: list[PlannedRun] = []
    for ordinal, key in enumerate(keys):
        run = existing.get(key)
        action = planned_action(run, reprocess)
        run_id = asset_backfill_run_id(dag.dag_id, key) if run is None else run.run_id
        window = windows[ordinal] if windows else time_window_of(dag.partitions_def, key)
        start, end = (window.start, window.end) if window is not None else (now, now)
        done = action is PlannedAction.SKIP
        planned.append(
            PlannedRun(backfill_id, ordinal, start, start, end, run_id, action, done, key)
        )
    return planned


def keys_and_windows(
    partitions: Any, first: str, last: str, now: datetime, store: Any
) -> tuple[list[str], list[TimeWindow] | None]:
    """The keys from ``first`` to ``last`` and, for time windows, their windows (one walk)."""
    if isinstance(partitions, TimeWindowPartitionsDefinition):
        begin, end = partitions.start_of_key(first), partitions.start_of_key(last)
        known = partitions.has_partition_key(first, now) and partitions.has_partition_key(last, now)
        if known and begin is not None and end is not None and begin <= end:
            windows = partitions.time_windows_between(first, last)
            return [partitions.key_of(w.start) for w in windows], windows
    keys = partition_keys_in_range(partitions, first, last, now, dynamic_partitions_store=store)
    return keys, None  # the errors (nearest keys, a backwards range) come from here


def run_ranges(
    dag: DAG, policy: BackfillPolicy, keys: list[str], windows: Sequence[TimeWindow] | None
) -> tuple[list[str], list[TimeWindow | None]]:
    """The keys of the runs ``policy`` makes of ``keys``: ``FIRST...LAST`` per run, with windows.

    A run of one partition keeps its key; a range's window spans its first
    key's start to its last key's end (None when the keys are no time windows).
    """
    run_keys: list[str] = []
    spans: list[TimeWindow | None] = []
    at = 0
    for chunk in policy.chunks(keys):
        run_keys.append(chunk[0] if len(chunk) == 1 else f"{chunk[0]}{RANGE_SEPARATOR}{chunk[-1]}")
        begin: TimeWindow | None
        end: TimeWindow | None
        if windows is not None:
            begin, end = windows[at], windows[at + len(chunk) - 1]
        else:
            begin = time_window_of(dag.partitions_def, chunk[0])
            end = time_window_of(dag.partitions_def, chunk[-1])
        spans.append(TimeWindow(begin.start, end.end) if begin and end else None)
        at += len(chunk)
    return run_keys, spans


def create_asset_backfill(
    storage: Storage, dag: DAG, selected: Collection[AssetKey], partitions: str,
    options: BackfillOptions, now: datetime,
) -> BackfillPlan:  # fmt: skip
    """Plan a backfill of ``selected`` (assets of ``dag``) over ``partitions`` and store it.

    ``partitions`` is ``FIRST...LAST`` (or one key). Raises ``PartitionRangeError``
    naming the nearest valid keys for a key that is not a partition, and
    ``EmptyBackfillError`` when the range holds none.
    """
    first, last = split_partition_range(partitions)
    policy = backfill_policy_of(dag, selected)
    keys, found = keys_and_windows(dag.partitions_def, first, last, now, storage.partitions)
    windows: Sequence[TimeWindow | None] | None = found
    if not keys:  # a dynamic definition emptied meanwhile
        raise EmptyBackfillError(f"--partitions {partitions}: the range holds no partition")
    if policy is not None and policy.max_partitions_per_run != 1:
        keys, windows = run_ranges(dag, policy, keys, found)
    existing = storage.backfills.runs_for_partitions(dag.dag_id, keys)
    backfill_id = new_backfill_id()
    planned = plan_asset_backfill(backfill_id, dag, keys, existing, options.reprocess, now, windows)
    names = sorted(k.to_user_string() for k in selected)
    conf = {**dict(options.conf or {}), ASSET_SELECTION_KEY: names}
    backfill = BackfillRecord(
        backfill_id=backfill_id, dag_id=dag.dag_id, from_date=planned[0].logical_date,
        to_date=planned[-1].logical_date, status=BackfillStatus.RUNNING,
        reprocess=options.reprocess, max_active_runs=options.max_active_runs or
        dag.max_active_runs, total=len(planned), created_at=now, conf=conf,
        partitions=f"{first}...{last}",
    )  # fmt: skip
    if not options.dry_run:
        storage.backfills.create(backfill, planned)
    return BackfillPlan(backfill, planned)


__all__ = ["asset_backfill_run_id", "create_asset_backfill", "plan_asset_backfill", "run_ranges"]
