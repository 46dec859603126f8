"""``/api/v1/runs/{run_id}/tasks``: a run's task instances, one instance with its tries,
clear and mark, and previews of its outputs.

The design decision: an instance's tries come from the event log (its
``task_state`` and ``task_error`` events), which keeps every try; the task
instance row holds only the latest. An output preview loads the stored
value only when its stored size is under the server's limit, and shows the
start of its ``repr``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from partita.definitions.states import TaskState
from partita.engine.control import (
    RunControlError,
    clear_task_instances,
    mark_task_instances,
    select_instances,
)
from partita.schemas import (
    ControlResultModel,
    OutputModel,
    OutputPreviewModel,
    TaskInstanceDetailModel,
    TaskInstanceModel,
    TaskTryModel,
    latest_errors,
)
from partita.server.api.runs import control_model
from partita.server.auth.deps import require
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role
from partita.storage.base import Storage
from partita.storage.records import EventKind, EventRecord, OutputRecord, TaskInstanceRecord

router = APIRouter(
    prefix="/runs/{run_id}", tags=["task instances"], dependencies=[Depends(require(Role.VIEWER))]
)

MapIndex = Query(-1, ge=-1, le=10_000_000, description="The mapped instance; -1 when not mapped.")


class ClearRequest(BaseModel):
    """Which instances to clear besides the task's own."""

    map_index: int | None = None
    downstream: bool = False
    upstream: bool = False


class MarkRequest(BaseModel):
    """The state to mark the task's instances with (success or failed)."""

    state: TaskState
    map_index: int | None = None


def find_instance(
    storage: Storage, run_id: str, task_id: str, map_index: int
) -> TaskInstanceRecord:
    """The task instance, or 404 naming the run's tasks or the task's map indexes."""
    storage.runs.get_run(run_id)  # RunNotFoundError: 404
    tis = storage.runs.get_task_instances(run_id)
    try:
        return select_instances(tis, run_id, task_id, map_index)[0]
    except RunControlError as exc:
        raise ApiProblem(404, "Not found", str(exc)) from None


@router.get("/tasks", response_model=list[TaskInstanceModel])
def list_task_instances(
    run_id: str, server: ServerState = Depends(server_state)
) -> list[TaskInstanceModel]:
    """The run's task instances, by task id then map index."""
    storage = server.storage
    storage.runs.get_run(run_id)
    tis = storage.runs.get_task_instances(run_id)
    events = storage.events.read_events(run_id, kinds=[EventKind.TASK_ERROR])
    errors = latest_errors(tis, server.secrets.events(events))
    return [TaskInstanceModel.from_record(ti, errors.get(ti.key)) for ti in tis]


@router.get("/tasks/{task_id}", response_model=TaskInstanceDetailModel)
def get_task_instance(
    run_id: str,
    task_id: str,
    map_index: int = MapIndex,
    server: ServerState = Depends(server_state),
) -> TaskInstanceDetailModel:
    """One task instance with each of its tries."""
    storage = server.storage
    ti = find_instance(storage, run_id, task_id, map_index)
    events = storage.events.read_events(
        run_id,
        task_id=task_id,
        map_index=map_index,
        kinds=[EventKind.TASK_STATE, EventKind.TASK_ERROR],
    )
    tries = _tries(server.secrets.events(events))
    error = tries[-1].error if tries and tries[-1].try_number == ti.try_number else None
    return TaskInstanceDetailModel(
        **TaskInstanceModel.from_record(ti, error).model_dump(),
        run_id=run_id, operator=ti.operator, max_tries=ti.max_tries, hostname=ti.hostname,
        tries=tries,
    )  # fmt: skip


def _tries(events: list[EventRecord]) -> list[TaskTryModel]:
    by_try: dict[int, dict[str, object]] = {}
    for event in events:
        entry = by_try.setdefault(event.try_number, {"try_number": event.try_number})
        if event.kind is EventKind.TASK_ERROR:
            entry["error"] = str(event.payload.get("error") or "failed")
            continue
        state = TaskState(event.payload.get("state", "none"))
        entry["state"] = state
        if state is TaskState.RUNNING:
            entry["start_date"] = event.timestamp
            entry["hostname"] = event.payload.get("hostname")
        elif state.finished or state is TaskState.UP_FOR_RETRY:
            entry["end_date"] = event.timestamp
    return [TaskTryModel.model_validate(by_try[n]) for n in sorted(by_try) if n > 0]


@router.post("/tasks/{task_id}/clear", response_model=ControlResultModel)
def clear(
    run_id: str,
    task_id: str,
    body: ClearRequest,
    server: ServerState = Depends(server_state),
    _: object = Depends(require(Role.OPERATOR)),
) -> ControlResultModel:
    """Clear instances of the task (and its downstream/upstream) so they run again (operator)."""
    result = clear_task_instances(
        server.storage, run_id, task_id,
        map_index=body.map_index, downstream=body.downstream, upstream=body.upstream,
    )  # fmt: skip
    server.wake_schedulers()
    return control_model(result)


@router.post("/tasks/{task_id}/mark", response_model=ControlResultModel)
def mark(
    run_id: str,
    task_id: str,
    body: MarkRequest,
    server: ServerState = Depends(server_state),
    _: object = Depends(require(Role.OPERATOR)),
) -> ControlResultModel:
    """Mark instances of the task success or failed without running them (operator)."""
    result = mark_task_instances(
        server.storage, run_id, task_id, body.state, map_index=body.map_index
    )
    server.wake_schedulers()
    return control_model(result)


def _output_model(record: OutputRecord) -> OutputModel:
    return OutputModel(
        task_id=record.task_id, map_index=record.map_index, key=record.key, size=record.size,
        inline=record.location == "inline",
    )  # fmt: skip


@router.get("/outputs", response_model=list[OutputModel])
def list_outputs(run_id: str, server: ServerState = Depends(server_state)) -> list[OutputModel]:
    """Where each output of the run is stored, and its size."""
    server.storage.runs.get_run(run_id)
    return [_output_model(r) for r in server.storage.outputs.list_records(run_id)]


@router.get("/tasks/{task_id}/outputs/{key}", response_model=OutputPreviewModel)
def preview_output(
    run_id: str,
    task_id: str,
    key: str,
    map_index: int = MapIndex,
    server: ServerState = Depends(server_state),
) -> OutputPreviewModel:
    """The start of one output's value as text, if it is small enough to load."""
    storage, config = server.storage, server.config
    find_instance(storage, run_id, task_id, map_index)
    record = storage.outputs.get_record(run_id, task_id, map_index, key)
    if record is None:
        raise ApiProblem(
            404, "Not found", f"task {task_id!r} of run {run_id!r} stored no output {key!r}; "
            f"GET /api/v1/runs/{run_id}/outputs lists its outputs",
        )  # fmt: skip
    base = _output_model(record).model_dump()
    if record.size > config.preview_load_limit:
        note = f"{record.size} bytes: larger than the preview limit ({config.preview_load_limit})"
        return OutputPreviewModel(**base, note=note)
    value = storage.outputs.load(record)
    text = server.secrets.mask(repr(value))
    limit = config.preview_chars
    return OutputPreviewModel(
        **base, type=type(value).__qualname__, preview=text[:limit], truncated=len(text) > limit
    )


__all__ = ["find_instance", "router"]
