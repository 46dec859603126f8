"""``materialize``: assets run in-process; values, metadata, versions, materialization records."""

from __future__ import annotations

from typing import Any

import pytest

from partita import (
    AssetKey,
    AssetOut,
    Config,
    Definitions,
    InMemoryIOManager,
    MaterializeResult,
    MetadataValue,
    Output,
    RunConfig,
    TaskState,
    asset,
    materialize,
    multi_asset,
)
from partita.exceptions import ResourceError, RunConfigError
from partita.storage.memory import MemoryStorage
from partita.storage.records import EventKind


@asset
def numbers() -> list[int]:
    return [1, 2, 3]


@asset(code_version="2")
def total(numbers: list[int]) -> Output[int]:
    return Output(
        sum(numbers),
        metadata={
            "count": len(numbers),
            "mean": sum(numbers) / len(numbers),
            "report": MetadataValue.md("# Total\nfine"),
            "source": MetadataValue.url("https://example.com/numbers"),
            "shape": MetadataValue.json({"rows": 3}),
            "note": "plain text",
        },
    )


def test_output_metadata_and_code_version_are_recorded() -> None:
    result = materialize([numbers, total])
    assert result.success
    assert result.output("total") == 6
    (record,) = result.materializations_of("total")
    assert record.code_version == "2"
    assert record.metadata == {
        "count": 3,
        "mean": 2.0,
        "report": {"type": "md", "value": "# Total\nfine"},
        "source": {"type": "url", "value": "https://example.com/numbers"},
        "shape": {"type": "json", "value": {"rows": 3}},
        "note": "plain text",
        "partita/upstream_data_versions": {
            "numbers": result.materializations_of("numbers")[0].data_version
        },
    }
    assert record.location == "memory://total"
    assert record.task_id == "total" and record.run_id == result.run_id


def test_data_version_is_a_hash_of_the_value_unless_the_asset_gives_one() -> None:
    @asset(name="numbers")
    def same_numbers() -> list[int]:
        return [1, 2, 3]

    @asset(name="numbers")
    def other_numbers() -> list[int]:
        return [3, 2, 1]

    @asset(name="numbers")
    def versioned() -> Output[list[int]]:
        return Output([1], data_version="v-42")

    def version_of(definition: Any) -> str | None:
        (record,) = materialize([definition]).materializations
        return record.data_version

    assert version_of(numbers) == version_of(same_numbers)
    assert version_of(numbers) != version_of(other_numbers)
    assert len(version_of(numbers) or "") == 16
    assert version_of(versioned) == "v-42"


def test_materialize_result_records_metadata_without_storing_a_value() -> None:
    io = InMemoryIOManager()

    @asset
    def external_table() -> MaterializeResult:
        return MaterializeResult(metadata={"rows": 10}, data_version="d1")

    @asset(deps=[external_table])
    def report() -> str:
        return "done"

    result = materialize([external_table, report], resources={"io_manager": io})
    assert result.success
    (record,) = result.materializations_of("external_table")
    assert (record.metadata, record.data_version, record.location) == ({"rows": 10}, "d1", None)
    assert list(io.values) == [("report",)]  # deps order, but pass no data


def test_multi_asset_returning_a_tuple_and_yielding_outputs() -> None:
    @multi_asset(outs={"evens": AssetOut(), "odds": AssetOut(key=["parts", "odds"])})
    def split(numbers: list[int]) -> tuple[list[int], list[int]]:
        return [n for n in numbers if n % 2 == 0], [n for n in numbers if n % 2]

    @multi_asset(outs={"low": AssetOut(), "high": AssetOut(is_required=False)}, name="bounds")
    def bounds(numbers: list[int]) -> Any:
        yield Output(min(numbers), output_name="low", metadata={"k": 1})

    result = materialize([numbers, split, bounds])
    assert result.success
    assert result.task_states["split"] is TaskState.SUCCESS
    assert result.output("evens") == [2]
    assert result.output(AssetKey(["parts", "odds"])) == [1, 3]
    assert result.output("low") == 1
    assert [m.asset_key for m in result.materializations_of("low")] == [AssetKey("low")]
    assert result.materializations_of("high") == []


def test_odds_input_resolves_by_name_only_with_the_right_key() -> None:
    @multi_asset(outs={"odds": AssetOut()})
    def only_odds(numbers: list[int]) -> list[int]:
        return [n for n in numbers if n % 2]

    @asset
    def odd_count(odds: list[int]) -> int:
        return len(odds)

    result = materialize([numbers, only_odds, odd_count])
    assert result.output("odd_count") == 2


def test_a_required_output_that_is_missing_fails_the_task() -> None:
    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
    def half() -> Any:
        yield Output(1, output_name="a")

    result = materialize([half])
    assert result.task_states["half"] is TaskState.FAILED
    assert "multi-asset 'half' did not produce asset(s) b" in (result.error("half") or "")


