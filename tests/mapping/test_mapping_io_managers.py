"""Mapped tasks whose output goes through an IO manager: one stored value per instance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from partita import (
    DAG,
    FilesystemIOManager,
    InMemoryIOManager,
    InputContext,
    IOManager,
    OutputContext,
    SkipTask,
    TaskState,
    task,
)
from partita.definitions.states import TriggerRule
from partita.exceptions import ValueNotFoundError


class RecordingIOManager(IOManager):
    """Keeps values by identifier and notes the map index of every store and load."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], Any] = {}
        self.stored: list[tuple[str, int]] = []

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        self.stored.append((context.task_id, context.map_index))
        self.values[tuple(context.get_identifier())] = obj

    def load_input(self, context: InputContext) -> Any:
        try:
            return self.values[tuple(context.get_identifier())]
        except KeyError:
            raise ValueNotFoundError(str(context.get_identifier())) from None


def test_each_instance_is_stored_apart_and_the_downstream_reads_all_in_order() -> None:
    io = RecordingIOManager()
    received: list[Any] = []
    with DAG("mapped_io", resources={"store": io}) as dag:

        @task(io_manager_key="store")
        def double(x: int) -> int:
            return 2 * x

        @task
        def collect(values: list[int]) -> list[int]:
            received.append(values)
            return list(values)

        collect(double.expand(x=[3, 1, 2]))
    result = dag.test()
    assert result.success
    assert received == [[6, 2, 4]]
    assert sorted(io.stored) == [("double", 0), ("double", 1), ("double", 2)]
    assert {key[-2:] for key in io.values} == {("0", "return_value"), ("1", "return_value"),
                                              ("2", "return_value")}  # fmt: skip
    assert result.output("double") == [6, 2, 4]
    assert result.output("double", map_index=1) == 2


def test_files_per_instance_and_mapping_over_an_io_managed_output(tmp_path: Path) -> None:
    with DAG("files", resources={"files": FilesystemIOManager(base_dir=str(tmp_path))}) as dag:

        @task(io_manager_key="files")
        def numbers() -> list[int]:
            return [1, 2, 3]

        @task(io_manager_key="files")
        def square(x: int) -> int:
            return x * x

        @task
        def plus_one(x: int) -> int:
            return x + 1

        @task
        def total(values: list[int]) -> int:
            return sum(values)

        total(plus_one.expand(x=square.expand(x=numbers())))
    result = dag.test()
    assert result.success, result.task_states
    assert result.output("plus_one") == [2, 5, 10]
    assert result.output("total") == 17
    stored = sorted(p.relative_to(tmp_path).parts[-2:] for p in tmp_path.rglob("*.pkl"))
    assert [p for p in stored if p[0] in {"0", "1", "2"}] == [
        ("0", "return_value.pkl"), ("1", "return_value.pkl"), ("2", "return_value.pkl"),
    ]  # fmt: skip


def test_a_skipped_instance_reads_as_none() -> None:
    io = InMemoryIOManager()
    with DAG("skips", resources={"store": io}) as dag:

        @task(io_manager_key="store")
        def keep_odd(x: int) -> int:
            if x % 2 == 0:
                raise SkipTask("even")
            return x

        @task(trigger_rule=TriggerRule.ALL_DONE)
        def collect(values: list[int | None]) -> list[int | None]:
            return list(values)

        collect(keep_odd.expand(x=[1, 2, 3]))
    result = dag.test()
    assert result.task_states["collect"] is TaskState.SUCCESS
    assert result.output("collect") == [1, None, 3]
