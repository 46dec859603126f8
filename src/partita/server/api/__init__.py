"""The REST API under ``/api/v1``: one router per resource, each route declaring its role.

The design decision: the routes are thin (read the store, call the function
the CLI calls, return a model of ``partita.schemas``); the JSON shapes are
those of ``partita ... --json``, and every refusal is partita's own message.
"""

from __future__ import annotations

from fastapi import APIRouter

from partita.server.api import (
    admin,
    assets,
    backfills,
    dag_partitions,
    dags,
    instigators,
    logs,
    rendered,
    runs,
    secrets_admin,
    tasks,
)
from partita.server.auth import routes as auth_routes

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every route of the API, under ``/api/v1``."""
    router = APIRouter(prefix=API_PREFIX)
    modules = (
        admin,
        auth_routes,
        dags,
        rendered,
        runs,
        tasks,
        logs,
        assets,
        secrets_admin,
        instigators,
        backfills,
        dag_partitions,
    )
    for module in modules:
        router.include_router(module.router)
    return router


__all__ = ["API_PREFIX", "api_router"]
