"""``ScheduleTicker``: turns the due DAGs of the registry into queued scheduled runs.

For each due DAG it asks the timetable for every run due by ``now`` (from
the registry's next run on, honouring start/end date and catchup), queues
them with run type ``scheduled`` and the timetable's data interval, and
moves the DAG's next run past them.

The design decision: a scheduled run's id is derived from the DAG and its
logical date (``scheduled_run_id``) and queued with "insert unless present";
the DAG's next run is moved afterwards, through a claim of the due DAGs
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and only if it is still the one
the runs were made from. A scheduler that dies between the two, or two
schedulers ticking at once, therefore never create a run twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from partita.definitions.dag import DAG
from partita.definitions.states import RunState
from partita.definitions.timetable_base import DagRunInfo
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord

logger = logging.getLogger("partita.scheduler")

#: How many runs one tick queues per DAG at most (a long catchup takes several ticks).
MAX_RUNS_PER_TICK = 200
#: How many due DAGs one tick looks at.
MAX_DAGS_PER_TICK = 100


def scheduled_run_id(dag_id: str, logical_date: datetime) -> str:
    """``scheduled__2024-01-01T12:00:00+00:00__1a2b3c``: the same for the same DAG and date."""
    digest = hashlib.sha1(dag_id.encode()).hexdigest()[:6]
    return f"scheduled__{logical_date.isoformat()}__{digest}"


def due_runs(
    dag: DAG, first: DagRunInfo, now: datetime, limit: int
) -> tuple[list[DagRunInfo], DagRunInfo | None]:
    """The runs of ``dag`` due by ``now`` from ``first`` on (at most ``limit``), and the next."""
    runs: list[DagRunInfo] = []
    info: DagRunInfo | None = first
    restriction = dag.time_restriction
    while info is not None and info.run_after <= now and len(runs) < limit:
        runs.append(info)
        info = dag.timetable.next_dagrun_info(info, restriction, now=now)
    return runs, info


@dataclass
class TickResult:
    """What one tick did: runs queued per DAG."""

    queued: dict[str, int]


class ScheduleTicker:
    """Queues the scheduled runs of due DAGs."""

    def __init__(self, storage: Storage, get_dag: Callable[[str], DAG | None]) -> None:
        self.storage = storage
        self.get_dag = get_dag

    def run_once(self, now: datetime) -> TickResult:
        registry = self.storage.registry
        planned: dict[str, tuple[DagRunInfo, DagRunInfo | None]] = {}
        queued: dict[str, int] = {}
        new_runs: list[DagRunRecord] = []
        for record in registry.due_dags(now, MAX_DAGS_PER_TICK):
            dag = self.get_dag(record.dag_id)
            if dag is None or record.next_run is None:
                continue
            runs, following = due_runs(dag, record.next_run, now, MAX_RUNS_PER_TICK)
            if not runs:
                continue
            new_runs.extend(self._run(dag, info, now) for info in runs)
            queued[record.dag_id] = 0
            planned[record.dag_id] = (record.next_run, following)
        if new_runs:  # one transaction for every due DAG of the tick
            dag_of = {run.run_id: run.dag_id for run in new_runs}
            for run_id in self.storage.queue.enqueue(new_runs):
                queued[dag_of[run_id]] += 1
        if planned:
            with registry.claim_due_dags(now, MAX_DAGS_PER_TICK) as claim:
                for record in claim.dags:
                    plan = planned.get(record.dag_id)
                    if plan is not None and record.next_run == plan[0]:
                        claim.set_next_run(record.dag_id, plan[1])
        return TickResult(queued)

    @staticmethod
    def _run(dag: DAG, info: DagRunInfo, now: datetime) -> DagRunRecord:
        return DagRunRecord(
            run_id=scheduled_run_id(dag.dag_id, info.logical_date),
            dag_id=dag.dag_id,
            dag_version="",
            state=RunState.QUEUED,
            run_type="scheduled",
            logical_date=info.logical_date,
            data_interval_start=info.data_interval_start,
            data_interval_end=info.data_interval_end,
            conf={},
            queued_at=now,
        )


__all__ = ["ScheduleTicker", "TickResult", "due_runs", "scheduled_run_id"]
