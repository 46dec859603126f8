"""Branching: BranchPythonOperator, @task.branch and BaseBranchOperator (Airflow's rules)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from partita import (
    DAG,
    BaseBranchOperator,
    BranchPythonOperator,
    Context,
    DummyOperator,
    EmptyOperator,
    PythonOperator,
    RunState,
    TaskGroup,
    TaskState,
    task,
)
from partita.engine.outputs import StoreOutputAccess
from partita.engine.result import RunResult
from partita.engine.runtime import run_context
from partita.engine.task_runner import run_task_instance
from partita.engine.work import RunInfo, TaskWork
from partita.executors.in_process import run_dag
from partita.storage.memory import MemoryStorage
from partita.storage.records import EventKind

S, K, F, UF = TaskState.SUCCESS, TaskState.SKIPPED, TaskState.FAILED, TaskState.UPSTREAM_FAILED
ERP_CHANGE_DATE = datetime(2019, 1, 1, tzinfo=UTC)


def _erp_dag() -> DAG:
    """Seed 003's example: pick the ERP system by logical date, join with none_failed."""

    def _pick_erp_system(**context: Any) -> str:
        if context["execution_date"] < ERP_CHANGE_DATE:
            return "fetch_sales_old"
        return "fetch_sales_new"

    with DAG("erp", schedule="@daily", start_date=datetime(2018, 1, 1)) as dag:
        start = DummyOperator(task_id="start")
        pick_erp_system = BranchPythonOperator(
            task_id="pick_erp_system", python_callable=_pick_erp_system
        )
        fetch_sales_old = EmptyOperator(task_id="fetch_sales_old")
        clean_sales_old = EmptyOperator(task_id="clean_sales_old")
        fetch_sales_new = EmptyOperator(task_id="fetch_sales_new")
        clean_sales_new = EmptyOperator(task_id="clean_sales_new")
        join_erp_branch = DummyOperator(task_id="join_erp_branch", trigger_rule="none_failed")
        fetch_weather = EmptyOperator(task_id="fetch_weather")
        clean_weather = EmptyOperator(task_id="clean_weather")
        join_datasets = EmptyOperator(task_id="join_datasets")
        train_model = EmptyOperator(task_id="train_model")

        start >> [pick_erp_system, fetch_weather]
        pick_erp_system >> [fetch_sales_old, fetch_sales_new]
        fetch_sales_old >> clean_sales_old
        fetch_sales_new >> clean_sales_new
        [clean_sales_old, clean_sales_new] >> join_erp_branch
        fetch_weather >> clean_weather
        [join_erp_branch, clean_weather] >> join_datasets
        join_datasets >> train_model
    return dag


@pytest.mark.parametrize(
    ("logical_date", "chosen", "other"),
    [(datetime(2018, 6, 1), "old", "new"), (datetime(2019, 6, 1), "new", "old")],
)
def test_seed_erp_branch_runs_the_chosen_side_and_joins_with_none_failed(
    logical_date: datetime, chosen: str, other: str
) -> None:
    result = _erp_dag().test(logical_date=logical_date)
    states = result.task_states
    assert result.state is RunState.SUCCESS
    assert states[f"fetch_sales_{chosen}"] is S and states[f"clean_sales_{chosen}"] is S
    assert states[f"fetch_sales_{other}"] is K and states[f"clean_sales_{other}"] is K
    for task_id in ("start", "pick_erp_system", "join_erp_branch", "join_datasets", "train_model"):
        assert states[task_id] is S, task_id
    assert result.output("pick_erp_system") == f"fetch_sales_{chosen}"
    log = result.logs("pick_erp_system")
    assert f"following branch ['fetch_sales_{chosen}']; skipping ['fetch_sales_{other}']" in log


def test_without_none_failed_the_join_is_skipped_as_the_seed_warns() -> None:
    with DAG("erp_all_success") as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "a")
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        join = EmptyOperator(task_id="join")
        pick >> [a, b] >> join
    assert dag.test().task_states == {"pick": S, "a": S, "b": K, "join": K}


