"""DAGs for the CLI tests: one that fails with metadata, one that retries, one with groups."""

from datetime import timedelta
from typing import Any

from partita import DAG, BashOperator, EmptyOperator, FailTask, PythonOperator, TaskGroup


def _load(**context: Any) -> None:
    print("loading [bold]rows[/bold]")  # markup-like text must print as itself
    raise FailTask("3 rows were rejected", metadata={"rejected": 3, "table": "orders"})


with DAG("failing", params={"limit": 10}) as failing:
    extract = PythonOperator(task_id="extract", python_callable=lambda: [1, 2, 3])
    load = PythonOperator(task_id="load", python_callable=_load)
    report = EmptyOperator(task_id="report")
    always = EmptyOperator(task_id="always", trigger_rule="all_done")
    extract >> load >> [report, always]


def _flaky(ti: Any) -> str:
    print(f"attempt {ti.try_number}")
    if ti.try_number == 1:
        raise RuntimeError("first try always fails")
    return "ok"


with DAG("flaky") as flaky:
    PythonOperator(
        task_id="flaky", python_callable=_flaky, retries=2, retry_delay=timedelta(0)
    ) >> BashOperator(task_id="after", bash_command="echo after the retry")


with DAG("grouped") as grouped:
    start = EmptyOperator(task_id="start")
    with TaskGroup("outer") as outer:
        first = EmptyOperator(task_id="first")
        with TaskGroup("inner") as inner:
            a = EmptyOperator(task_id="a")
            b = EmptyOperator(task_id="b")
            a >> b
        first >> inner
    end = EmptyOperator(task_id="end")
    side = EmptyOperator(task_id="side")
    start >> outer >> end
    start >> side >> end
