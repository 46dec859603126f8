"""schemathesis over the API's OpenAPI schema: generated requests to every operation, as an
admin, on SQLite: no server error, responses as the schema documents them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from server_helpers import ApiWorld, build_world

from partita.storage.auth import Role
from partita.storage.sql import SqlStorage

#: The asset, partition, sensor, schedule and backfill operations.
AUTOMATION_PATHS = (
    "/api/v1/assets",
    "/api/v1/lineage",
    "/api/v1/partitions",
    "/api/v1/sensors",
    "/api/v1/schedules",
    "/api/v1/backfills",
    "/api/v1/dags/{dag_id}/partitions",
)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def schema_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    root = tmp_path_factory.mktemp("schema")
    with SqlStorage(f"sqlite:///{root / 'partita.db'}", root / "storage") as storage:
        yield from build_world(storage, root / "home")


@pytest.mark.slow
def test_the_api_keeps_to_its_schema(schema_world: ApiWorld) -> None:
    assert call_every_operation(schema_world) >= 20


@pytest.mark.slow
@pytest.mark.parametrize("assets_world", ["sqlite"], indirect=True)
def test_the_asset_and_automation_endpoints_keep_to_the_schema_with_data(
    assets_world: tuple[ApiWorld, str],
) -> None:
    prefixes = AUTOMATION_PATHS
    assert call_every_operation(assets_world[0], prefixes) >= 15


def call_every_operation(world: ApiWorld, prefixes: tuple[str, ...] = ("/",)) -> int:
    """Generated requests (as an admin) to every operation under ``prefixes``; fails on a
    server error or a response the schema does not describe. The number of operations."""
    app = world.app_client.app
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {world.tokens[Role.ADMIN]}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(prefixes):
            continue
        operations += 1

        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            if case.path.endswith("/logs/stream"):
                case.query = {**(case.query or {}), "try_number": 1}
            try:
                case.call_and_validate(headers=headers, checks=CHECKS)
            except AssertionError as exc:  # schemathesis's failure: collect, report all at once
                failures.append(f"{case.method} {case.formatted_path}: {exc}")
                raise

        with contextlib.suppress(AssertionError):  # collected in ``failures``
            check()
    assert not failures, "\n\n".join(failures[:5])
    return operations


def test_the_schema_documents_errors_as_problems(sqlite_world: ApiWorld) -> None:
    schema = sqlite_world.client(None).get("/api/v1/openapi.json").json()
    runs = schema["paths"]["/api/v1/runs/{run_id}"]["get"]["responses"]
    assert set(runs) >= {"200", "401", "403", "404", "422"}
    assert "application/problem+json" in runs["404"]["content"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert set(schema["components"]["securitySchemes"]) == {"bearer", "session"}
    assert schema["paths"]["/api/v1/health"]["get"]["security"] == []


def test_no_docs_page_loads_third_party_script(sqlite_world: ApiWorld, tmp_path: Path) -> None:
    client = sqlite_world.client(None)
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
