"""Asset checks: ``@asset_check`` run after their asset, recorded, blocking their downstream."""

from __future__ import annotations

from typing import Any

import pytest

from partita import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    Definitions,
    InMemoryIOManager,
    MaterializeResult,
    MetadataValue,
    Output,
    TaskState,
    asset,
    asset_check,
    define_asset_job,
    materialize,
)
from partita.definitions.asset_graph import AssetGraph
from partita.engine.asset_status import asset_statuses
from partita.exceptions import DefinitionError
from partita.storage.memory import MemoryStorage

ROWS: list[int] = [1, 2]


@asset
def orders() -> list[int]:
    return list(ROWS)


@asset
def report(orders: list[int]) -> int:
    return len(orders)


@asset_check(asset=orders, blocking=True)
def has_three_rows(orders: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=len(orders) >= 3, metadata={"rows": len(orders)})


@asset_check(asset=orders, description="no negative values")
def non_negative(values: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=all(v >= 0 for v in values))


CHECK_TASK = "orders__check__has_three_rows"


def test_a_passing_check_runs_after_its_asset_and_is_recorded() -> None:
    ROWS.append(3)
    try:
        result = materialize([orders, report, has_three_rows, non_negative])
    finally:
        ROWS.pop()
    assert result.success
    assert result.task_states == {
        "orders": TaskState.SUCCESS,
        CHECK_TASK: TaskState.SUCCESS,
        "orders__check__non_negative": TaskState.SUCCESS,
        "report": TaskState.SUCCESS,
    }
    record = result.check_result("orders", "has_three_rows")
    assert (record.passed, record.metadata, record.severity) == (True, {"rows": 3}, "ERROR")
    assert record.task_id == CHECK_TASK and record.run_id == result.run_id
    assert {r.check_name for r in result.check_evaluations} == {"has_three_rows", "non_negative"}


def test_a_failing_blocking_check_stops_the_downstream_assets() -> None:
    result = materialize([orders, report, has_three_rows, non_negative])
    assert not result.success
    assert result.task_states["orders"] is TaskState.SUCCESS
    assert result.task_states[CHECK_TASK] is TaskState.FAILED
    assert result.task_states["report"] is TaskState.UPSTREAM_FAILED
    assert result.check_result("orders", "has_three_rows").passed is False
    assert "blocking asset check 'has_three_rows' of asset 'orders' failed" in (
        result.error(CHECK_TASK) or ""
    )
    assert [m.asset_key.to_user_string() for m in result.materializations] == ["orders"]


def test_a_failing_check_that_does_not_block_leaves_the_run_successful() -> None:
    @asset_check(asset=orders)
    def always_fails() -> AssetCheckResult:
        return AssetCheckResult(passed=False, metadata={"why": MetadataValue.md("**no**")})

    @asset_check(asset=orders, blocking=True)
    def only_warns() -> AssetCheckResult:
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN)

    result = materialize([orders, report, always_fails, only_warns])
    assert result.success
    assert result.output("report") == 2
    failed = result.check_result("orders", "always_fails")
    assert failed.passed is False and failed.metadata == {"why": {"type": "md", "value": "**no**"}}
    assert result.check_result("orders", "only_warns").severity == "WARN"


def test_checks_run_in_asset_jobs_of_their_asset_only() -> None:
    defs = Definitions(
        assets=[orders, report],
        asset_checks=[has_three_rows],
        jobs=[define_asset_job("orders_job", "orders"), define_asset_job("report_job", "report")],
        resources={"io_manager": InMemoryIOManager()},
    )
    assert set(defs.get_dag("orders_job").task_dict) == {"orders", CHECK_TASK}
    orders_run: Any = defs.get_dag("orders_job").test()
    assert orders_run.task_states[CHECK_TASK] is TaskState.FAILED
    assert set(defs.get_dag("report_job").task_dict) == {"report"}


