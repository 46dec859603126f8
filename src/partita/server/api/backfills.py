"""``/api/v1/backfills``: the list (filters, pages), one backfill with its progress and runs,
create (a DAG over a date range, with a dry run) and cancel.

The design decision: create and cancel call the functions behind ``partita
backfill create|cancel`` (``scheduler.backfill_plan``), after the same
checks (the DAG, the range, the conf against the DAG's params), so the API
refuses what the CLI refuses; a scheduler then queues the planned runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from partita.definitions.timezones import make_aware
from partita.engine.prepare import check_conf, resolve_params
from partita.engine.run_config import resolve_run_config
from partita.exceptions import BackfillNotFoundError, PartitaError, RunNotFoundError
from partita.scheduler.backfill_plan import BackfillOptions, cancel_backfill, create_backfill
from partita.schemas import BackfillModel, DagRunModel
from partita.server.api.dags import known_dag, load_dag
from partita.server.api.params import PageParams, page_params
from partita.server.auth.deps import require
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role
from partita.storage.backfills import (
    BackfillProgress,
    BackfillRecord,
    BackfillStatus,
    PlannedAction,
    Reprocess,
)
from partita.storage.records import DagRunRecord

router = APIRouter(
    prefix="/backfills", tags=["backfills"], dependencies=[Depends(require(Role.VIEWER))]
)


class BackfillRequest(BaseModel):
    """A backfill of one DAG over a range of logical dates (both ends included)."""

    dag_id: str = Field(min_length=1, max_length=250)
    from_date: datetime = Field(description="First logical date; a naive one is in the DAG's zone.")
    to_date: datetime = Field(description="Last logical date; a naive one is in the DAG's zone.")
    reprocess: Reprocess = Field(
        Reprocess.NONE,
        description="Existing runs in the range: keep them (none), run failed ones again "
        "(failed) or every ended one (all).",
    )
    max_active_runs: int | None = Field(
        None, ge=1, le=10_000, description="Runs at once (default: the DAG's)."
    )
    conf: dict[str, Any] = Field(default_factory=dict, description="Run conf of every run.")
    dry_run: bool = Field(False, description="Answer the plan; store nothing.")


class PlannedRunModel(BaseModel):
    """One logical date of a backfill and what it does there."""

    logical_date: datetime
    run_id: str
    action: str = Field(description="create, rerun or skip (a run exists and is kept).")


class BackfillPlanModel(BaseModel):
    """A backfill just created (or, with ``dry_run``, only planned) and its first runs."""

    backfill: BackfillModel
    dry_run: bool
    planned: list[PlannedRunModel] = Field(description="The first planned runs, in order.")


class BackfillPageModel(BaseModel):
    """One page of backfills, newest first."""

    backfills: list[BackfillModel]
    limit: int
    offset: int
    has_more: bool = Field(description="True when an older backfill follows this page.")


class BackfillDetailModel(BaseModel):
    """One backfill with its progress, and one page of the runs it queued, in order."""

    backfill: BackfillModel
    runs: list[DagRunModel]
    runs_total: int = Field(description="Runs it queued so far (deleted ones included).")


class CancelledBackfillModel(BaseModel):
    """A backfill cancelled, and the runs asked to stop."""

    backfill: BackfillModel
    cancelled_runs: list[str]


#: Planned runs a create answers (the whole plan is stored).
PLANNED_SHOWN = 100


def backfill_model(server: ServerState, record: BackfillRecord) -> BackfillModel:
    """The API's view of a stored backfill, with its progress now."""
    return BackfillModel.from_record(record, server.storage.backfills.progress(record.backfill_id))


def known_backfill(server: ServerState, backfill_id: str) -> BackfillRecord:
    """The backfill, or 404."""
    try:
        return server.storage.backfills.get(backfill_id)
    except BackfillNotFoundError as exc:
        raise ApiProblem(404, "Not found", f"{exc}; GET /api/v1/backfills lists them") from exc


def queued_runs(
    server: ServerState, backfill_id: str, page: PageParams
) -> tuple[list[DagRunRecord], int]:
    """One page of the runs a backfill queued (those deleted since left out), and their count."""
    run_ids = server.storage.backfills.planned_run_ids(backfill_id, done=True)
    runs = []
    for run_id in run_ids[page.offset : page.offset + page.limit]:
        try:
            runs.append(server.storage.runs.get_run(run_id))
        except RunNotFoundError:
            continue
    return runs, len(run_ids)


