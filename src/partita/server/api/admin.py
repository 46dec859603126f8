"""``/api/v1/health``, ``/api/v1/pools`` (list, set, delete) and ``/api/v1/import-errors``.

The design decision: the health check needs no login (a load balancer or a
monitor calls it) and says only what is safe to say: whether the database
answers, how long ago a scheduler last said it was alive, and, with the Celery
executor, whether the broker answers (probed at most every ``BROKER_PROBE_TTL``
seconds; the URL's password masked).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Path, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from partita.exceptions import StorageError
from partita.scheduler.loop import live_scheduler_ids
from partita.schemas import HealthModel, ImportErrorModel, PoolModel
from partita.server.auth.deps import require
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.settings import Settings
from partita.storage.auth import Role
from partita.storage.run_queue import PoolRecord

router = APIRouter(tags=["admin"])


class PoolUpdate(BaseModel):
    """A pool's size and description."""

    slots: int = Field(ge=0, le=1_000_000)
    description: str | None = Field(None, max_length=4096)


@router.get("/health", response_model=HealthModel)
def health(server: ServerState = Depends(server_state)) -> JSONResponse:
    """Is the database reachable, and is a scheduler alive? (No login needed; 503 when the
    database is not reachable.)"""
    now = datetime.now(UTC)
    try:
        schedulers = server.storage.queue.list_schedulers()
    except StorageError as exc:
        model = HealthModel(
            status="degraded", database=str(exc).splitlines()[0], scheduler_alive=False
        )
        return JSONResponse(model.model_dump(mode="json"), status_code=503)
    newest = max((s.heartbeat_at for s in schedulers), default=None)
    broker = _broker_state(server.config.settings)
    model = HealthModel(
        status="ok" if broker in (None, "ok") else "degraded",
        database="ok",
        scheduler_alive=bool(live_scheduler_ids(schedulers, now)),
        scheduler_heartbeat_age=(now - newest).total_seconds() if newest is not None else None,
        broker=broker,
    )
    return JSONResponse(
        model.model_dump(mode="json", exclude={"broker"} if broker is None else None)
    )


#: Seconds a probe of the Celery broker is reused (a monitor may poll the health often).
BROKER_PROBE_TTL = 5.0
_broker_probes: dict[str, tuple[float, str]] = {}


def _broker_state(settings: Settings) -> str | None:
    """With the Celery executor: "ok" or why its broker is unreachable; else None."""
    if settings.executor != "celery":
        return None
    url = settings.celery_broker_url
    seen = _broker_probes.get(url)
    if seen is not None and time.monotonic() - seen[0] < BROKER_PROBE_TTL:
        return seen[1]
    try:
        from partita.executors.celery_app import probe_broker
    except ImportError as exc:
        state = f"the Celery executor needs Celery ({exc}): pip install 'partita[celery]'"
    else:
        state = probe_broker(url) or "ok"
    _broker_probes[url] = (time.monotonic(), state)
    return state


@router.get("/pools", response_model=list[PoolModel], dependencies=[Depends(require(Role.VIEWER))])
def list_pools(server: ServerState = Depends(server_state)) -> list[PoolModel]:
    """The pools of task slots, sorted by name."""
    return [
        PoolModel(name=p.name, slots=p.slots, description=p.description)
        for p in server.storage.pools.list_pools()
    ]


@router.put("/pools/{name}", response_model=PoolModel, dependencies=[Depends(require(Role.ADMIN))])
def set_pool(
    body: PoolUpdate,
    name: str = Path(min_length=1, max_length=250, pattern=r"^[A-Za-z0-9_.\-]+$"),
    server: ServerState = Depends(server_state),
) -> PoolModel:
    """Create or resize a pool (admin)."""
    server.storage.pools.set_pool(PoolRecord(name, body.slots, body.description))
    return PoolModel(name=name, slots=body.slots, description=body.description)


@router.delete(
    "/pools/{name}",
    status_code=204,
    response_class=Response,
    dependencies=[Depends(require(Role.ADMIN))],
)
def delete_pool(
    name: str = Path(min_length=1, max_length=250, pattern=r"^[A-Za-z0-9_.\-]+$"),
    server: ServerState = Depends(server_state),
) -> None:
    """Delete a pool (admin); its tasks then use default_pool."""
    if not server.storage.pools.delete_pool(name):
        raise ApiProblem(404, "Not found", f"no pool {name!r}; GET /api/v1/pools lists them")


@router.get(
    "/import-errors",
    response_model=list[ImportErrorModel],
    dependencies=[Depends(require(Role.VIEWER))],
)
def import_errors(server: ServerState = Depends(server_state)) -> list[ImportErrorModel]:
    """The DAG files that failed to import at their last parse."""
    return [
        ImportErrorModel(
            fileloc=e.fileloc,
            error=server.secrets.mask(e.error),
            timestamp=e.timestamp,
            code_location=e.code_location,
        )
        for e in server.storage.registry.list_import_errors()
    ]


__all__ = ["router"]
