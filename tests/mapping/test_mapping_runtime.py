"""Dynamic task mapping at run time: upstream inputs, empty maps, failures, limits, records."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from partita import DAG, TaskState, task
from partita.definitions.mapping import DEFAULT_MAX_MAP_LENGTH
from partita.definitions.states import TriggerRule
from partita.engine.active_run import ActiveRun, TaskSpec
from partita.engine.mapping import LazyOutputs
from partita.storage.sql import SqlStorage


def test_map_over_upstream_output_and_reduce() -> None:
    received: list[Any] = []
    with DAG("w3") as dag:

        @task
        def numbers() -> list[int]:
            return list(range(1000))

        @task
        def double(x: int) -> int:
            return 2 * x

        @task
        def total(values: Any) -> int:
            received.append(values)
            return sum(values)

        total(double.expand(x=numbers()))
    result = dag.test()
    assert result.output("total") == 999000
    assert isinstance(received[0], LazyOutputs)  # lazy, in map-index order
    assert received[0][3] == 6 and len(received[0]) == 1000


def test_mapped_feeds_mapped_one_instance_per_upstream_instance() -> None:
    with DAG("mm") as dag:

        @task
        def inc(x: int) -> int:
            return x + 1

        @task
        def square(x: int) -> int:
            return x * x

        square.expand(x=inc.expand(x=[1, 2, 3]))
    result = dag.test()
    assert result.output("square") == [4, 9, 16]
    assert sum(1 for ti in result.task_instances if ti.task_id == "square") == 3


def test_upstream_returning_a_non_collection_fails_with_its_type() -> None:
    with DAG("bad") as dag:

        @task
        def five() -> int:
            return 5

        @task
        def use(x: int) -> int:
            return x

        use.expand(x=five())
    result = dag.test()
    assert result.task_states["five"] is TaskState.FAILED
    assert result.task_states["use"] is TaskState.UPSTREAM_FAILED
    error = result.error("five") or ""
    assert "returned int" in error and "'use' expands over" in error


def test_empty_input_skips_the_mapped_task_and_downstream_follows_rules() -> None:
    with DAG("empty") as dag:

        @task
        def nothing() -> list[int]:
            return []

        @task
        def use(x: int) -> int:
            return x

        @task
        def after(values: Any) -> str:
            return "ran"

        @task(trigger_rule="all_done")
        def cleanup() -> str:
            return "cleaned"

        mapped = use.expand(x=nothing())
        after(mapped)
        mapped >> cleanup()
    result = dag.test()
    assert result.task_states["use"] is TaskState.SKIPPED
    assert result.task_states["after"] is TaskState.SKIPPED
    assert result.task_states["cleanup"] is TaskState.SUCCESS
    assert result.success


def test_failing_instance_retries_alone() -> None:
    calls: dict[int, int] = {}
    with DAG("retry") as dag:

        @task(retries=2, retry_delay=0.01)
        def flaky(x: int) -> int:
            calls[x] = calls.get(x, 0) + 1
            if x == 2 and calls[x] < 3:
                raise RuntimeError("not yet")
            return x

        flaky.expand(x=[1, 2, 3])
    result = dag.test()
    assert result.success
    assert calls == {1: 1, 2: 3, 3: 1}
    tries = {ti.map_index: ti.try_number for ti in result.task_instances}
    assert tries == {0: 1, 1: 3, 2: 1}


def test_trigger_rules_count_mapped_instances() -> None:
    with DAG("rules") as dag:

        @task
        def maybe(x: int) -> int:
            if x == 2:
                raise RuntimeError("boom")
            return x

        @task(trigger_rule="one_failed")
        def alert() -> str:
            return "alerted"

        @task
        def normal() -> str:
            return "ran"

        mapped = maybe.expand(x=[1, 2, 3])
        mapped >> alert()
        mapped >> normal()
    result = dag.test()
    states = {(ti.task_id, ti.map_index): ti.state for ti in result.task_instances}
    assert states[("maybe", 1)] is TaskState.FAILED
    assert states[("maybe", 0)] is TaskState.SUCCESS
    assert result.task_states["alert"] is TaskState.SUCCESS
    assert result.task_states["normal"] is TaskState.UPSTREAM_FAILED
    assert result.task_states["maybe"] is TaskState.FAILED  # aggregate of instances


def test_max_map_length_is_enforced_and_can_be_raised() -> None:
    with DAG("limit") as dag:

        @task
        def noop(x: int) -> None:
            return None

        noop.override(max_map_length=10).expand(x=list(range(11)))
        noop.override(task_id="raised", max_map_length=20).expand(x=list(range(11)))
    result = dag.test()
    assert result.task_states["noop"] is TaskState.FAILED
    assert "more than its max_map_length of 10" in (result.error("noop") or "")
    assert result.task_states["raised"] is TaskState.SUCCESS


def test_default_max_map_length_is_100000() -> None:
    assert DEFAULT_MAX_MAP_LENGTH == 100_000


def test_each_instance_has_its_own_record_log_and_output(tmp_path: Path) -> None:
    with DAG("records") as dag:

        @task
        def echo(x: int) -> int:
            print(f"instance got {x}")
            return x * 10

        echo.expand(x=[1, 2])
    storage = SqlStorage(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "storage")
    result = dag.test(storage=storage)
    tis = [ti for ti in storage.runs.get_task_instances(result.run_id) if ti.task_id == "echo"]
    assert [(ti.map_index, ti.state, ti.try_number) for ti in tis] == [
        (0, TaskState.SUCCESS, 1),
        (1, TaskState.SUCCESS, 1),
    ]
    assert "instance got 2" in result.logs("echo", map_index=1)
    assert "instance got 1" not in result.logs("echo", map_index=1)
    assert result.output("echo", map_index=1) == 20
    storage.close()


def test_max_active_tis_per_dagrun_caps_concurrency() -> None:
    run = ActiveRun([TaskSpec("m", (), (), TriggerRule.ALL_SUCCESS, True, 2)])
    run.start()
    assert run.take_expandable() == ["m"]
    run.expand("m", 5)
    first = run.take_ready()
    assert first == [("m", 0), ("m", 1)]
    assert run.take_ready() == []
    for key in first:
        run.mark_running(key)
    run.finish(("m", 0), TaskState.SUCCESS)
    assert run.take_ready() == [("m", 2)]


@pytest.mark.slow
def test_hundred_thousand_instances_run() -> None:
    with DAG("big") as dag:

        @task
        def noop(x: int) -> None:
            return None

        noop.expand(x=list(range(100_000)))
    start = time.perf_counter()
    result = dag.test()
    assert result.success
    assert len(result.task_instances) == 100_000
    assert time.perf_counter() - start < 120  # generous: a hang, not a speed check
