"""Ids are checked against the width of the id columns when they are made, not mid-run."""

from __future__ import annotations

import pytest

from partita import DAG, EmptyOperator, PythonOperator, TaskGroup, TaskState, task
from partita.definitions.ids import MAX_ID_LENGTH
from partita.engine.driver import RunDriver
from partita.exceptions import DefinitionError
from partita.executors.in_process import InProcessExecutor
from partita.storage.memory import MemoryStorage


def test_a_task_id_too_long_with_its_group_prefix_is_refused_when_defined() -> None:
    group_id = "g" * 200
    with DAG("etl"), TaskGroup(group_id):
        EmptyOperator(task_id="t" * (MAX_ID_LENGTH - 201))  # exactly 250 with the prefix
        with pytest.raises(DefinitionError) as caught:
            EmptyOperator(task_id="load_" + "x" * 55)
    message = str(caught.value)
    assert message.startswith("DAG 'etl': task 'load_xxx")
    assert "its id in task group 'ggg" in message
    assert "is 261 characters long" in message and "at most 250 characters" in message
    assert "shorten the task id or the group ids" in message


def test_an_output_key_too_long_is_refused_when_defined() -> None:
    with DAG("etl"):

        @task
        def extract() -> dict[str, int]:
            return {}

        out = extract()
        out["k" * MAX_ID_LENGTH]  # the limit itself is fine
        with pytest.raises(DefinitionError, match="DAG 'etl': task 'extract': output key is 251"):
            out["k" * (MAX_ID_LENGTH + 1)]


def test_an_xcom_push_key_too_long_fails_the_task_not_the_run() -> None:
    with DAG("pushes") as dag:
        PythonOperator(task_id="t", python_callable=lambda ti: ti.xcom_push("k" * 251, 1))
    result = dag.test()
    assert result.task_states["t"] is TaskState.FAILED
    assert "xcom_push key is 251 characters long" in (result.error("t") or "")
    assert result.state.value == "failed"


def test_a_run_id_too_long_is_refused_before_anything_is_recorded() -> None:
    with DAG("etl") as dag:
        EmptyOperator(task_id="t")
    storage = MemoryStorage()
    with pytest.raises(DefinitionError, match="DAG 'etl': run id is 251 characters long"):
        RunDriver(dag, InProcessExecutor(), storage, run_id="r" * 251)
    assert storage.runs.list_runs() == []


# -- partita's own names (``__automation__``) are reserved ------------------------------


@pytest.mark.parametrize(
    "name", ["__automation__", "__automation_assets__", "__materialize__", "__mine__"]
)
def test_a_users_dag_sensor_or_schedule_may_not_take_a_reserved_name(name: str) -> None:
    from partita import DAG, ScheduleDefinition, sensor

    with pytest.raises(DefinitionError, match=r"reserved.*rename it"):
        DAG(name)
    with pytest.raises(DefinitionError, match=r"sensor name .* is reserved"):

        @sensor(name=name)
        def _watch() -> None: ...

    with pytest.raises(DefinitionError, match=r"schedule name .* is reserved"):
        ScheduleDefinition(name, cron_schedule="@daily", job="etl")


def test_partitas_own_automation_job_is_still_built_and_plain_dunder_free_names_pass() -> None:
    from partita import DAG, AutomationCondition, Definitions, asset

    @asset(automation_condition=AutomationCondition.eager())
    def table() -> int:
        return 1

    assert [d.dag_id for d in Definitions(assets=[table]).dags] == ["__automation_test_ids__"]
    assert DAG("_private_").dag_id == "_private_"
    assert DAG("__").dag_id == "__"