def test_branch_outcome_carries_the_choice() -> None:
    """The engine (and so the CLI) gets the choice as data, not by parsing the log."""
    with DAG("carry") as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: ["b"])
        pick >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    now = datetime.now(UTC)
    info = RunInfo("r1", "carry", "manual", now, now, now, {}, {})
    outputs = StoreOutputAccess(MemoryStorage(), "r1")
    outcome = run_task_instance(
        pick, TaskWork("pick", -1, 1), info, run_context(info, dag), outputs
    )
    assert outcome.state is S
    assert outcome.skip_downstream == ["a"]
    assert outcome.followed_branches == ["b"]


def test_a_list_of_ids_follows_several_branches_and_none_skips_all() -> None:
    def build(choice: Any) -> DAG:
        with DAG("several") as dag:
            pick = BranchPythonOperator(task_id="pick", python_callable=lambda: choice)
            pick >> [EmptyOperator(task_id=t) for t in ("a", "b", "c")]
        return dag

    assert build(["a", "c"]).test().task_states == {"pick": S, "a": S, "b": K, "c": S}
    assert build(("b",)).test().task_states == {"pick": S, "a": K, "b": S, "c": K}
    assert build(None).test().task_states == {"pick": S, "a": K, "b": K, "c": K}
    assert build([]).test().task_states == {"pick": S, "a": K, "b": K, "c": K}


def test_an_id_that_is_not_directly_downstream_fails_the_branch_naming_the_choices() -> None:
    with DAG("bad_choice") as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "c")
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c")
        pick >> [a, b]
        a >> c
    result = dag.test()
    assert result.task_states == {"pick": F, "a": UF, "b": UF, "c": UF}
    error = result.error("pick") or ""
    assert "BranchChoiceError" in error
    assert "returned 'c', which is not a task directly downstream of it" in error
    assert "return one of 'a', 'b'" in error


def test_an_unknown_id_and_a_wrong_type_fail_the_branch() -> None:
    for value, expected in [("nope", "returned 'nope'"), (3, "it returned 3"), ([1], "[1]")]:
        with DAG("wrong") as dag:
            pick = BranchPythonOperator(task_id="pick", python_callable=lambda v=value: v)
            pick >> EmptyOperator(task_id="a")
        result = dag.test()
        assert result.task_states["pick"] is F
        assert expected in (result.error("pick") or "")


def test_a_branch_callable_that_raises_fails_and_its_downstream_is_upstream_failed() -> None:
    def explode() -> str:
        raise ValueError("no ERP today")

    with DAG("raises") as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=explode)
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed")
        pick >> [a, b] >> join
    result = dag.test()
    assert result.state is RunState.FAILED
    assert result.task_states == {"pick": F, "a": UF, "b": UF, "join": UF}
    assert "ValueError: no ERP today" in (result.error("pick") or "")


def test_a_task_downstream_of_a_chosen_and_a_skipped_branch_follows_its_trigger_rule() -> None:
    with DAG("diamond") as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "a")
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        strict = EmptyOperator(task_id="strict")  # all_success: one upstream skipped
        lenient = EmptyOperator(task_id="lenient", trigger_rule="none_failed_min_one_success")
        pick >> [a, b]
        [a, b] >> strict
        [a, b] >> lenient
    states = dag.test().task_states
    assert states == {"pick": S, "a": S, "b": K, "strict": K, "lenient": S}


def test_a_direct_downstream_also_reached_through_the_chosen_branch_is_not_skipped() -> None:
    """Airflow's special case: branch >> join and branch >> a >> join, choosing a."""
    with DAG("empty_branch") as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "a")
        a = EmptyOperator(task_id="a")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
        pick >> [a, join]
        a >> join
    assert dag.test().task_states == {"pick": S, "a": S, "join": S}

    with DAG("empty_branch_taken") as dag2:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "join")
        a = EmptyOperator(task_id="a")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
        pick >> [a, join]
        a >> join
    assert dag2.test().task_states == {"pick": S, "a": K, "join": S}


