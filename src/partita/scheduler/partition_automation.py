"""Automation conditions of partitioned assets, evaluated per partition.

A partitioned asset with an ``automation_condition`` is not requested as a
whole: its condition is evaluated for the partitions something happened to,
and each partition it holds for becomes a run of the location's
partitioned-asset job (``__asset_job_N__``) for that key, selecting the
assets requested for it. The partitions looked at in one evaluation are:

- those of new materializations of its upstream assets since the last
  evaluation: the same key for an upstream of the same partitions
  definition (identity), the latest partition for an unpartitioned upstream
  (upstreams of other partitions definitions are not followed);
- its latest partition, so ``eager()`` / ``on_missing()`` materialize a newly
  missing partition (once), as Dagster's do in the latest time window.

For each, the condition reads the same ``AssetFacts`` as for an unpartitioned
asset, of that partition: missing (no materialized status), in progress (an
active run of the job for that key selects it), upstream partitions missing
or updated since the partition was last handled, upstream partitions this
evaluation requests. So ``eager()`` on a daily asset materializes only the
day whose upstream day was updated.

The design decision: the per-partition state kept in the automation cursor
is only what was requested (run, time, event mark) for the most recent
partitions (``MAX_PARTITION_STATES`` per asset); what is materialized is
read from the catalog's per-partition status, one query per asset looked at.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from partita.definitions.asset_backfill_job import ASSET_SELECTION_KEY
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_key import AssetKey
from partita.definitions.automation_condition import AssetFacts, UpstreamFacts
from partita.definitions.dag import DAG
from partita.definitions.partitions import PartitionsDefinition
from partita.definitions.states import RunState
from partita.engine.partition_context import time_window_of
from partita.storage.base import Storage
from partita.storage.records import AssetPartitionStatus, DagRunRecord

#: Requested partitions remembered per asset in the cursor (the newest).
MAX_PARTITION_STATES = 1000
#: The run type of the runs automation conditions request.
AUTOMATION_RUN_TYPE = "automation"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:+-]")


@dataclass
class PartitionPlan:
    """What one evaluation decided: the runs (job, key -> assets) and the cursor's new states."""

    requested: dict[tuple[str, str], list[AssetKey]] = field(default_factory=dict)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: bool = False


def automated_partitioned(graph: AssetGraph, jobs: Mapping[AssetKey, DAG]) -> list[AssetKey]:
    """The partitioned assets with a condition (and a job to run them), upstream first."""
    found = []
    for key in graph.order:
        definition = graph.by_key.get(key)
        if definition is None or definition.automation_condition is None:
            continue
        if definition.partitions_def is not None and key in jobs:
            found.append(key)
    return found


