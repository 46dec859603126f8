"""``AutomationService``: evaluates the automation conditions of the loaded assets.

Each evaluation computes, for every asset with an ``automation_condition``
(upstream first), the facts its condition reads (``AssetFacts``: missing,
in progress, upstreams updated since it was last handled...) from the asset
catalog, the automation job's queued and running runs and the service's
cursor; it then queues one run of the code location's automation job
(``__automation_<file>__``) materializing every asset whose condition is
true. The assets of each file of a DAG folder are evaluated apart, each
file with its own jobs and cursor.

The cursor (``automation:__automation_<file>__``) keeps per asset when it was first
evaluated and its last request (run id, time, and the newest event id then);
"handled" is the latest of those and of its last materialization, as
Dagster's ``since_last_handled``. An upstream materialized by a run that
also targeted the asset does not count as an update of it.

The design decision: ``plan_requests`` is a pure function of those inputs;
the run and the new cursor are written together by
``AutomationStore.advance`` (compare-and-set on the cursor version), so a
restarted scheduler, or a second one, never requests the same assets twice
for the same state.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from partita.definitions.asset_backfill_job import ASSET_JOB_PREFIX, ASSET_SELECTION_KEY
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_key import AssetKey
from partita.definitions.automation_condition import AssetFacts, UpstreamFacts
from partita.definitions.automation_job import (
    AUTOMATION_DAG_ID,
    AUTOMATION_SELECTION_KEY,
    automation_dag_id,
    is_automation_job,
)
from partita.definitions.dag import DAG
from partita.definitions.states import RunState
from partita.scheduler.partition_automation import (
    AUTOMATION_RUN_TYPE,
    PartitionAutomation,
    automated_partitioned,
)
from partita.storage.base import Storage
from partita.storage.records import AssetMaterializationRecord, DagRunRecord

logger = logging.getLogger("partita.scheduler")

#: The cursor of the assets of a ``Definitions`` made without a file.
CURSOR_NAME = f"automation:{AUTOMATION_DAG_ID}"


def cursor_name_of(fileloc: str | None) -> str:
    """``automation:__automation_<file>__``: the cursor of the automated assets of ``fileloc``."""
    return f"automation:{automation_dag_id(fileloc)}"


@dataclass(frozen=True)
class Plan:
    """What one evaluation decided: the keys to request and the cursor's new asset states."""

    requested: list[AssetKey]
    states: dict[str, dict[str, Any]]
    changed: bool


@dataclass
class Catalog:
    """What the catalog and the runs say at one evaluation."""

    latest: Mapping[AssetKey, AssetMaterializationRecord]
    #: Keys an active (queued or running) automation run will still materialize.
    in_progress: Collection[AssetKey]
    last_event_id: int
    now: datetime
    requested: set[AssetKey] = field(default_factory=set)


def _latest_time(*times: str | datetime | None) -> datetime | None:
    known = [datetime.fromisoformat(t) if isinstance(t, str) else t for t in times if t]
    return max(known, default=None)


def _handled_mark(state: Mapping[str, Any], own: AssetMaterializationRecord | None) -> int:
    """The newest event id at which the asset was handled (requested, materialized, first seen)."""
    return max(own.id or 0 if own else 0, state.get("requested_mark", 0), state["first_mark"])


def asset_facts(
    key: AssetKey, graph: AssetGraph, state: Mapping[str, Any], catalog: Catalog
) -> AssetFacts:
    """The facts ``key``'s condition reads, from its cursor state and the catalog."""
    own = catalog.latest.get(key)
    mark, root_run = _handled_mark(state, own), state.get("requested_run")
    upstream = []
    for parent in graph.parents.get(key, []):
        latest = catalog.latest.get(parent)
        external = graph.is_external(parent)
        upstream.append(
            UpstreamFacts(
                missing=latest is None and not external,
                in_progress=parent in catalog.in_progress,
                updated_since_handled=latest is not None
                and (latest.id or 0) > mark
                and latest.run_id != root_run,
                updated_at=latest.timestamp if latest else None,
                will_be_requested=parent in catalog.requested,
            )
        )
    return AssetFacts(
        now=catalog.now,
        missing=own is None,
        in_progress=key in catalog.in_progress,
        ever_requested=root_run is not None,
        handled_at=_latest_time(
            own.timestamp if own else None, state.get("requested_at"), state["first_seen"]
        ),
        upstream=tuple(upstream),
    )


def plan_requests(
    graph: AssetGraph, states: Mapping[str, Mapping[str, Any]], catalog: Catalog
) -> Plan:
    """The assets whose conditions are true now (upstream first), and the states after."""
    new_states = {name: dict(state) for name, state in states.items()}
    changed = False
    for key in graph.order:
        definition = graph.by_key.get(key)
        condition = definition.automation_condition if definition is not None else None
        if condition is None or definition is None or definition.partitions_def is not None:
            continue  # no condition, or evaluated per partition (partition_automation)
        name = key.to_user_string()
        state = new_states.get(name)
        if state is None:  # first evaluation: only what happens from now on counts
            state = new_states[name] = {
                "first_seen": catalog.now.isoformat(),
                "first_mark": catalog.last_event_id,
            }
            changed = True
        if condition.evaluate(asset_facts(key, graph, state, catalog)):
            catalog.requested.add(key)
    requested = [k for k in graph.order if k in catalog.requested]
    return Plan(requested, new_states, changed or bool(requested))


