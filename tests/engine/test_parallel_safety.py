"""Per-process state that tasks running at once in threads share: prints, authoring, GC.

Each test runs two threads at the same time (a barrier makes them overlap)
and checks that neither sees the other's state.
"""

from __future__ import annotations

import gc
import sys
import threading
from datetime import UTC, datetime

from partita.definitions import authoring
from partita.definitions.dag import DAG
from partita.engine.driver import gc_relaxed
from partita.engine.runtime import CapturedOutput
from partita.engine.work import LogLine
from partita.operators.empty import EmptyOperator


def _in_threads(*targets: object) -> None:
    threads = [threading.Thread(target=t) for t in targets]  # type: ignore[arg-type]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)


def test_prints_of_tasks_in_two_threads_land_in_their_own_logs() -> None:
    logs: dict[str, list[LogLine]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)
    before = sys.stdout, sys.stderr

    def task(name: str) -> None:
        with CapturedOutput(logs[name]):
            barrier.wait()
            for i in range(200):
                print(f"{name} {i}")
            barrier.wait()
            print(f"{name} warns", file=sys.stderr)

    _in_threads(lambda: task("a"), lambda: task("b"))
    for name, lines in logs.items():
        assert [line.message for line in lines if line.level == "INFO"] == [
            f"{name} {i}" for i in range(200)
        ]
        assert [line.message for line in lines if line.level == "WARNING"] == [f"{name} warns"]
    assert (sys.stdout, sys.stderr) == before


def test_prints_outside_tasks_still_reach_the_real_stdout(capsys: object) -> None:
    inside: list[LogLine] = []
    barrier = threading.Barrier(2)

    def task() -> None:
        with CapturedOutput(inside):
            barrier.wait()
            barrier.wait()

    def bystander() -> None:
        barrier.wait()
        print("not a task's line")
        barrier.wait()

    _in_threads(task, bystander)
    assert inside == []
    assert "not a task's line" in capsys.readouterr().out  # type: ignore[attr-defined]


def test_a_dag_being_built_in_one_thread_is_not_current_in_another() -> None:
    barrier = threading.Barrier(2)
    seen: dict[str, object] = {}

    def builder() -> None:
        with DAG("in_thread", start_date=datetime(2025, 1, 1, tzinfo=UTC)) as dag:
            barrier.wait()
            EmptyOperator(task_id="mine")
            barrier.wait()
        seen["dag_tasks"] = sorted(dag.task_dict)

    def other() -> None:
        barrier.wait()
        seen["current"] = authoring.current_dag()
        seen["detached"] = EmptyOperator(task_id="detached").dag
        barrier.wait()

    _in_threads(builder, other)
    assert seen == {"dag_tasks": ["mine"], "current": None, "detached": None}


def test_gc_thresholds_are_restored_when_the_last_overlapping_run_ends() -> None:
    original = gc.get_threshold()
    first, second = gc_relaxed(), gc_relaxed()
    first.__enter__()
    relaxed = gc.get_threshold()
    assert relaxed[0] >= 50_000
    second.__enter__()
    first.__exit__(None, None, None)  # the first run ends while the second still runs
    assert gc.get_threshold() == relaxed
    second.__exit__(None, None, None)
    assert gc.get_threshold() == original
