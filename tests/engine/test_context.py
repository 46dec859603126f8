"""The context a task gets: Airflow's keys, three ways to reach them, and a per-task logger."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from partita import DAG, Context, Param, PythonOperator, get_current_context, macros, task

AIRFLOW_KEYS = {
    "ti", "task_instance", "task", "dag", "dag_run", "run_id", "logical_date",
    "execution_date", "data_interval_start", "data_interval_end", "ds", "ds_nodash", "ts",
    "ts_nodash", "params", "conf", "map_index", "try_number", "log", "macros",
}  # fmt: skip


def test_a_var_keyword_callable_gets_every_key() -> None:
    seen: dict[str, Any] = {}

    def look(**context: Any) -> None:
        seen.update(context)

    with DAG("all_keys", schedule="@daily", params={"n": Param(2, type="integer")}) as dag:
        PythonOperator(task_id="look", python_callable=look)
    result = dag.test(logical_date=datetime(2024, 5, 6, 7, 8, 9), run_conf={"extra": 1})
    assert set(seen) >= AIRFLOW_KEYS
    assert seen["ti"] is seen["task_instance"]
    assert seen["ti"].task_id == "look" and seen["task"].task_id == "look"
    assert seen["dag"] is dag
    assert seen["dag_run"].run_id == result.run_id == seen["run_id"]
    assert seen["logical_date"] == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert seen["data_interval_start"] == seen["logical_date"]
    assert seen["data_interval_end"] == seen["logical_date"]  # a manual run of a cron schedule
    assert (seen["ds"], seen["ds_nodash"]) == ("2024-05-06", "20240506")
    assert seen["ts"] == "2024-05-06T07:08:09+00:00"
    assert seen["params"] == {"n": 2, "extra": 1}
    assert seen["conf"] == {"extra": 1}
    assert (seen["map_index"], seen["try_number"]) == (-1, 1)
    assert seen["macros"] is macros


def test_a_callable_gets_only_the_keys_it_names() -> None:
    seen: dict[str, Any] = {}

    def look(ds: str, params: dict[str, Any], try_number: int) -> None:
        seen.update(ds=ds, params=params, try_number=try_number)

    with DAG("named_keys", params={"who": "me"}) as dag:
        PythonOperator(task_id="look", python_callable=look)
    dag.test(logical_date=datetime(2024, 1, 2))
    assert seen == {"ds": "2024-01-02", "params": {"who": "me"}, "try_number": 1}


def test_context_parameter_and_get_current_context_are_the_same_object() -> None:
    seen: dict[str, Any] = {}

    with DAG("three_ways") as dag:

        @task
        def look(context: Context) -> None:
            seen["param"] = context
            seen["current"] = get_current_context()

        look()
    dag.test()
    assert seen["param"] is seen["current"]
    assert isinstance(seen["param"], Context)
    assert set(seen["param"]) >= AIRFLOW_KEYS


def test_log_lines_land_in_that_task_instances_log() -> None:
    with DAG("logs") as dag:

        @task
        def first(log: Any) -> None:
            log.info("rows: %d", 3)
            log.warning("careful")

        @task
        def second() -> None:
            get_current_context()["log"].error("second's own line")

        first() >> second()
    result = dag.test()
    first_log, second_log = result.logs("first"), result.logs("second")
    assert "INFO - rows: 3" in first_log and "WARNING - careful" in first_log
    assert "ERROR - second's own line" in second_log
    assert "rows: 3" not in second_log


def test_macros_in_python_code() -> None:
    with DAG("macros_py") as dag:

        @task
        def week_later(ds: str, macros: Any) -> str:
            return str(macros.ds_add(ds, 7))

        week_later()
    assert dag.test(logical_date=datetime(2024, 12, 28)).output("week_later") == "2025-01-04"