def test_asset_output_is_type_checked_after_output_is_unwrapped() -> None:
    @asset
    def wrapped() -> Output[int]:
        return Output("not a number")  # type: ignore[arg-type]

    @asset
    def plain() -> int:
        return "nope"  # type: ignore[return-value]

    result = materialize([wrapped, plain])
    assert "asset 'wrapped': output expected type int, got 'not a number' (str)" in (
        result.error("wrapped") or ""
    )
    assert "asset 'plain': output expected type int" in (result.error("plain") or "")
    assert result.materializations == []


class Scale(Config):
    factor: int = 2
    label: str


@asset
def scaled(config: Scale, numbers: list[int]) -> dict[str, Any]:
    return {"label": config.label, "values": [n * config.factor for n in numbers]}


def test_asset_config_from_a_dict_or_a_run_config_object() -> None:
    by_dict = materialize(
        [numbers, scaled], run_config={"tasks": {"scaled": {"config": {"label": "x"}}}}
    )
    assert by_dict.output("scaled") == {"label": "x", "values": [2, 4, 6]}
    by_object = materialize(
        [numbers, scaled], run_config=RunConfig(tasks={"scaled": Scale(label="y", factor=10)})
    )
    assert by_object.output("scaled") == {"label": "y", "values": [10, 20, 30]}
    assert by_object.run.conf == {"tasks": {"scaled": {"config": {"factor": 10, "label": "y"}}}}


def test_asset_config_errors_name_the_asset_and_the_field_before_the_run() -> None:
    storage = MemoryStorage()
    with pytest.raises(RunConfigError, match="task 'scaled': config is invalid: field 'label'"):
        materialize([numbers, scaled], storage=storage)
    with pytest.raises(RunConfigError, match="field 'factor': Input should be a valid integer"):
        materialize(
            [numbers, scaled],
            run_config={"tasks": {"scaled": {"config": {"label": "x", "factor": "many"}}}},
            storage=storage,
        )
    assert storage.runs.list_runs() == []


def test_a_multi_segment_asset_takes_config_by_its_slash_key() -> None:
    @asset(key=["warehouse", "scaled"])
    def warehouse_scaled(config: Scale) -> str:
        return config.label

    by_key = {"tasks": {"warehouse/scaled": {"config": {"label": "k"}}}}
    by_task_id = {"tasks": {"warehouse__scaled": {"config": {"label": "t"}}}}
    assert materialize([warehouse_scaled], run_config=by_key).output("warehouse/scaled") == "k"
    assert materialize([warehouse_scaled], run_config=by_task_id).output("warehouse/scaled") == "t"


def test_selection_runs_only_part_and_loads_the_rest_from_the_io_manager() -> None:
    io = InMemoryIOManager()
    first = materialize([numbers, total], resources={"io_manager": io})
    assert first.success
    only_total = materialize([numbers, total], selection="total", resources={"io_manager": io})
    assert only_total.task_states == {"total": TaskState.SUCCESS}
    assert only_total.output("total") == 6
    with pytest.raises(Exception, match="did not materialize asset 'numbers'"):
        only_total.output(AssetKey("numbers"))


def test_asset_task_arguments_are_passed_to_its_task() -> None:
    calls: list[int] = []

    @asset(retries=2, retry_delay=0)
    def flaky() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("not yet")
        return len(calls)

    result = materialize([flaky])
    assert result.success and result.output("flaky") == 3
    (ti,) = result.task_instances
    assert ti.try_number == 3


def test_each_materialization_is_also_an_event_of_the_run() -> None:
    storage = MemoryStorage()
    result = materialize([numbers, total], storage=storage)
    events = storage.events.read_events(result.run_id, kinds=[EventKind.ASSET_MATERIALIZED])
    assert [(e.task_id, e.payload["asset_key"]) for e in events] == [
        ("numbers", ["numbers"]),
        ("total", ["total"]),
    ]
    assert events[1].payload["data_version"] == result.materializations_of("total")[0].data_version


def test_errors_of_materialize_name_the_assets_not_an_internal_dag() -> None:
    @asset(required_resource_keys={"warehouse"})
    def orders() -> int:
        return 1

    @asset
    def revenue(orders: int) -> int:
        return orders

    with pytest.raises(ResourceError) as missing:
        materialize([orders, revenue])
    assert str(missing.value).startswith("materialize([orders, revenue]): asset 'orders' needs")
    assert "__materialize__" not in str(missing.value)

    with pytest.raises(RunConfigError, match=r"^materialize\(\[orders, revenue\]\): run conf"):
        materialize([orders, revenue], run_config=["not", "a", "dict"])

    dag = Definitions(assets=[orders, revenue]).materialize_dag(selection="revenue")
    assert dag.label == "materialize([revenue])"