class PartitionAutomation:
    """Evaluates the conditions of partitioned assets per partition (``plan``, then ``runs``)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def plan(
        self, graph: AssetGraph, jobs: Mapping[AssetKey, DAG],
        states: Mapping[str, Mapping[str, Any]], last_event_id: int, now: datetime,
    ) -> PartitionPlan:  # fmt: skip
        """The partitions to request now, and the cursor states after."""
        plan = PartitionPlan(states={name: dict(state) for name, state in states.items()})
        in_progress = self._in_progress(jobs)
        for key in automated_partitioned(graph, jobs):
            name = key.to_user_string()
            state = plan.states.get(name)
            if state is None:  # first evaluation: only what happens from now on counts
                plan.states[name] = {"first_seen": now.isoformat(), "seen_mark": last_event_id,
                                     "partitions": {}}  # fmt: skip
                plan.changed = True
                continue
            self._evaluate(graph, key, jobs[key], state, plan, in_progress, last_event_id, now)
        return plan

    def _evaluate(
        self, graph: AssetGraph, key: AssetKey, job: DAG, state: dict[str, Any],
        plan: PartitionPlan, in_progress: Collection[tuple[AssetKey, str]], last: int,
        now: datetime,
    ) -> None:  # fmt: skip
        definition = graph.by_key[key]
        partitions, condition = definition.partitions_def, definition.automation_condition
        assert partitions is not None and condition is not None  # automated_partitioned's
        store = self.storage.partitions
        latest = partitions.get_last_partition_key(now, dynamic_partitions_store=store)
        parents = graph.parents.get(key, [])
        own_runs = {p: s.run_id for p, s in self.storage.assets.partition_statuses(key).items()}
        updated = self._updated_partitions(graph, parents, partitions, state, latest, own_runs)
        candidates = dict.fromkeys([*sorted(updated), *([latest] if latest else [])])
        if state.get("seen_mark") != last:
            state["seen_mark"] = last
            plan.changed = True
        if not candidates:
            return
        own = self._materialized(key)
        parent_status = {p: self._materialized(p) for p in parents}
        remembered: dict[str, Any] = state.setdefault("partitions", {})
        for partition in candidates:
            handled = remembered.get(partition, {})
            upstream = tuple(
                self._upstream(
                    graph, p, partitions, partition, parent_status[p], updated, in_progress, plan
                )
                for p in parents
            )
            facts = AssetFacts(
                now=now, missing=partition not in own,
                in_progress=(key, partition) in in_progress,
                ever_requested="requested_run" in handled,
                handled_at=_time(handled.get("requested_at")) or _time(state["first_seen"]),
                upstream=upstream,
            )  # fmt: skip
            if condition.evaluate(facts):
                plan.requested.setdefault((job.dag_id, partition), []).append(key)
                plan.changed = True

    def _updated_partitions(
        self, graph: AssetGraph, parents: list[AssetKey], partitions: PartitionsDefinition,
        state: Mapping[str, Any], latest: str | None, own_runs: Mapping[str, str],
    ) -> set[str]:  # fmt: skip
        """The partitions whose upstream was materialized since the last evaluation.

        An upstream partition materialized by the run that also materialized the
        asset's own partition (a run of both, a backfill) is not an update of it.
        """
        if not parents:
            return set()
        updated: set[str] = set()
        mark = int(state.get("seen_mark", 0))
        while True:
            page = self.storage.automation.events_after(mark, parents, limit=1000)
            for event in page:
                upstream = graph.by_key.get(event.asset_key)
                upstream_def = getattr(upstream, "partitions_def", None)
                if upstream_def is None and latest is not None:
                    updated.add(latest)
                elif (
                    upstream_def == partitions
                    and event.partition_key is not None
                    and own_runs.get(event.partition_key) != event.run_id
                ):
                    updated.add(event.partition_key)
            if len(page) < 1000:
                return updated
            mark = page[-1].id or mark

    def _upstream(
        self, graph: AssetGraph, parent: AssetKey, partitions: PartitionsDefinition,
        partition: str, materialized: set[str], updated: set[str],
        in_progress: Collection[tuple[AssetKey, str]], plan: PartitionPlan,
    ) -> UpstreamFacts:  # fmt: skip
        upstream = graph.by_key.get(parent)
        same = getattr(upstream, "partitions_def", None) == partitions
        requested = any(parent in keys for (_, p), keys in plan.requested.items() if p == partition)
        missing = (partition not in materialized) if same else not materialized
        return UpstreamFacts(
            missing=missing and not graph.is_external(parent),
            in_progress=(parent, partition) in in_progress,
            updated_since_handled=partition in updated,
            will_be_requested=requested,
        )

    def _materialized(self, key: AssetKey) -> set[str]:
        """The partitions of ``key`` whose latest outcome is materialized (unpartitioned: "")."""
        statuses = self.storage.assets.partition_statuses(key)
        found = {p for p, s in statuses.items() if s.status is AssetPartitionStatus.MATERIALIZED}
        if not statuses and self.storage.assets.latest_materializations([key]):
            found.add("")  # an unpartitioned asset that was materialized
        return found

    def _in_progress(self, jobs: Mapping[AssetKey, DAG]) -> set[tuple[AssetKey, str]]:
        """(asset, partition) that an active run of a partitioned-asset job will materialize."""
        active: set[tuple[AssetKey, str]] = set()
        for dag_id in {d.dag_id for d in jobs.values()}:
            runs = self.storage.runs.list_runs(
                dag_id, states=[RunState.QUEUED, RunState.RUNNING], limit=1000
            )
            for run in runs:
                for text in run.conf.get(ASSET_SELECTION_KEY, []):
                    if run.partition_key is not None:
                        active.add((AssetKey.from_user_string(text), run.partition_key))
        return active

    def runs(
        self, plan: PartitionPlan, jobs: Mapping[str, DAG], last_event_id: int, now: datetime
    ) -> list[DagRunRecord]:
        """One queued run per (job, partition) requested; the cursor remembers them."""
        made = []
        for (dag_id, partition), keys in plan.requested.items():
            names = sorted(k.to_user_string() for k in keys)
            digest = hashlib.sha1("\0".join([dag_id, partition, *names]).encode()).hexdigest()[:8]
            run_id = f"automation__{_UNSAFE.sub('_', partition)[:60]}__{now.isoformat()}__{digest}"
            window = time_window_of(jobs[dag_id].partitions_def, partition)
            start, end = (window.start, window.end) if window is not None else (now, now)
            run = DagRunRecord(
                run_id=run_id, dag_id=dag_id, dag_version="", state=RunState.QUEUED,
                run_type=AUTOMATION_RUN_TYPE, logical_date=start, data_interval_start=start,
                data_interval_end=end, conf={ASSET_SELECTION_KEY: names}, queued_at=now,
                partition_key=partition,
            )  # fmt: skip
            made.append(run)
            for name in names:
                remembered = plan.states[name].setdefault("partitions", {})
                remembered.pop(partition, None)  # newest last
                remembered[partition] = {"requested_run": run_id, "requested_at": now.isoformat(),
                                         "requested_mark": last_event_id}  # fmt: skip
                while len(remembered) > MAX_PARTITION_STATES:
                    del remembered[next(iter(remembered))]
        return made


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


__all__ = ["MAX_PARTITION_STATES", "PartitionAutomation", "PartitionPlan", "automated_partitioned"]
