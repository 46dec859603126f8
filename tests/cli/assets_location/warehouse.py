"""A code location for the CLI asset tests: assets, an asset job, a resource, config."""

from __future__ import annotations

import os
from typing import Any

from partita import (
    AssetCheckResult,
    AssetIn,
    Config,
    Definitions,
    FailTask,
    MetadataValue,
    Output,
    Resource,
    asset,
    asset_check,
    dag,
    define_asset_job,
    task,
)


class Source(Resource):
    rows: int


class Scale(Config):
    factor: int = 1


@asset(
    key=["some_db_schema", "upstream_asset"], code_version=os.environ.get("UPSTREAM_VERSION", "1")
)
def upstream_asset(source: Source) -> list[int]:
    return list(range(source.rows))


@asset(ins={"upstream": AssetIn(key=["some_db_schema", "upstream_asset"])}, group_name="reports")
def another_downstream_asset(upstream: list[int], config: Scale) -> Output[list[int]]:
    values = [v * config.factor for v in upstream] + [10]
    return Output(values, metadata={"count": len(values)})


@asset_check(asset=upstream_asset, blocking=True)
def enough_rows(upstream: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=len(upstream) >= 2, metadata={"rows": len(upstream)})


@task
def missing_file() -> None:
    raise FailTask(
        description="No files to process",
        metadata={"path": MetadataValue.path("/oh/my/path")},
    )


@dag
def failing_job() -> None:
    missing_file()


def unused(_: Any) -> None:  # a module-level helper is not a DAG or an asset
    pass


defs = Definitions(
    assets=[upstream_asset, another_downstream_asset, enough_rows],
    jobs=[define_asset_job("all_assets_job"), failing_job],
    resources={"source": Source(rows=int(os.environ.get("SOURCE_ROWS", "3")))},
)
