"""``RunResult``: state, task states, outputs, logs, errors and duration of a finished run."""

from __future__ import annotations

import time

import pytest

from partita import DAG, EmptyOperator, PartitaError, PythonOperator, RunResult, RunState, TaskState
from partita.engine.result import log_lines
from partita.storage.memory import MemoryStorage


def _fail() -> None:
    raise ValueError("bad row 7")


def test_a_successful_run() -> None:
    def slow() -> int:
        time.sleep(0.02)
        return 41

    with DAG("result_ok") as dag:
        a = PythonOperator(task_id="a", python_callable=slow)
        b = PythonOperator(task_id="b", python_callable=lambda ti: ti.xcom_pull("a") + 1)
        a >> b
    result = dag.test()
    assert isinstance(result, RunResult)
    assert result.dag_id == "result_ok"
    assert result.state is RunState.SUCCESS
    assert result.success is True
    assert result.task_states == {"a": TaskState.SUCCESS, "b": TaskState.SUCCESS}
    assert result.output("b") == 42
    assert result.error("a") is None
    assert result.duration >= 0.02
    assert "result_ok" in repr(result) and "success" in repr(result)


def test_a_failed_run_gives_the_traceback_of_the_failed_task() -> None:
    with DAG("result_failed") as dag:
        PythonOperator(task_id="broken", python_callable=_fail)
    result = dag.test()
    assert result.state is RunState.FAILED
    assert result.success is False
    error = result.error("broken")
    assert error is not None
    assert error.startswith("Traceback")
    assert "ValueError: bad row 7" in error
    assert "in _fail" in error
    assert result.output("broken") is None
    assert "ERROR - task failed: ValueError: bad row 7" in result.logs("broken")


def test_asking_for_an_unknown_task_names_the_known_ones() -> None:
    with DAG("result_unknown") as dag:
        EmptyOperator(task_id="extract")
        EmptyOperator(task_id="load")
    result = dag.test()
    for ask in (result.output, result.logs, result.error):
        with pytest.raises(PartitaError, match=r"has no task instance 'trasnform'.*extract, load"):
            ask("trasnform")


def test_a_result_can_be_rebuilt_from_the_store_alone() -> None:
    storage = MemoryStorage()
    with DAG("result_rebuilt") as dag:
        PythonOperator(task_id="t", python_callable=lambda: print("hello") or "value")
    first = dag.test(storage=storage)
    again = RunResult(storage, first.run_id)
    assert again.state is RunState.SUCCESS
    assert again.output("t") == "value"
    assert again.logs("t") == first.logs("t")
    assert any("hello" in line for line in log_lines(storage, first.run_id, "t"))


def test_logs_keep_every_try() -> None:
    def count(ti: object) -> None:
        print(f"try {ti.try_number} here")  # type: ignore[attr-defined]
        raise ValueError("again")

    with DAG("result_tries") as dag:
        PythonOperator(task_id="t", python_callable=count, retries=1, retry_delay=0)
    log = dag.test().logs("t")
    assert "try 1 here" in log
    assert "try 2 here" in log
    assert log.index("try 1 here") < log.index("try 2 here")
