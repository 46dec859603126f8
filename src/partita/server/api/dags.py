"""``/api/v1/dags``: the DAG list (filters, pages), one DAG's tasks and schedule, its code,
pause and unpause, and triggering a run.

The design decision: the list and pause read and write the DAG registry only;
the detail and a trigger import the DAG's file in the server (as
``partita trigger`` does) to see its tasks and check a conf against its
params, with the registry's import timeout.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from partita.dag_index import DagIndex
from partita.definitions.dag import DAG
from partita.definitions.params import Param
from partita.definitions.serialize import serialize_dag
from partita.discovery import locate_dag
from partita.engine.manual_run import queue_run
from partita.schemas import (
    DagDetailModel,
    DagModel,
    DagPageModel,
    DagRunModel,
    DagSourceModel,
    ParamModel,
    TaskModel,
)
from partita.server.api.params import PageParams, page_params
from partita.server.auth.deps import require
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role
from partita.storage.dag_records import DagRecord

router = APIRouter(prefix="/dags", tags=["dags"], dependencies=[Depends(require(Role.VIEWER))])


class DagPatch(BaseModel):
    """The change to a DAG: pause or unpause it."""

    is_paused: bool


class TriggerRequest(BaseModel):
    """A manual run: its conf (checked against the DAG's params) and logical date."""

    conf: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, str] = Field(
        default_factory=dict, description='Tags of the run (e.g. {"team": "data"}).'
    )
    logical_date: datetime | None = Field(
        default=None, description="ISO 8601; a naive one is in the DAG's time zone; default now."
    )
    partition_key: str | None = Field(
        default=None,
        description="The partition to run, for a partitioned DAG or asset job (checked against "
        "its partitions; a key outside them is refused naming the nearest valid ones).",
    )


def known_dag(state: ServerState, dag_id: str) -> DagRecord:
    """The registry's row of ``dag_id``, or 404."""
    record = state.storage.registry.get_dag(dag_id)
    if record is None:
        raise ApiProblem(
            404,
            "Not found",
            f"no DAG {dag_id!r} in the DAG registry; GET /api/v1/dags lists the known DAGs",
        )
    return record


def load_dag(state: ServerState, record: DagRecord) -> DAG:
    """Import the DAG from the file the registry names."""
    if record.fileloc is None or not record.is_active:
        raise ApiProblem(
            409,
            "Conflict",
            f"DAG {record.dag_id!r} is no longer defined in its code location; "
            "the scheduler re-reads it when its file is back",
        )
    settings = state.config.settings
    located = locate_dag(
        record.fileloc,
        record.dag_id,
        import_timeout=settings.import_timeout,
        index=DagIndex.load(settings.dag_index_file),
    )
    located.dag.use_default_timezone(settings.default_timezone)
    return located.dag


@router.get("", response_model=DagPageModel)
def list_dags(
    paused: bool | None = Query(None, description="Only paused (true) or unpaused (false)."),
    tag: list[str] | None = Query(None, description="Only DAGs with every one of these tags."),
    dag_id_pattern: str | None = Query(
        None,
        max_length=250,
        description="Only DAG ids this glob matches whole, case and all, e.g. 'etl_*' "
        "(only * and ? are special).",
    ),
    page: PageParams = Depends(page_params),
    state: ServerState = Depends(server_state),
) -> DagPageModel:
    """The active DAGs, sorted by id, one page at a time."""
    chosen, total = state.storage.registry.page_dags(
        tags=tag or (),
        pattern=dag_id_pattern or None,
        paused=paused,
        limit=page.limit,
        offset=page.offset,
    )
    return DagPageModel(
        dags=[DagModel.from_record(r) for r in chosen],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{dag_id}", response_model=DagDetailModel)
def get_dag(dag_id: str, state: ServerState = Depends(server_state)) -> DagDetailModel:
    """One DAG: its registry row, its tasks, its schedule and its params."""
    record = known_dag(state, dag_id)
    dag = load_dag(state, record)
    structure = serialize_dag(dag)
    tasks = [
        TaskModel(
            task_id=t["task_id"], operator=t["operator"], upstream=t["upstream"],
            trigger_rule=t["trigger_rule"], retries=t["retries"], group=t["group"],
        )
        for t in structure["tasks"]
    ]  # fmt: skip
    return DagDetailModel(
        **DagModel.from_record(record).model_dump(),
        tasks=tasks,
        timezone=structure.get("timezone"),
        start_date=structure.get("start_date"),
        end_date=structure.get("end_date"),
        catchup=structure.get("catchup"),
        max_active_runs=structure.get("max_active_runs"),
        params={name: param_model(value) for name, value in dag.params.items()},
    )


def param_model(value: Any) -> ParamModel:
    """The API's view of one DAG param (a ``Param`` or a bare default)."""
    if not isinstance(value, Param):
        return ParamModel(required=False, default=_json(value))
    return ParamModel(
        required=not value.has_value,
        default=_json(value.value) if value.has_value else None,
        description=value.description,
        json_schema=_json(value.schema),
    )


def _json(value: Any) -> Any:
    """``value`` as JSON can hold it (what JSON cannot hold: its ``repr``)."""
    return json.loads(json.dumps(value, default=repr))


@router.patch("/{dag_id}", response_model=DagModel)
def patch_dag(
    dag_id: str,
    body: DagPatch,
    state: ServerState = Depends(server_state),
    _: object = Depends(require(Role.OPERATOR)),
) -> DagModel:
    """Pause or unpause a DAG (operator)."""
    known_dag(state, dag_id)
    return DagModel.from_record(state.storage.registry.set_paused(dag_id, body.is_paused))


@router.get("/{dag_id}/source", response_model=DagSourceModel)
def get_source(dag_id: str, state: ServerState = Depends(server_state)) -> DagSourceModel:
    """The code of the file that defines the DAG (cut at the server's source limit)."""
    record = known_dag(state, dag_id)
    if record.fileloc is None or not Path(record.fileloc).is_file():
        raise ApiProblem(
            404, "Not found", f"the file of DAG {dag_id!r} ({record.fileloc}) is not on this server"
        )
    limit = state.config.source_limit
    with Path(record.fileloc).open("rb") as handle:
        data = handle.read(limit + 1)
    text = data[:limit].decode("utf-8", errors="replace")
    return DagSourceModel(
        dag_id=dag_id,
        fileloc=record.fileloc,
        source=state.secrets.mask(text),
        truncated=len(data) > limit,
    )


@router.post("/{dag_id}/runs", response_model=DagRunModel, status_code=201)
def trigger(
    dag_id: str,
    body: TriggerRequest,
    state: ServerState = Depends(server_state),
    _: object = Depends(require(Role.OPERATOR)),
) -> DagRunModel:
    """Queue a manual run (operator); its conf must fit the DAG's params, as for the CLI."""
    record = known_dag(state, dag_id)
    dag = load_dag(state, record)
    run = queue_run(
        state.storage, dag, body.conf, body.logical_date, body.partition_key, tags=body.tags
    )
    state.wake_schedulers()
    return DagRunModel.from_record(run)


__all__ = ["known_dag", "load_dag", "param_model", "router"]
