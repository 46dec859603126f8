"""``@multi_asset(can_subset=True)``: a selection runs only the selected outputs of the function."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from partita import (
    AssetKey,
    AssetOut,
    Context,
    Definitions,
    InMemoryIOManager,
    Output,
    TaskState,
    asset,
    define_asset_job,
    materialize,
    multi_asset,
)

COMPUTED: list[str] = []


@multi_asset(
    outs={"evens": AssetOut(is_required=False), "odds": AssetOut(is_required=False)},
    can_subset=True,
)
def split(context: Context) -> Iterator[Output[list[int]]]:
    numbers = [1, 2, 3, 4]
    for name in sorted(context.selected_output_names):
        COMPUTED.append(name)
        wanted = 0 if name == "evens" else 1
        yield Output([n for n in numbers if n % 2 == wanted], output_name=name)


@asset
def odd_sum(odds: list[int]) -> int:
    return sum(odds)


def test_selecting_one_output_runs_only_that_one() -> None:
    COMPUTED.clear()
    io = InMemoryIOManager()
    result = materialize([split, odd_sum], selection="odds*", resources={"io_manager": io})
    assert result.success
    assert COMPUTED == ["odds"]
    assert [m.asset_key for m in result.materializations] == [AssetKey("odds"), AssetKey("odd_sum")]
    assert result.output("odd_sum") == 4
    assert list(io.values) == [("odds",), ("odd_sum",)]


def test_selected_asset_keys_are_in_the_context_and_all_run_without_a_selection() -> None:
    seen: list[set[AssetKey]] = []

    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()}, can_subset=True)
    def pair(context: Context) -> Iterator[Output[int]]:
        seen.append(set(context.selected_asset_keys))
        for name in sorted(context.selected_output_names):
            yield Output(1, output_name=name)

    assert materialize([pair]).success
    assert materialize([pair], selection="b").success
    assert seen == [{AssetKey("a"), AssetKey("b")}, {AssetKey("b")}]


def test_without_can_subset_a_selection_still_runs_the_whole_function() -> None:
    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
    def both(context: Context) -> tuple[int, int]:
        assert context.selected_output_names == {"a", "b"}
        return 1, 2

    result = materialize([both], selection="a")
    assert {m.asset_key for m in result.materializations} == {AssetKey("a"), AssetKey("b")}


def test_an_output_that_was_not_selected_fails_the_task_naming_it() -> None:
    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()}, can_subset=True)
    def careless() -> Iterator[Output[int]]:
        yield Output(1, output_name="a")
        yield Output(2, output_name="b")

    result = materialize([careless], selection="a")
    assert result.task_states["careless"] is TaskState.FAILED
    assert "asset 'b', which is not selected in this run" in (result.error("careless") or "")
    assert result.materializations == []


def test_an_asset_job_over_a_subset_runs_only_those_outputs() -> None:
    COMPUTED.clear()
    defs = Definitions(
        assets=[split, odd_sum],
        jobs=[define_asset_job("evens_only", selection="evens")],
        resources={"io_manager": InMemoryIOManager()},
    )
    result: Any = defs.get_dag("evens_only").test()
    assert result.success and COMPUTED == ["evens"]
    assert result.output("evens") == [2, 4]
