"""``RunStarter``: starts queued runs within the limits, oldest first.

Oldest first is by ``queued_at``, then logical date, across DAGs (a catchup
queued at once starts in date order). When limits hold the oldest runs back
(their DAG is at ``max_active_runs``, their tag at its limit), the starter
claims further down the queue, up to ``MAX_SCAN`` runs, so a newer run of a
free DAG is not stuck behind them.

The decision of which queued runs may start is a pure function
(``runs_to_start``) of the queued runs, the running counts and the limits:
``max_concurrent_runs`` (the setting: runs running at once across all DAGs),
each DAG's ``max_active_runs``, and the per-tag limits (``run_tag_limits``).
The starter claims queued runs (row locks), marks the chosen ones running in
the claim's transaction, and hands them to the ``RunSupervisor``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime

from partita.definitions.dag import DAG
from partita.scheduler.backfill_plan import BACKFILL_RUN_TYPE
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord

logger = logging.getLogger("partita.scheduler")

#: The most queued runs one pass looks at when limits hold the oldest back.
MAX_SCAN = 2000


def runs_to_start(
    queued: Sequence[DagRunRecord],
    running: Mapping[str, int],
    *,
    free_slots: int,
    max_active_runs: Mapping[str, int],
    tags: Mapping[str, Sequence[str]] | None = None,
    tag_limits: Mapping[str, int] | None = None,
) -> list[DagRunRecord]:
    """The queued runs (oldest first) that may start now.

    At most ``free_slots`` runs; a DAG's runs only while its running count is
    below its ``max_active_runs`` (a backfill's runs are limited by their
    backfill's ``max_active_runs`` instead, when it queues them) and, for each
    of its ``tags`` with a limit in ``tag_limits``, while fewer runs of DAGs
    with that tag run; runs of DAGs missing from ``max_active_runs`` (not
    loaded here) are left queued.
    """
    tags = tags or {}
    tag_limits = tag_limits or {}
    chosen: list[DagRunRecord] = []
    counts = dict(running)
    tag_counts: dict[str, int] = {}
    for dag_id, count in running.items():
        for tag in tags.get(dag_id, ()):
            tag_counts[tag] = tag_counts.get(tag, 0) + count
    for run in queued:
        if len(chosen) >= free_slots:
            break
        limit = max_active_runs.get(run.dag_id)
        if limit is None:
            continue
        own_limit = run.run_type == BACKFILL_RUN_TYPE  # its backfill limits it instead
        if not own_limit and counts.get(run.dag_id, 0) >= limit:
            continue
        limited = [t for t in tags.get(run.dag_id, ()) if t in tag_limits]
        if any(tag_counts.get(t, 0) >= tag_limits[t] for t in limited):
            continue
        counts[run.dag_id] = counts.get(run.dag_id, 0) + 1
        for tag in limited:
            tag_counts[tag] = tag_counts.get(tag, 0) + 1
        chosen.append(run)
    return chosen


class RunStarter:
    """Claims queued runs and starts those the limits allow."""

    def __init__(
        self,
        storage: Storage,
        scheduler_id: str,
        get_dag: Callable[[str], DAG | None],
        start_run: Callable[[DagRunRecord, DAG], None],
        *,
        max_concurrent_runs: int,
        active_count: Callable[[], int],
        tag_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.tag_limits = dict(tag_limits or {})
        self.storage = storage
        self.scheduler_id = scheduler_id
        self.get_dag = get_dag
        self.start_run = start_run
        self.max_concurrent_runs = max_concurrent_runs
        self.active_count = active_count

    def run_once(self, now: datetime) -> list[str]:
        """Start what may start; return the ids of the runs started."""
        free = self.max_concurrent_runs - self.active_count()
        if free <= 0 or not self.storage.queue.has_queued():  # no write lock for nothing
            return []
        dags: dict[str, DAG] = {}
        page = free * 4
        with self.storage.queue.claim_queued_runs(self.scheduler_id, page) as claim:
            if self.tag_limits:
                self._load(dags, claim.running)
            found = claim.queued
            while True:
                self._load(dags, {run.dag_id for run in found})
                chosen = runs_to_start(
                    claim.queued,
                    claim.running,
                    free_slots=free,
                    max_active_runs={dag_id: dag.max_active_runs for dag_id, dag in dags.items()},
                    tags={dag_id: list(dag.tags) for dag_id, dag in dags.items()},
                    tag_limits=self.tag_limits,
                )
                # limits held back runs seen so far: look further down the queue
                if len(chosen) >= free or len(found) < page or len(claim.queued) >= MAX_SCAN:
                    break
                found = claim.more(page)
            started_at = datetime.now(UTC)  # real time: timeouts are measured from it
            started = [claim.start(run, started_at) for run in chosen]
        chosen = [run for run in started if run is not None]
        for run in chosen:
            self.start_run(run, dags[run.dag_id])
        return [run.run_id for run in chosen]

    def _load(self, dags: dict[str, DAG], dag_ids: Iterable[str]) -> None:
        for dag_id in dag_ids:
            if dag_id not in dags:
                dag = self.get_dag(dag_id)
                if dag is not None:
                    dags[dag_id] = dag


__all__ = ["RunStarter", "runs_to_start"]