def test_a_branch_inside_a_task_group() -> None:
    with DAG("grouped") as dag:
        with TaskGroup("erp"):
            pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "new")
            old, new = EmptyOperator(task_id="old"), EmptyOperator(task_id="new")
            done = EmptyOperator(task_id="done", trigger_rule="none_failed")
            pick >> [old, new] >> done
        after = EmptyOperator(task_id="after")
        done >> after
    result = dag.test()
    assert result.task_states == {
        "erp.pick": S, "erp.old": K, "erp.new": S, "erp.done": S, "after": S,
    }  # fmt: skip
    assert "following branch ['erp.new']; skipping ['erp.old']" in result.logs("erp.pick")


def test_a_branch_may_return_full_ids_or_a_task_group_id() -> None:
    with DAG("to_groups") as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: ["left", "g2.x"])
        with TaskGroup("left") as left:
            first = EmptyOperator(task_id="first")
            first >> EmptyOperator(task_id="second")
        with TaskGroup("g2"):
            x, y = EmptyOperator(task_id="x"), EmptyOperator(task_id="y")
        pick >> [left, x, y]
    assert dag.test().task_states == {
        "pick": S, "left.first": S, "left.second": S, "g2.x": S, "g2.y": K,
    }  # fmt: skip


def test_task_branch_decorator() -> None:
    with DAG("decorated") as dag:

        @task.branch
        def choose(n: int) -> str:
            return "big" if n > 10 else "small"

        @task
        def make() -> int:
            return 42

        big, small = EmptyOperator(task_id="big"), EmptyOperator(task_id="small")
        choose(make()) >> [big, small]
    result = dag.test()
    assert result.task_states == {"make": S, "choose": S, "big": S, "small": K}
    assert result.output("choose") == "big"


def test_task_branch_with_arguments() -> None:
    with DAG("decorated_args") as dag:

        @task.branch(task_id="decide", retries=0)
        def choose() -> list[str]:
            return ["b"]

        choose() >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    assert dag.test().task_states == {"decide": S, "a": K, "b": S}


def test_base_branch_operator_subclass() -> None:
    class Weekday(BaseBranchOperator):
        def choose_branch(self, context: Context) -> str:
            return "weekend" if context["logical_date"].weekday() >= 5 else "weekday"

    def build() -> DAG:
        with DAG("weekday") as dag:
            Weekday(task_id="which") >> [
                EmptyOperator(task_id="weekday"),
                EmptyOperator(task_id="weekend"),
            ]
        return dag

    saturday = build().test(logical_date=datetime(2024, 6, 1))
    monday = build().test(logical_date=datetime(2024, 6, 3))
    assert saturday.task_states == {"which": S, "weekday": K, "weekend": S}
    assert monday.task_states == {"which": S, "weekday": S, "weekend": K}


def test_a_branch_that_is_itself_skipped_skips_everything_below() -> None:
    from partita import SkipTask

    def skip() -> str:
        raise SkipTask("not today")

    with DAG("skipped_branch") as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=skip)
        pick >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    assert dag.test().task_states == {"pick": K, "a": K, "b": K}


def test_branch_skips_are_recorded_as_task_state_events() -> None:
    storage = MemoryStorage()
    with DAG("events") as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "a")
        pick >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    result = run_dag(dag, storage=storage)
    events = storage.events.read_events(result.run_id, task_id="b", kinds=[EventKind.TASK_STATE])
    assert [e.payload["state"] for e in events] == ["skipped"]
    assert isinstance(RunResult(storage, result.run_id).task_states["b"], TaskState)


def test_python_operator_and_branch_share_python_semantics() -> None:
    """A branch callable gets context keys and op_kwargs like any PythonOperator."""
    with DAG("semantics") as dag:
        seen: dict[str, Any] = {}

        def choose(target: str, ds: str) -> str:
            seen["ds"] = ds
            return target

        pick = BranchPythonOperator(
            task_id="pick", python_callable=choose, op_kwargs={"target": "b"}
        )
        pick >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
        PythonOperator(task_id="other", python_callable=lambda: None)
    result = dag.test(logical_date=datetime(2024, 1, 2))
    assert result.task_states["a"] is K and result.task_states["b"] is S
    assert seen["ds"] == "2024-01-02"
