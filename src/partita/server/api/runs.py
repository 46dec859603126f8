"""``/api/v1/runs``: the run list (filters, pages counted in SQL), one run with its task
instances, cancel and retry.

The design decision: cancel and retry call the functions behind
``partita runs cancel`` and ``partita runs retry`` (``engine.control``), so
the API refuses exactly what the CLI refuses, with the same message (409).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from partita.definitions.states import RunState
from partita.engine.control import ControlResult, cancel_run, retry_run
from partita.schemas import (
    ControlResultModel,
    DagRunDetailModel,
    DagRunModel,
    DagRunPageModel,
    TaskInstanceModel,
)
from partita.server.api.params import PageParams, page_params
from partita.server.auth.deps import require
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role
from partita.storage.records import EventKind

router = APIRouter(prefix="/runs", tags=["runs"], dependencies=[Depends(require(Role.VIEWER))])

#: Seconds a cancelled run's tasks get between SIGTERM and SIGKILL unless the request says.
DEFAULT_GRACE = 10.0


class CancelRequest(BaseModel):
    """How long the run's tasks get to stop before they are killed."""

    grace: float = Field(DEFAULT_GRACE, ge=0, le=3600, description="Seconds.")


def control_model(result: ControlResult) -> ControlResultModel:
    """The API's view of what a control changed."""
    return ControlResultModel(
        run_id=result.run_id,
        changed=[TaskInstanceModel.from_record(ti) for ti in result.changed],
        run_state_before=result.run_state_before,
        run_state_after=result.run_state_after,
    )


@router.get("", response_model=DagRunPageModel)
def list_runs(
    dag_id: str | None = Query(None, max_length=250, description="Only runs of this DAG."),
    state: list[RunState] | None = Query(None, description="Only runs in these states."),
    page: PageParams = Depends(page_params),
    server: ServerState = Depends(server_state),
) -> DagRunPageModel:
    """Runs, newest first, one page at a time, with the total count."""
    runs = server.storage.runs
    records = runs.list_runs(dag_id, states=state, limit=page.limit, offset=page.offset)
    return DagRunPageModel(
        runs=[DagRunModel.from_record(r) for r in records],
        total=runs.count_runs(dag_id, states=state),
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{run_id}", response_model=DagRunDetailModel)
def get_run(run_id: str, server: ServerState = Depends(server_state)) -> DagRunDetailModel:
    """One run with every task instance (and the last error of each failed one)."""
    storage = server.storage
    run = storage.runs.get_run(run_id)  # RunNotFoundError: 404
    errors = storage.events.read_events(run_id, kinds=[EventKind.TASK_ERROR])
    errors = server.secrets.events(errors)
    return DagRunDetailModel.from_records(run, storage.runs.get_task_instances(run_id), errors)


@router.post("/{run_id}/cancel", response_model=ControlResultModel)
def cancel(
    run_id: str,
    body: CancelRequest | None = None,
    server: ServerState = Depends(server_state),
    _: object = Depends(require(Role.OPERATOR)),
) -> ControlResultModel:
    """Cancel a run (operator): a queued one at once, a running one at its next heartbeat."""
    grace = body.grace if body is not None else DEFAULT_GRACE
    result = cancel_run(server.storage, run_id, grace)
    server.wake_schedulers()
    return control_model(result)


@router.post("/{run_id}/retry", response_model=ControlResultModel)
def retry(
    run_id: str,
    server: ServerState = Depends(server_state),
    _: object = Depends(require(Role.OPERATOR)),
) -> ControlResultModel:
    """Run a finished run's failed tasks again, with everything downstream (operator)."""
    result = retry_run(server.storage, run_id)
    server.wake_schedulers()
    return control_model(result)


__all__ = ["control_model", "router"]
