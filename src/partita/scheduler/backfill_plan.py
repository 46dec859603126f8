"""Planning a backfill: the runs a DAG's timetable has in a range, and what to do with each.

``plan_backfill`` is pure: from the timetable's runs in the range
(``Timetable.runs_between``, both ends inclusive) and the runs that already
exist at those logical dates, it decides per date whether to create a run,
run an existing one again (``--reprocess failed|all``) or keep it.
``create_backfill`` reads the existing runs in one query, plans, and stores
the backfill with its planned runs in one transaction; the scheduler's
``BackfillRunner`` does the rest. ``cancel_backfill`` ends one.

The design decision: a backfill run's id is derived from the DAG and the
logical date (``backfill_run_id``) and queued with "insert unless present",
so a scheduler that dies between queueing a run and recording it never
queues it twice; and a logical date that already has a run (a catchup's, an
earlier backfill's) is never given a second one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from partita.definitions.dag import DAG
from partita.definitions.states import RunState
from partita.definitions.timetable_base import DagRunInfo, Timetable
from partita.engine.control import RunControlError, cancel_run
from partita.exceptions import PartitaError
from partita.storage.backfills import (
    BackfillRecord,
    BackfillStatus,
    PlannedAction,
    PlannedRun,
    Reprocess,
)
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord

#: The run type of the runs a backfill queues.
BACKFILL_RUN_TYPE = "backfill"
#: Seconds a running task of a cancelled backfill gets between SIGTERM and SIGKILL.
CANCEL_GRACE = 10.0
#: States of an existing run that ``--reprocess failed`` runs again.
_FAILED = frozenset({RunState.FAILED, RunState.CANCELLED})


class EmptyBackfillError(PartitaError):
    """The range holds no run of the DAG's schedule; the message names the range and the fix."""


def backfill_run_id(dag_id: str, logical_date: datetime) -> str:
    """``backfill__2024-01-01T12:00:00+00:00__1a2b3c``: the same for the same DAG and date."""
    return f"backfill__{logical_date.isoformat()}__{_digest(dag_id)}"


def _digest(dag_id: str) -> str:
    return hashlib.sha1(dag_id.encode()).hexdigest()[:6]


def new_backfill_id() -> str:
    """A short random id: ``bf-1a2b3c4d``."""
    return f"bf-{secrets.token_hex(4)}"


def runs_in_range(dag: DAG, first: datetime, last: datetime) -> list[DagRunInfo]:
    """The runs of ``dag``'s timetable whose logical date is in [first, last] (both inclusive).

    A cron schedule that fires at the same times every day, in a zone without
    daylight saving time, repeats with a period of one day: its first and
    last two days are asked of the timetable and the days between are those
    of the first day, shifted (checked against the second day first). Any
    other schedule is asked of the timetable run by run.
    """
    timetable, end = dag.timetable, last + timedelta(microseconds=1)
    if not _repeats_daily(timetable) or end - first <= 4 * _DAY:
        return timetable.runs_between(first, end)
    head = timetable.runs_between(first, first + 2 * _DAY)
    tail = timetable.runs_between(end - 2 * _DAY, end)
    day = [i for i in head if i.logical_date < head[0].logical_date + _DAY] if head else []
    second = [_shifted(i, 1) for i in day]
    if not day or not tail or head[len(day) : 2 * len(day)] != second:
        return timetable.runs_between(first, end)
    middle: list[DagRunInfo] = []
    shift = 2
    while True:
        shifted = [_shifted(i, shift) for i in day]
        middle += [
            i for i in shifted if head[-1].logical_date < i.logical_date < tail[0].logical_date
        ]
        if shifted[-1].logical_date >= tail[0].logical_date:
            return head + middle + tail
        shift += 1


_DAY = timedelta(days=1)


def _repeats_daily(timetable: Timetable) -> bool:
    """A cron timetable with only minutes and hours set, in a zone with one fixed offset."""
    expression = getattr(timetable, "expression", None)
    fixed_zone = isinstance(timetable.timezone, timezone)
    return fixed_zone and isinstance(expression, str) and expression.split()[2:] == ["*"] * 3


def _shifted(info: DagRunInfo, days: int) -> DagRunInfo:
    delta = days * _DAY
    return DagRunInfo(
        info.logical_date + delta, info.data_interval_start + delta, info.data_interval_end + delta
    )


def planned_action(run: DagRunRecord | None, reprocess: Reprocess) -> PlannedAction:
    """What a backfill does with an existing run (None: there is none) under ``reprocess``."""
    if run is None:
        return PlannedAction.CREATE
    if not run.state.finished or reprocess is Reprocess.NONE:
        return PlannedAction.SKIP
    if reprocess is Reprocess.ALL or run.state in _FAILED:
        return PlannedAction.RERUN
    return PlannedAction.SKIP


