"""``/api/v1/assets``: the asset catalog, one asset's materializations, and its lineage.

The design decision: everything comes from what runs recorded, not from
importing code: the lineage of an asset is read from the run that last
materialized it (the DAG version that run recorded gives the task edges,
its materializations say which task produced which asset), so it needs
no code location and shows what really ran.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from partita.definitions.asset_key import AssetKey
from partita.engine.control import relatives, upstream_map
from partita.schemas import AssetLineageModel, AssetModel, MaterializationModel
from partita.server.api.params import PageParams, page_params
from partita.server.auth.deps import require
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role

router = APIRouter(prefix="/assets", tags=["assets"], dependencies=[Depends(require(Role.VIEWER))])


def _key(text: str, server: ServerState) -> AssetKey:
    key = AssetKey.from_user_string(text)
    if not server.storage.assets.list_materializations(key, limit=1):
        raise ApiProblem(
            404,
            "Not found",
            f"asset {text!r} was never materialized; GET /api/v1/assets lists the catalog",
        )
    return key


@router.get("", response_model=list[AssetModel])
def catalog(
    page: PageParams = Depends(page_params), server: ServerState = Depends(server_state)
) -> list[AssetModel]:
    """Every materialized asset, sorted by key, with its newest materialization."""
    keys = server.storage.assets.asset_keys()[page.offset : page.offset + page.limit]
    latest = server.storage.assets.latest_materializations(keys)
    return [
        AssetModel(
            asset_key=key.to_user_string(),
            last_materialization=(
                MaterializationModel.from_record(latest[key]) if key in latest else None
            ),
        )
        for key in keys
    ]


@router.get("/{asset_key:path}/materializations", response_model=list[MaterializationModel])
def materializations(
    asset_key: str,
    limit: int = Query(100, ge=1, le=1000),
    server: ServerState = Depends(server_state),
) -> list[MaterializationModel]:
    """One asset's materializations, newest first (``schema/table`` names a key)."""
    key = _key(asset_key, server)
    records = server.storage.assets.list_materializations(key, limit=limit)
    return [MaterializationModel.from_record(r) for r in records]


@router.get("/{asset_key:path}/lineage", response_model=AssetLineageModel)
def lineage(asset_key: str, server: ServerState = Depends(server_state)) -> AssetLineageModel:
    """The assets upstream and downstream of one asset in the run that last materialized it."""
    storage = server.storage
    key = _key(asset_key, server)
    newest = storage.assets.list_materializations(key, limit=1)[0]
    run = storage.runs.get_run(newest.run_id)
    produced: dict[str, set[str]] = {}
    for record in storage.assets.list_materializations(run_id=run.run_id, limit=100_000):
        produced.setdefault(record.task_id, set()).add(record.asset_key.to_user_string())
    version = storage.dags.get_dag_version(run.dag_id, run.dag_version)
    edges = upstream_map(storage, run) if version is not None else {}

    def assets_of(tasks: set[str]) -> list[str]:
        return sorted({name for task in tasks for name in produced.get(task, ())})

    return AssetLineageModel(
        asset_key=key.to_user_string(),
        run_id=run.run_id,
        upstream=assets_of(relatives(edges, [newest.task_id], down=False)),
        downstream=assets_of(relatives(edges, [newest.task_id], down=True)),
    )


__all__ = ["router"]
