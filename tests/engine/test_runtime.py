"""What a running task touches: its log (prints, ``logging``, ``context['log']``), ``ti``'s
XCom calls, and the context it is given (dates, params, conf)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from partita import DAG, PythonOperator, SkipTask, TaskState

LOGICAL_DATE = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_prints_and_context_log_land_in_the_task_log() -> None:
    def chatty(log: Any) -> None:
        print("printed line")
        print("partial", end="")
        print(" and finished")
        log.info("through context log %d", 42)
        log.warning("a warning")

    with DAG("prints") as dag:
        PythonOperator(task_id="chatty", python_callable=chatty)
        PythonOperator(task_id="quiet", python_callable=lambda: None)
    result = dag.test()
    log = result.logs("chatty")
    assert "INFO - printed line" in log
    assert "INFO - partial and finished" in log
    assert "INFO - through context log 42" in log
    assert "WARNING - a warning" in log
    assert "printed line" not in result.logs("quiet")


def test_stderr_lands_in_the_task_log_as_a_warning() -> None:
    import sys

    with DAG("stderr") as dag:
        PythonOperator(task_id="t", python_callable=lambda: print("oops", file=sys.stderr))
    assert "WARNING - oops" in dag.test().logs("t")


def test_stdlib_logging_inside_a_task_lands_in_that_tasks_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # the application's logging configuration

    def uses_logging() -> None:
        logging.getLogger("user.module").info("info from a library")
        logging.getLogger("user.module").warning("warning from a library")

    with DAG("stdlib_logging") as dag:
        PythonOperator(task_id="logs", python_callable=uses_logging)
        PythonOperator(task_id="other", python_callable=lambda: None)
    result = dag.test()
    log = result.logs("logs")
    assert "INFO - user.module: info from a library" in log
    assert "WARNING - user.module: warning from a library" in log
    assert "from a library" not in result.logs("other")


def test_logging_outside_a_task_does_not_land_in_a_task_log() -> None:
    with DAG("outside_logging") as dag:
        PythonOperator(task_id="t", python_callable=lambda: None)
    logging.getLogger("user.module").warning("before the run")
    result = dag.test()
    logging.getLogger("user.module").warning("after the run")
    assert "the run" not in result.logs("t")


def test_context_dates_follow_the_logical_date_and_the_schedule() -> None:
    seen: dict[str, Any] = {}

    def look(**context: Any) -> None:
        seen.update(context)

    with DAG("dates", schedule="@daily") as dag:
        PythonOperator(task_id="t", python_callable=look)
    dag.test(logical_date=LOGICAL_DATE)
    assert seen["logical_date"] == LOGICAL_DATE
    assert seen["ds"] == "2024-05-06"
    assert seen["ds_nodash"] == "20240506"
    assert seen["ts"] == LOGICAL_DATE.isoformat()
    assert seen["data_interval_start"] == LOGICAL_DATE
    # Airflow 3: a manual run of a cron schedule covers [logical date, logical date].
    assert seen["data_interval_end"] == LOGICAL_DATE
    assert seen["try_number"] == 1


def test_a_naive_logical_date_is_taken_as_utc() -> None:
    seen: list[datetime] = []
    with DAG("naive") as dag:
        PythonOperator(task_id="t", python_callable=lambda logical_date: seen.append(logical_date))
    dag.test(logical_date=datetime(2024, 1, 2, 3, 4))
    assert seen == [datetime(2024, 1, 2, 3, 4, tzinfo=UTC)]


def test_params_dag_defaults_task_params_and_run_conf() -> None:
    seen: dict[str, dict[str, Any]] = {}

    def look(ti: Any, params: dict[str, Any], conf: dict[str, Any]) -> None:
        seen[ti.task_id] = {"params": dict(params), "conf": dict(conf)}

    with DAG("params", params={"region": "eu", "limit": 10}) as dag:
        PythonOperator(task_id="plain", python_callable=look)
        PythonOperator(task_id="own", python_callable=look, params={"limit": 5, "extra": 1})

    dag.test()
    assert seen["plain"]["params"] == {"region": "eu", "limit": 10}
    assert seen["own"]["params"] == {"region": "eu", "limit": 5, "extra": 1}

    dag.test(run_conf={"limit": 99, "new": "x"})
    assert seen["plain"]["params"] == {"region": "eu", "limit": 99, "new": "x"}
    assert seen["own"]["params"]["limit"] == 99  # the run conf beats the task's own params
    assert seen["plain"]["conf"] == {"limit": 99, "new": "x"}


def test_classic_xcom_push_and_pull_between_tasks() -> None:
    # Seed 003's style: push under a key, pull it by task id and key.
    def _train_model(**context: Any) -> None:
        context["task_instance"].xcom_push(key="model_id", value="m-123")

    def _deploy_model(**context: Any) -> str:
        model_id = context["task_instance"].xcom_pull(task_ids="train_model", key="model_id")
        print(f"Deploying model {model_id}")
        return model_id

    with DAG("classic_xcom") as dag:
        train = PythonOperator(task_id="train_model", python_callable=_train_model)
        deploy = PythonOperator(task_id="deploy_model", python_callable=_deploy_model)
        train >> deploy
    result = dag.test()
    assert result.output("train_model", key="model_id") == "m-123"
    assert result.output("deploy_model") == "m-123"
    assert "Deploying model m-123" in result.logs("deploy_model")


def test_xcom_pull_of_several_tasks_of_a_skipped_task_and_of_itself() -> None:
    pulled: dict[str, Any] = {}

    def skip() -> None:
        raise SkipTask

    def reader(ti: Any) -> None:
        ti.xcom_push("mine", 7)
        pulled["many"] = ti.xcom_pull(task_ids=["one", "two"])
        pulled["skipped"] = ti.xcom_pull(task_ids="skipper", default="nothing")
        pulled["own"] = ti.xcom_pull(key="mine")
        pulled["missing_key"] = ti.xcom_pull(task_ids="one", key="nope")

    with DAG("xcom_pull") as dag:
        one = PythonOperator(task_id="one", python_callable=lambda: 1)
        two = PythonOperator(task_id="two", python_callable=lambda: 2)
        skipper = PythonOperator(task_id="skipper", python_callable=skip)
        read = PythonOperator(task_id="reader", python_callable=reader, trigger_rule="all_done")
        [one, two, skipper] >> read
    result = dag.test()
    assert result.task_states["reader"] is TaskState.SUCCESS, result.error("reader")
    assert pulled == {"many": [1, 2], "skipped": "nothing", "own": 7, "missing_key": None}


def test_xcom_push_needs_a_key() -> None:
    def bad(ti: Any) -> None:
        ti.xcom_push("", 1)

    with DAG("bad_key") as dag:
        PythonOperator(task_id="t", python_callable=bad)
    result = dag.test()
    assert result.task_states["t"] is TaskState.FAILED
    error = result.error("t")
    assert error is not None and "key must be a non-empty string" in error


def test_ti_knows_its_place_in_the_run() -> None:
    seen: dict[str, Any] = {}

    def look(ti: Any) -> None:
        seen.update(
            dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
            map_index=ti.map_index, max_tries=ti.max_tries, text=repr(ti),
        )  # fmt: skip

    with DAG("ti_fields") as dag:
        PythonOperator(task_id="t", python_callable=look, retries=4)
    result = dag.test()
    assert seen["dag_id"] == "ti_fields"
    assert seen["task_id"] == "t"
    assert seen["run_id"] == result.run_id
    assert seen["map_index"] == -1
    assert seen["max_tries"] == 4
    assert "ti_fields.t" in seen["text"]