def plan_backfill(
    backfill_id: str,
    dag_id: str,
    infos: Sequence[DagRunInfo],
    existing: Mapping[datetime, DagRunRecord],
    reprocess: Reprocess,
) -> list[PlannedRun]:
    """One planned run per logical date of ``infos``, in order."""
    planned: list[PlannedRun] = []
    digest = _digest(dag_id)  # backfill_run_id's, once
    for ordinal, info in enumerate(infos):
        run = existing.get(info.logical_date)
        action = planned_action(run, reprocess)
        if run is None:
            run_id = f"backfill__{info.logical_date.isoformat()}__{digest}"
        else:
            run_id = run.run_id
        done = action is PlannedAction.SKIP
        start, end = info.data_interval_start, info.data_interval_end
        planned.append(
            PlannedRun(backfill_id, ordinal, info.logical_date, start, end, run_id, action, done)
        )
    return planned


@dataclass(frozen=True)
class BackfillPlan:
    """A backfill and its planned runs (stored, or only shown with ``--dry-run``)."""

    backfill: BackfillRecord
    planned: list[PlannedRun]

    def count(self, action: PlannedAction) -> int:
        return sum(p.action is action for p in self.planned)


@dataclass(frozen=True)
class BackfillOptions:
    """What ``partita backfill create`` asks for besides the DAG and the range."""

    reprocess: Reprocess = Reprocess.NONE
    #: None: the DAG's own ``max_active_runs``.
    max_active_runs: int | None = None
    conf: Mapping[str, Any] | None = None
    dry_run: bool = False


def create_backfill(
    storage: Storage, dag: DAG, first: datetime, last: datetime, options: BackfillOptions,
    now: datetime,
) -> BackfillPlan:  # fmt: skip
    """Plan a backfill of ``dag`` over [first, last] and store it (unless ``dry_run``).

    Raises ``EmptyBackfillError`` when the range holds no run of the DAG's schedule.
    """
    infos = runs_in_range(dag, first, last)
    if not infos:
        raise EmptyBackfillError(
            f"DAG {dag.dag_id!r}: the range {first.isoformat()} .. {last.isoformat()} holds "
            f"no run of its schedule ({dag.timetable.summary}); nothing to backfill. Widen "
            "--from/--to to include at least one of its run times"
        )
    existing = storage.backfills.runs_at(dag.dag_id, infos[0].logical_date, infos[-1].logical_date)
    backfill_id = new_backfill_id()
    planned = plan_backfill(backfill_id, dag.dag_id, infos, existing, options.reprocess)
    backfill = BackfillRecord(
        backfill_id=backfill_id, dag_id=dag.dag_id, from_date=first, to_date=last,
        status=BackfillStatus.RUNNING, reprocess=options.reprocess,
        max_active_runs=options.max_active_runs or dag.max_active_runs, total=len(planned),
        created_at=now, conf=dict(options.conf or {}),
    )  # fmt: skip
    if not options.dry_run:
        storage.backfills.create(backfill, planned)
    return BackfillPlan(backfill, planned)


def cancel_backfill(storage: Storage, backfill_id: str, now: datetime) -> list[str]:
    """End a running backfill as cancelled and cancel its queued and running runs.

    Returns the ids of the runs cancelled (or asked to stop). ``PartitaError``
    when the backfill already ended.
    """
    backfill = storage.backfills.get(backfill_id)  # BackfillNotFoundError names the id
    if not storage.backfills.finish(backfill_id, BackfillStatus.CANCELLED, now):
        ended = storage.backfills.get(backfill_id).status
        raise PartitaError(
            f"backfill {backfill_id!r} (DAG {backfill.dag_id!r}) already ended {ended}; "
            "there is nothing to cancel"
        )
    cancelled: list[str] = []
    for run_id in storage.backfills.planned_run_ids(backfill_id, done=True):
        try:
            run = storage.runs.get_run(run_id)
        except PartitaError:
            continue  # deleted since (retention)
        if run.state.finished:
            continue
        try:
            cancel_run(storage, run_id, CANCEL_GRACE)
        except RunControlError:
            continue  # it ended meanwhile
        cancelled.append(run_id)
    return cancelled


__all__ = [
    "BACKFILL_RUN_TYPE",
    "BackfillOptions",
    "BackfillPlan",
    "EmptyBackfillError",
    "backfill_run_id",
    "cancel_backfill",
    "create_backfill",
    "new_backfill_id",
    "plan_backfill",
    "planned_action",
    "runs_in_range",
]
