"""Setup and teardown tasks (Airflow's rules): wiring, when a teardown runs, run state, clear."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from partita import (
    DAG,
    EmptyOperator,
    PythonOperator,
    RunState,
    SkipTask,
    TaskGroup,
    TaskState,
    TriggerRule,
    setup,
    task,
    teardown,
)
from partita.compat import airflow as compat
from partita.engine.control import clear_task_instances, mark_task_instances
from partita.exceptions import DefinitionError
from partita.loader import load_dags
from partita.storage.memory import MemoryStorage


def _fail() -> None:
    raise ValueError("boom")


def _skip() -> None:
    raise SkipTask("not today")


def _pair(work: Any = None, create: Any = None, delete: Any = None, **teardown_kw: Any) -> DAG:
    """create_cluster >> run_query >> delete_cluster.as_teardown(setups=create_cluster)."""
    with DAG("cluster") as dag:
        create_cluster = PythonOperator(task_id="create", python_callable=create or (lambda: 1))
        run_query = PythonOperator(task_id="query", python_callable=work or (lambda: 2))
        delete_cluster = PythonOperator(task_id="delete", python_callable=delete or (lambda: 3))
        (
            create_cluster
            >> run_query
            >> delete_cluster.as_teardown(setups=create_cluster, **teardown_kw)
        )
    return dag


def test_as_teardown_marks_both_tasks_links_them_and_sets_the_rule() -> None:
    dag = _pair()
    create, delete = dag.task_dict["create"], dag.task_dict["delete"]
    assert create.is_setup and not create.is_teardown
    assert delete.is_teardown and not delete.is_setup
    assert delete.trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert set(delete.upstream_task_ids) == {"create", "query"}


def test_the_teardown_runs_after_the_work_fails_and_the_work_decides_the_run() -> None:
    result = _pair(work=_fail).test()
    assert result.task_states == {
        "create": TaskState.SUCCESS,
        "query": TaskState.FAILED,
        "delete": TaskState.SUCCESS,
    }
    assert result.state is RunState.FAILED  # query is the effective leaf


def test_a_failed_teardown_does_not_fail_the_run_by_default() -> None:
    result = _pair(delete=_fail).test()
    assert result.task_states["delete"] is TaskState.FAILED
    assert result.state is RunState.SUCCESS


def test_on_failure_fail_dagrun_lets_a_failed_teardown_fail_the_run() -> None:
    result = _pair(delete=_fail, on_failure_fail_dagrun=True).test()
    assert result.state is RunState.FAILED


def test_a_failed_setup_leaves_work_and_teardown_upstream_failed() -> None:
    result = _pair(create=_fail).test()
    assert result.task_states["query"] is TaskState.UPSTREAM_FAILED
    assert result.task_states["delete"] is TaskState.UPSTREAM_FAILED


def test_a_skipped_setup_skips_the_teardown() -> None:
    result = _pair(create=_skip).test()
    assert result.task_states["delete"] is TaskState.SKIPPED
    assert result.state is RunState.SUCCESS


def test_a_teardown_runs_when_one_of_two_setups_succeeded() -> None:
    with DAG("two_setups") as dag:
        good = EmptyOperator(task_id="good")
        bad = PythonOperator(task_id="bad", python_callable=_fail)
        work = EmptyOperator(task_id="work", trigger_rule="all_done")
        clean = EmptyOperator(task_id="clean").as_teardown(setups=[good, bad])
        [good, bad] >> work >> clean
    assert dag.test().task_states["clean"] is TaskState.SUCCESS


def test_decorators_and_a_with_block_wrap_the_tasks_created_inside() -> None:
    @setup
    def create_cluster() -> str:
        return "cluster-1"

    @teardown
    def delete_cluster(cluster: str) -> str:
        return f"deleted {cluster}"

    @task
    def query_one() -> int:
        return 1

    @task
    def query_two() -> int:
        raise ValueError("query two fails")

    with DAG("wrapped") as dag:
        cluster = create_cluster()
        with delete_cluster(cluster).as_teardown(setups=cluster):
            query_one() >> query_two()

    tasks = dag.task_dict
    assert tasks["create_cluster"].is_setup and tasks["delete_cluster"].is_teardown
    assert "query_one" in tasks["create_cluster"].downstream_task_ids
    assert "query_two" in tasks["delete_cluster"].upstream_task_ids
    result = dag.test()
    assert result.task_states["query_two"] is TaskState.FAILED
    assert result.output("delete_cluster") == "deleted cluster-1"
    assert result.state is RunState.FAILED


def test_with_setup_rshift_teardown_wraps_the_tasks_inside() -> None:
    with DAG("rshift") as dag:
        make = EmptyOperator(task_id="make").as_setup()
        drop = EmptyOperator(task_id="drop").as_teardown()
        with make >> drop:
            EmptyOperator(task_id="inner")
    assert dag.task_dict["inner"].upstream_task_ids.keys() == {"make"}
    assert dag.task_dict["inner"].downstream_task_ids.keys() == {"drop"}


def test_a_with_block_on_a_plain_task_is_refused_with_the_fix() -> None:
    with DAG("plain"):
        plain = EmptyOperator(task_id="plain")
        with pytest.raises(DefinitionError, match=r"as_setup\(\)"), plain:
            pass


def test_a_task_cannot_be_both_setup_and_teardown() -> None:
    with DAG("both"):
        t = EmptyOperator(task_id="t").as_setup()
        with pytest.raises(DefinitionError, match="cannot also be a teardown"):
            t.as_teardown()


def test_clearing_a_work_task_clears_its_setup_and_teardown() -> None:
    storage = MemoryStorage()
    dag = _pair(work=_fail)
    result = dag.test(storage=storage, verbose=False)
    cleared = clear_task_instances(storage, result.run_id, "query")
    assert {ti.task_id for ti in cleared.changed} == {"create", "query", "delete"}


def test_airflow_files_import_setup_and_teardown(tmp_path: Path) -> None:
    compat.uninstall()
    path = tmp_path / "st.py"
    path.write_text(
        textwrap.dedent(
            """
            from airflow.sdk import DAG, setup, task, teardown

            with DAG("af_setup_teardown"):
                @setup
                def make():
                    return 1

                @teardown
                def drop():
                    return 2

                @task
                def work():
                    raise ValueError("boom")

                m = make()
                d = drop()
                m >> work() >> d
                d.as_teardown(setups=m)
            """
        )
    )
    try:
        dag = load_dags(path).dags["af_setup_teardown"]
    finally:
        compat.uninstall()
    assert dag.test().task_states["drop"] is TaskState.SUCCESS


def test_a_group_on_the_left_of_rshift_leaves_its_teardown_aside() -> None:
    with DAG("group_teardown") as dag:
        with TaskGroup("cluster") as group:
            make = EmptyOperator(task_id="make")
            work = PythonOperator(task_id="work", python_callable=_fail)
            drop = EmptyOperator(task_id="drop")
            make >> work >> drop.as_teardown(setups=make)
        after = EmptyOperator(task_id="after", trigger_rule="all_done")
        group >> after
    assert set(after.upstream_task_ids) == {"cluster.work"}
    result = dag.test(verbose=False)
    assert result.task_states["cluster.drop"] is TaskState.SUCCESS
    assert result.state is RunState.SUCCESS  # 'after' is the leaf, and it ran


def test_marking_a_teardown_failed_leaves_the_run_successful() -> None:
    storage = MemoryStorage()
    result = _pair().test(storage=storage, verbose=False)
    marked = mark_task_instances(storage, result.run_id, "delete", TaskState.FAILED)
    assert marked.run_state_after is RunState.SUCCESS
    marked = mark_task_instances(storage, result.run_id, "query", TaskState.FAILED)
    assert marked.run_state_after is RunState.FAILED
