"""The code examples of the seed articles, run as tests.

Each example is kept as close to the article as partita allows: only the
``airflow`` imports become ``partita`` ones (and one missing comma in seed
002 is added). Each test asserts the states and outputs the article expects.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from partita import (
    DAG,
    BashOperator,
    DummyOperator,
    FailTask,
    PythonOperator,
    RunState,
    SkipTask,
    TaskState,
    task,
)

# --- seed 002: the first DAG ------------------------------------------------------------


def print_hello() -> str:
    return "Hello"


def print_world() -> str:
    return "World"


def test_seed_002_example_dag() -> None:
    with DAG(
        dag_id="example_dag",  # DAG 식별자용 아이디
        description="DAG 설명",
        schedule="0 * * * *",
        start_date=datetime(2025, 1, 1),
        depends_on_past=False,
        catchup=False,
        tags=["example"],
    ) as dag:
        task1 = PythonOperator(task_id="print_hello", python_callable=print_hello)
        task2 = BashOperator(task_id="print_date", bash_command="date", retries=3)
        task3 = PythonOperator(task_id="print_world", python_callable=print_world)
        task1 >> task2 >> task3

    assert dag.topological_order() == ["print_hello", "print_date", "print_world"]
    assert dag.get_task("print_date").retries == 3
    result = dag.test()
    assert result.state is RunState.SUCCESS
    assert result.task_states == {
        "print_hello": TaskState.SUCCESS,
        "print_date": TaskState.SUCCESS,
        "print_world": TaskState.SUCCESS,
    }
    assert result.output("print_hello") == "Hello"
    assert result.output("print_world") == "World"
    assert re.search(r"\d{1,2}:\d{2}:\d{2}", result.output("print_date"))


def test_seed_002_dag_with_failure_callback() -> None:
    alerts: list[dict[str, Any]] = []

    def task_fail_slack_alert(context: Any) -> None:
        alerts.append({"dag": context["dag"].dag_id, "run_id": context["run_id"]})

    default_args = {
        "owner": "choonb",
        "depends_on_past": False,
        "start_date": datetime(2024, 1, 1),
        "end_date": datetime(2025, 1, 1),
    }

    def _handle_job_error() -> None:
        raise FailTask("Raise Exception.")

    with DAG(
        dag_id="dag_with_slack",
        default_args=default_args,
        schedule_interval="0 12 * * * ",  # UTC 기준이라 한국은 +9해서 생각
        tags=["slack"],
        catchup=True,
        on_failure_callback=task_fail_slack_alert,
    ) as dag:
        send_slack_notification = PythonOperator(
            task_id="raise_exception_and_send_slack_notification",
            python_callable=_handle_job_error,
        )
        send_slack_notification  # noqa: B018 - as in the article

    assert send_slack_notification.owner == "choonb"
    assert send_slack_notification.end_date == datetime(2025, 1, 1)
    result = dag.test()
    assert result.state is RunState.FAILED
    assert result.task_states == {
        "raise_exception_and_send_slack_notification": TaskState.FAILED,
    }
    assert alerts == [{"dag": "dag_with_slack", "run_id": result.run_id}]


# --- seed 003: dependencies, trigger rules, XCom, TaskFlow -----------------------------------


def test_seed_003_fan_out_fan_in() -> None:
    with DAG("fan_out_fan_in") as dag:
        start = DummyOperator(task_id="start")

        fetch_sales = DummyOperator(task_id="fetch_sales")
        clean_sales = DummyOperator(task_id="clean_sales")

        fetch_weather = DummyOperator(task_id="fetch_weather")
        clean_weather = DummyOperator(task_id="clean_weather")

        join_datasets = DummyOperator(task_id="join_datasets")

        start >> [fetch_sales, fetch_weather]
        fetch_sales >> clean_sales
        fetch_weather >> clean_weather
        [clean_weather, clean_sales] >> join_datasets

    assert set(join_datasets.upstream_task_ids) == {"clean_weather", "clean_sales"}
    assert set(start.downstream_task_ids) == {"fetch_sales", "fetch_weather"}
    order = dag.topological_order()
    assert order[0] == "start" and order[-1] == "join_datasets"
    result = dag.test()
    assert result.state is RunState.SUCCESS
    assert set(result.task_states.values()) == {TaskState.SUCCESS}
    assert len(result.task_states) == 6


def test_seed_003_tasks_defined_without_a_dag_join_it_together() -> None:
    # The article creates the operators at module level, with no DAG around them.
    start = DummyOperator(task_id="start")
    fetch_sales = DummyOperator(task_id="fetch_sales")
    fetch_weather = DummyOperator(task_id="fetch_weather")
    start >> [fetch_sales, fetch_weather]
    dag = DAG("loose_tasks")
    dag.add_task(start)
    assert set(dag.task_ids) == {"start", "fetch_sales", "fetch_weather"}
    assert dag.test().state is RunState.SUCCESS


def test_seed_003_none_failed_join_after_a_skipped_path() -> None:
    # The article's join_erp_branch: one of the two ERP paths does not run.
    def _fetch_sales_old() -> None:
        raise SkipTask("the new ERP system is in use")

    with DAG("join_erp") as dag:
        fetch_sales_old = PythonOperator(
            task_id="fetch_sales_old", python_callable=_fetch_sales_old
        )
        fetch_sales_new = DummyOperator(task_id="fetch_sales_new")
        clean_sales_old = DummyOperator(task_id="clean_sales_old")
        clean_sales_new = DummyOperator(task_id="clean_sales_new")
        fetch_weather = DummyOperator(task_id="fetch_weather")
        clean_weather = DummyOperator(task_id="clean_weather")
        join_erp_branch = DummyOperator(task_id="join_erp_branch", trigger_rule="none_failed")
        join_datasets = DummyOperator(task_id="join_datasets")

        fetch_sales_old >> clean_sales_old
        fetch_sales_new >> clean_sales_new
        fetch_weather >> clean_weather
        [clean_sales_old, clean_sales_new] >> join_erp_branch
        [join_erp_branch, clean_weather] >> join_datasets

    states = dag.test().task_states
    assert states["fetch_sales_old"] is TaskState.SKIPPED
    assert states["clean_sales_old"] is TaskState.SKIPPED  # the skip propagates...
    assert states["join_erp_branch"] is TaskState.SUCCESS  # ...but none_failed runs
    assert states["join_datasets"] is TaskState.SUCCESS


def test_seed_003_xcom_push_and_pull() -> None:
    def _train_model(**context: Any) -> None:
        model_id = str(uuid.uuid4())
        context["task_instance"].xcom_push(key="model_id", value=model_id)

    def _deploy_model(**context: Any) -> None:
        model_id = context["task_instance"].xcom_pull(task_ids="train_model", key="model_id")
        print(f"Deploying model {model_id}")

    with DAG("xcom_seed") as dag:
        train_model = PythonOperator(task_id="train_model", python_callable=_train_model)
        deploy_model = PythonOperator(task_id="deploy_model", python_callable=_deploy_model)
        train_model >> deploy_model

    result = dag.test()
    model_id = result.output("train_model", key="model_id")
    assert uuid.UUID(model_id)
    assert f"Deploying model {model_id}" in result.logs("deploy_model")


def test_seed_003_taskflow_train_and_deploy() -> None:
    @task
    def train_model() -> str:
        model_id = str(uuid.uuid4())
        return model_id

    @task
    def deploy_model(model_id: str) -> None:
        print(f"Deploying model {model_id}")

    with DAG("taskflow_seed") as dag:
        model_id = train_model()
        deploy_model(model_id)

    assert list(dag.get_task("deploy_model").upstream_task_ids) == ["train_model"]
    result = dag.test()
    assert result.task_states == {
        "train_model": TaskState.SUCCESS,
        "deploy_model": TaskState.SUCCESS,
    }
    trained = result.output("train_model")
    assert uuid.UUID(trained)
    assert f"Deploying model {trained}" in result.logs("deploy_model")
    assert result.output("deploy_model") is None