def automation_run_id(keys: Collection[AssetKey], now: datetime) -> str:
    """``automation__<time>__<6 hex digits of the requested keys>``."""
    text = "\0".join(sorted(k.to_user_string() for k in keys))
    return f"automation__{now.isoformat()}__{hashlib.sha1(text.encode()).hexdigest()[:6]}"


class AutomationService:
    """Requests runs of the automation job for the assets whose conditions are true."""

    def __init__(self, storage: Storage, dags: Callable[[], Mapping[str, DAG]]) -> None:
        self.storage = storage
        self.dags = dags

    def run_once(self, now: datetime) -> str | None:
        """Evaluate every condition once; return the id of the (first) run queued, if any."""
        first = None
        for fileloc, (dag, jobs) in self._locations().items():
            run_id = self._evaluate_location(fileloc, dag, jobs, now)
            first = first or run_id
        return first

    def _locations(self) -> dict[str | None, tuple[DAG | None, dict[AssetKey, DAG]]]:
        """Per file: its unpaused automation job and its partitioned-asset jobs by asset key."""
        found: dict[str | None, tuple[DAG | None, dict[AssetKey, DAG]]] = {}
        for job in self.dags().values():
            automation = is_automation_job(job.dag_id)
            if not (automation or job.dag_id.startswith(ASSET_JOB_PREFIX)):
                continue
            if self._unpaused(job) is None:
                continue
            dag, jobs = found.get(job.fileloc, (None, {}))
            if automation:
                dag = job
            else:
                jobs.update(dict.fromkeys(job.asset_tasks, job))
            found[job.fileloc] = (dag, jobs)
        return found

    def _evaluate_location(
        self, fileloc: str | None, dag: DAG | None, jobs: dict[AssetKey, DAG], now: datetime
    ) -> str | None:
        """One evaluation of the conditions of the assets of one file."""
        graph = dag.asset_graph if dag is not None else None
        if graph is None and jobs:
            graph = next(iter(jobs.values())).asset_graph
        if graph is None or (dag is None and not automated_partitioned(graph, jobs)):
            return None
        automation = self.storage.automation
        cursor_name = cursor_name_of(fileloc)
        cursor = automation.get_cursor(cursor_name)
        value = cursor.value if cursor else {}
        catalog = Catalog(
            latest=self.storage.assets.latest_materializations(graph.keys),
            in_progress=self._in_progress(dag.dag_id) if dag is not None else set(),
            last_event_id=automation.last_event_id(),
            now=now,
        )
        plan = plan_requests(graph, value.get("assets", {}), catalog)
        partitioned = PartitionAutomation(self.storage)
        per_partition = partitioned.plan(
            graph, jobs, value.get("partitioned", {}), catalog.last_event_id, now
        )
        if not plan.changed and not per_partition.changed:
            return None
        runs = [self._run(dag, plan, catalog)] if plan.requested and dag is not None else []
        by_id = {job.dag_id: job for job in jobs.values()}
        runs += partitioned.runs(per_partition, by_id, catalog.last_event_id, now)
        version = cursor.version if cursor else None
        new_value = {"assets": plan.states, "partitioned": per_partition.states}
        if not automation.advance(cursor_name, version, new_value, runs, now):
            return None  # another scheduler evaluated meanwhile
        for run in runs:
            selected = run.conf.get(AUTOMATION_SELECTION_KEY) or run.conf[ASSET_SELECTION_KEY]
            logger.info("automation: run %s materializes %s%s", run.run_id, ", ".join(selected),
                        f" [{run.partition_key}]" if run.partition_key else "")  # fmt: skip
        return runs[0].run_id if runs else None

    def _unpaused(self, dag: DAG | None) -> DAG | None:
        """``dag`` unless it is missing, has no asset graph or is paused."""
        if dag is None or dag.asset_graph is None:
            return None
        record = self.storage.registry.get_dag(dag.dag_id)
        return None if record is not None and record.is_paused else dag

    def _in_progress(self, dag_id: str) -> set[AssetKey]:
        """Keys an active run of ``dag_id`` was asked for and has not materialized yet."""
        active = self.storage.runs.list_runs(
            dag_id, states=[RunState.QUEUED, RunState.RUNNING], limit=1000
        )
        keys: set[AssetKey] = set()
        for run in active:
            done = {
                m.asset_key for m in self.storage.assets.list_materializations(run_id=run.run_id)
            }
            for text in run.conf.get(AUTOMATION_SELECTION_KEY, []):
                key = AssetKey.from_user_string(text)
                if key not in done:
                    keys.add(key)
        return keys

    @staticmethod
    def _run(dag: DAG, plan: Plan, catalog: Catalog) -> DagRunRecord:
        now = catalog.now
        run_id = automation_run_id(plan.requested, now)
        for key in plan.requested:
            plan.states[key.to_user_string()].update(
                requested_run=run_id, requested_at=now.isoformat(),
                requested_mark=catalog.last_event_id,
            )  # fmt: skip
        return DagRunRecord(
            run_id=run_id,
            dag_id=dag.dag_id,
            dag_version="",
            state=RunState.QUEUED,
            run_type=AUTOMATION_RUN_TYPE,
            logical_date=now,
            data_interval_start=now,
            data_interval_end=now,
            conf={AUTOMATION_SELECTION_KEY: [k.to_user_string() for k in plan.requested]},
            queued_at=now,
        )


__all__ = [
    "AUTOMATION_RUN_TYPE",
    "AutomationService",
    "Catalog",
    "Plan",
    "asset_facts",
    "automation_run_id",
    "cursor_name_of",
    "plan_requests",
]