@router.get("", response_model=BackfillPageModel)
def list_backfills(
    dag_id: str | None = Query(None, max_length=250, description="Only backfills of this DAG."),
    status: list[BackfillStatus] | None = Query(None, description="Only in these statuses."),
    page: PageParams = Depends(page_params),
    server: ServerState = Depends(server_state),
) -> BackfillPageModel:
    """Backfills, newest first, one page at a time."""
    store = server.storage.backfills
    records = store.list_backfills(
        dag_id=dag_id, statuses=status or None, limit=page.limit + 1, offset=page.offset
    )
    shown = records[: page.limit]
    progress = store.progress_of([r.backfill_id for r in shown])
    return BackfillPageModel(
        backfills=[
            BackfillModel.from_record(r, progress[r.backfill_id])
            for r in shown
            if r.backfill_id in progress
        ],
        limit=page.limit,
        offset=page.offset,
        has_more=len(records) > page.limit,
    )


@router.get("/{backfill_id}", response_model=BackfillDetailModel)
def get_backfill(
    backfill_id: str,
    page: PageParams = Depends(page_params),
    server: ServerState = Depends(server_state),
) -> BackfillDetailModel:
    """One backfill: its range, options, progress, and a page of the runs it queued."""
    record = known_backfill(server, backfill_id)
    runs, total = queued_runs(server, backfill_id, page)
    return BackfillDetailModel(
        backfill=backfill_model(server, record),
        runs=[DagRunModel.from_record(r) for r in runs],
        runs_total=total,
    )


@router.post("", response_model=BackfillPlanModel, status_code=201)
def create(
    body: BackfillRequest,
    server: ServerState = Depends(server_state),
    _: object = Depends(require(Role.OPERATOR)),
) -> BackfillPlanModel:
    """Plan and store a backfill of a DAG (operator); a scheduler queues its runs in order.

    With ``dry_run`` the plan is answered and nothing is stored (status 201 all the same).
    """
    dag = load_dag(server, known_dag(server, body.dag_id))
    start = make_aware(body.from_date, dag.timezone).astimezone(UTC)
    end = make_aware(body.to_date, dag.timezone).astimezone(UTC)
    if start > end:
        raise ApiProblem(
            422,
            "Invalid parameters",
            f"from_date {body.from_date.isoformat()} is after to_date "
            f"{body.to_date.isoformat()}; swap them",
        )
    checked = check_conf(dag, body.conf)
    resolve_params(dag, checked)  # a conf that breaks the DAG's params stops here
    resolve_run_config(dag, checked)
    options = BackfillOptions(body.reprocess, body.max_active_runs, checked, body.dry_run)
    plan = create_backfill(server.storage, dag, start, end, options, datetime.now(UTC))
    skipped = plan.count(PlannedAction.SKIP)
    progress = (
        BackfillProgress(
            total=len(plan.planned), pending=len(plan.planned) - skipped, skipped=skipped
        )
        if body.dry_run
        else server.storage.backfills.progress(plan.backfill.backfill_id)
    )
    return BackfillPlanModel(
        backfill=BackfillModel.from_record(plan.backfill, progress),
        dry_run=body.dry_run,
        planned=[
            PlannedRunModel(logical_date=p.logical_date, run_id=p.run_id, action=str(p.action))
            for p in plan.planned[:PLANNED_SHOWN]
        ],
    )


@router.post("/{backfill_id}/cancel", response_model=CancelledBackfillModel)
def cancel(
    backfill_id: str,
    server: ServerState = Depends(server_state),
    _: object = Depends(require(Role.OPERATOR)),
) -> CancelledBackfillModel:
    """Cancel a running backfill (operator): no more runs are queued, its active runs stop."""
    known_backfill(server, backfill_id)
    try:
        cancelled = cancel_backfill(server.storage, backfill_id, datetime.now(UTC))
    except PartitaError as exc:
        raise ApiProblem(409, "Conflict", str(exc)) from exc
    return CancelledBackfillModel(
        backfill=backfill_model(server, known_backfill(server, backfill_id)),
        cancelled_runs=cancelled,
    )


__all__ = [
    "BackfillRequest",
    "backfill_model",
    "known_backfill",
    "queued_runs",
    "router",
]
