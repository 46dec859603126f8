"""``BackfillRunner``: queues the runs of running backfills, in order, and ends backfills.

Each pass, for each running backfill: count its runs that are queued or
running; queue its next planned runs (lowest ordinal first) until
``max_active_runs`` are active (a ``create`` becomes a new queued run of run
type ``backfill``; a ``rerun`` clears an ended run and queues it again);
and when nothing is left to queue and nothing is active, end the backfill
``completed`` (every run it queued succeeded) or ``failed``.

The design decision: the runner keeps nothing in memory between passes.
Which planned runs are done and which runs are active are read from the
store each pass, so a scheduler restarted mid-backfill (or another
scheduler) carries on exactly where the backfill was; and the runs it
queues are ordinary queued runs, started by the ``RunStarter`` within the
scheduler's limits (the DAG's own ``max_active_runs`` does not count them:
the backfill's does). Several schedulers may run it on one database: the
runs they queue have the same ids, and each counts the active runs after
reading what is pending, so together they stay within ``max_active_runs``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from partita.definitions.states import RunState
from partita.engine.control import RunControlError, rerun_run
from partita.exceptions import RunNotFoundError
from partita.scheduler.backfill_plan import BACKFILL_RUN_TYPE
from partita.storage.backfills import BackfillRecord, BackfillStatus, PlannedAction, PlannedRun
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord

logger = logging.getLogger("partita.scheduler")

#: How many running backfills one pass looks at.
MAX_BACKFILLS_PER_PASS = 50


class BackfillRunner:
    """Drives the running backfills one pass at a time."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def run_once(self, now: datetime) -> dict[str, int]:
        """Queue what the running backfills may queue; return the runs queued per backfill."""
        queued: dict[str, int] = {}
        store = self.storage.backfills
        for backfill in store.list_backfills(
            statuses=[BackfillStatus.RUNNING], limit=MAX_BACKFILLS_PER_PASS
        ):
            count = self._advance(backfill, now)
            if count:
                queued[backfill.backfill_id] = count
        return queued

    def _advance(self, backfill: BackfillRecord, now: datetime) -> int:
        store = self.storage.backfills
        # The pending runs first, the active count second: a scheduler that read the
        # pending runs before another queued them then sees them active, and queues
        # (again: a no-op, same run ids) only what still fits within max_active_runs.
        pending = store.pending(backfill.backfill_id, backfill.max_active_runs)
        active = store.active_count(backfill.backfill_id)
        chosen = pending[: max(backfill.max_active_runs - active, 0)]
        if chosen:
            self._queue(backfill, chosen, now)
            store.mark_done(backfill.backfill_id, [p.ordinal for p in chosen])
            return len(chosen)
        if not pending and active == 0:
            self._end(backfill, now)
        return 0

    def _queue(self, backfill: BackfillRecord, pending: list[PlannedRun], now: datetime) -> None:
        new = [p for p in pending if p.action is PlannedAction.CREATE]
        if new:
            # A run made for one of these dates (or partitions) since the plan: keep it instead.
            found = self._found(backfill, new)
            kept = {
                p.ordinal: found[at].run_id
                for p in new
                if (at := _at(p)) in found and found[at].run_id != p.run_id
            }
            self.storage.backfills.keep_existing(backfill.backfill_id, kept)
            runs = [_run(backfill, p, now) for p in new if p.ordinal not in kept]
            if runs:
                self.storage.queue.enqueue(runs)
        for planned in pending:
            if planned.action is PlannedAction.RERUN:
                self._rerun(backfill, planned, now)

    def _found(self, backfill: BackfillRecord, new: list[PlannedRun]) -> Mapping[Any, DagRunRecord]:
        """The runs of the backfill's DAG at the planned dates (or partition keys)."""
        store = self.storage.backfills
        if backfill.partitions is not None:
            keys = [p.partition_key for p in new if p.partition_key is not None]
            return store.runs_for_partitions(backfill.dag_id, keys)
        return store.runs_at(backfill.dag_id, new[0].logical_date, new[-1].logical_date)

    def _rerun(self, backfill: BackfillRecord, planned: PlannedRun, now: datetime) -> None:
        why = f"run again by backfill {backfill.backfill_id}"
        try:
            run = self.storage.runs.get_run(planned.run_id)
        except RunNotFoundError:  # deleted since it was planned: make it anew
            self.storage.queue.enqueue([_run(backfill, planned, now)])
            return
        if not run.state.finished:
            return  # queued or running again already (an operator's retry, or our last pass)
        try:
            rerun_run(self.storage, planned.run_id, why)
        except RunControlError as exc:
            logger.warning("backfill %s: %s", backfill.backfill_id, exc)

    def _end(self, backfill: BackfillRecord, now: datetime) -> None:
        progress = self.storage.backfills.progress(backfill.backfill_id)
        failed = sum(n for state, n in progress.states.items() if state is not RunState.SUCCESS)
        status = BackfillStatus.FAILED if failed else BackfillStatus.COMPLETED
        if self.storage.backfills.finish(backfill.backfill_id, status, now):
            logger.info(
                "backfill %s of DAG %s ended %s (%d runs, %d kept as they were)",
                backfill.backfill_id, backfill.dag_id, status, progress.total - progress.skipped,
                progress.skipped,
            )  # fmt: skip


def _run(backfill: BackfillRecord, planned: PlannedRun, now: datetime) -> DagRunRecord:
    return DagRunRecord(
        run_id=planned.run_id,
        dag_id=backfill.dag_id,
        dag_version="",
        state=RunState.QUEUED,
        run_type=BACKFILL_RUN_TYPE,
        logical_date=planned.logical_date,
        data_interval_start=planned.data_interval_start,
        data_interval_end=planned.data_interval_end,
        conf=dict(backfill.conf),
        queued_at=now,
        partition_key=planned.partition_key,
    )


def _at(planned: PlannedRun) -> datetime | str | None:
    """What identifies a planned run's date: its partition key, else its logical date."""
    return planned.partition_key if planned.partition_key is not None else planned.logical_date


__all__ = ["MAX_BACKFILLS_PER_PASS", "BackfillRunner"]