def test_check_results_persist_in_the_catalog_across_runs() -> None:
    storage = MemoryStorage()
    io = {"io_manager": InMemoryIOManager()}
    materialize([orders, non_negative], storage=storage, resources=io)
    materialize([orders, non_negative], storage=storage, resources=io)
    history = storage.assets.list_check_evaluations()
    assert [e.check_name for e in history] == ["non_negative", "non_negative"]
    assert history[0].description is None
    latest = storage.assets.latest_check_evaluations()
    assert list(latest) == [(orders.key, "non_negative")]


def test_bad_checks_are_one_line_errors_naming_the_check() -> None:
    @asset_check(asset="nowhere")
    def orphan() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    with pytest.raises(DefinitionError, match="asset check 'orphan' of asset 'nowhere': no"):
        materialize([orders, orphan])

    with pytest.raises(DefinitionError, match="takes 2 data parameters"):

        @asset_check(asset=orders)
        def two(a: int, b: int) -> AssetCheckResult:
            return AssetCheckResult(passed=True)

    @asset_check(asset=orders)
    def returns_bool() -> bool:
        return True

    result = materialize([orders, returns_bool])
    assert "returned bool; return AssetCheckResult(passed=..." in (
        result.error("orders__check__returns_bool") or ""
    )


# -- checks an asset reports itself: @asset(check_specs=[...]) -----------------------------


@asset(
    check_specs=[
        AssetCheckSpec("has_rows", asset="events", blocking=True),
        AssetCheckSpec("sorted", asset="events"),
    ]
)
def events() -> Any:
    rows = list(ROWS)
    yield Output(rows)
    yield AssetCheckResult(check_name="has_rows", passed=len(rows) >= 3)
    yield AssetCheckResult(check_name="sorted", passed=rows == sorted(rows), metadata={"n": 2})


@asset
def event_count(events: list[int]) -> int:
    return len(events)


def test_an_asset_reports_its_own_checks_and_a_blocking_failure_fails_it() -> None:
    result = materialize([events, event_count])
    assert result.task_states == {
        "events": TaskState.FAILED,
        "event_count": TaskState.UPSTREAM_FAILED,
    }
    assert [m.asset_key.to_user_string() for m in result.materializations] == ["events"]
    assert result.check_result("events", "has_rows").passed is False
    assert result.check_result("events", "sorted").metadata == {"n": 2}
    assert "blocking asset check 'has_rows' of asset 'events' failed" in (
        result.error("events") or ""
    )
    ROWS.append(3)
    try:
        assert materialize([events, event_count]).success
    finally:
        ROWS.pop()


def test_materialize_result_carries_check_results_and_assets_list_sees_the_specs() -> None:
    @asset(key="table", check_specs=[AssetCheckSpec("fresh", asset="table")])
    def table() -> MaterializeResult:
        return MaterializeResult(check_results=[AssetCheckResult(passed=True)])

    @asset_check(asset=table)
    def external() -> AssetCheckResult:
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN)

    storage = MemoryStorage()
    result = materialize([table, external], storage=storage)
    assert result.success
    assert result.check_result("table", "fresh").passed is True
    (status,) = asset_statuses(AssetGraph([table, external]), storage.assets)
    assert [(c.name, c.state) for c in status.checks] == [
        ("fresh", "passed"),
        ("external", "failed"),
    ]


def test_a_check_spec_that_is_not_reported_or_a_result_that_matches_none_fails_the_asset() -> None:
    @asset(check_specs=[AssetCheckSpec("a", asset="quiet"), AssetCheckSpec("b", asset="quiet")])
    def quiet() -> int:
        return 1

    result = materialize([quiet])
    assert "did not report check(s) a, b" in (result.error("quiet") or "")

    @asset(check_specs=[AssetCheckSpec("a", asset="vague"), AssetCheckSpec("b", asset="vague")])
    def vague() -> Any:
        yield Output(1)
        yield AssetCheckResult(passed=True)

    result = materialize([vague])
    assert "matches 2 of its checks (vague:a, vague:b); give check_name=" in (
        result.error("vague") or ""
    )
    with pytest.raises(DefinitionError, match="check spec 'x' is for asset 'other'"):

        @asset(check_specs=[AssetCheckSpec("x", asset="other")])
        def mine() -> int:
            return 1
