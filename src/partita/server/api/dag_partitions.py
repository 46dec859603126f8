"""``/api/v1/dags/{dag_id}/partitions``: a partitioned DAG's keys, each with the state of
its newest run (or ``missing``), one page at a time.

The design decision: the keys come from the DAG's ``partitions_def`` (the
server imports the DAG's file, as the DAG detail does, so dynamic keys are
read from the store); each key of the page costs one indexed lookup of its
newest run (``list_runs(dag_id, partition_key=...)``), so a page's cost does
not grow with the DAG's history nor with its number of partitions.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from partita.schemas import Page
from partita.server.api.dags import known_dag, load_dag
from partita.server.api.params import PageParams, page_params
from partita.server.auth.deps import require
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role

router = APIRouter(tags=["dags"], dependencies=[Depends(require(Role.VIEWER))])


class DagPartitionModel(BaseModel):
    """One partition key of a DAG and its newest run."""

    partition_key: str
    status: str = Field(description="The newest run's state, or 'missing' (never run).")
    run_id: str | None = None


class DagPartitionsModel(Page):
    """One page of a partitioned DAG's keys, in the definition's order."""

    dag_id: str
    partitions: list[DagPartitionModel]


@router.get("/dags/{dag_id}/partitions", response_model=DagPartitionsModel)
def dag_partitions(
    dag_id: str,
    page: PageParams = Depends(page_params),
    server: ServerState = Depends(server_state),
) -> DagPartitionsModel:
    """A partitioned DAG's keys with the state of each one's newest run."""
    dag = load_dag(server, known_dag(server, dag_id))
    if dag.partitions_def is None:
        raise ApiProblem(
            404,
            "Not found",
            f"DAG {dag_id!r} is not partitioned (no partitions_def=); "
            "GET /api/v1/runs?dag_id=... lists its runs",
        )
    keys = dag.partitions_def.get_partition_keys(dynamic_partitions_store=server.storage.partitions)
    found = []
    for key in keys[page.offset : page.offset + page.limit]:
        newest = server.storage.runs.list_runs(dag_id, partition_key=key, limit=1)
        found.append(
            DagPartitionModel(
                partition_key=key,
                status=str(newest[0].state) if newest else "missing",
                run_id=newest[0].run_id if newest else None,
            )
        )
    return DagPartitionsModel(
        dag_id=dag_id, partitions=found, total=len(keys), limit=page.limit, offset=page.offset
    )


__all__ = ["router"]
