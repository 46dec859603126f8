"""Conditional skips: ShortCircuitOperator, @task.short_circuit, SkipTask, run_if / skip_if."""

from __future__ import annotations

from typing import Any

import pytest

from partita import (
    DAG,
    BashOperator,
    EmptyOperator,
    PythonOperator,
    RunState,
    ShortCircuitOperator,
    SkipTask,
    TaskState,
    task,
)
from partita.exceptions import DefinitionError

S, K, F, UF = TaskState.SUCCESS, TaskState.SKIPPED, TaskState.FAILED, TaskState.UPSTREAM_FAILED


def _chain_dag(condition: Any, ignore: bool = True) -> DAG:
    """check >> a >> b, plus check >> c; b and c are leaves."""
    with DAG(f"sc_{ignore}") as dag:
        check = ShortCircuitOperator(
            task_id="check",
            python_callable=lambda: condition,
            ignore_downstream_trigger_rules=ignore,
        )
        a, b, c = (EmptyOperator(task_id=t) for t in "abc")
        check >> a >> b
        check >> c
    return dag


def test_truthy_condition_runs_everything_and_is_the_output() -> None:
    result = _chain_dag({"rows": 3}).test()
    assert result.task_states == {"check": S, "a": S, "b": S, "c": S}
    assert result.output("check") == {"rows": 3}
    assert "proceeding with downstream tasks" in result.logs("check")


@pytest.mark.parametrize("falsy", [False, 0, "", [], None])
def test_falsy_condition_skips_everything_downstream(falsy: Any) -> None:
    result = _chain_dag(falsy).test()
    assert result.state is RunState.SUCCESS
    assert result.task_states == {"check": S, "a": K, "b": K, "c": K}
    assert result.output("check") is None


def test_short_circuit_followed_by_all_done_keeps_its_rule_when_not_ignoring() -> None:
    """ignore_downstream_trigger_rules=False: only the direct downstream is skipped."""
    with DAG("sc_all_done_rules") as dag:
        check = ShortCircuitOperator(
            task_id="check", python_callable=lambda: False, ignore_downstream_trigger_rules=False
        )
        a = EmptyOperator(task_id="a")
        done = EmptyOperator(task_id="done", trigger_rule="all_done")
        strict = EmptyOperator(task_id="strict")
        check >> a >> [done, strict]
    result = dag.test()
    assert result.task_states == {"check": S, "a": K, "done": S, "strict": K}
    assert "the rest follow their trigger rules" in result.logs("check")


def test_short_circuit_directly_followed_by_all_done_skips_it_either_way() -> None:
    for ignore in (True, False):
        with DAG(f"sc_direct_all_done_{ignore}") as dag:
            check = ShortCircuitOperator(
                task_id="check",
                python_callable=lambda: False,
                ignore_downstream_trigger_rules=ignore,
            )
            check >> EmptyOperator(task_id="done", trigger_rule="all_done")
        assert dag.test().task_states == {"check": S, "done": K}


def test_short_circuit_skips_all_downstream_even_all_done_tasks() -> None:
    """Airflow's default (ignore_downstream_trigger_rules=True) skips every descendant."""
    with DAG("sc_all_done") as dag:
        check = ShortCircuitOperator(task_id="check", python_callable=lambda: False)
        a = EmptyOperator(task_id="a")
        done = EmptyOperator(task_id="done", trigger_rule="all_done")
        after = EmptyOperator(task_id="after_done", trigger_rule="none_failed")
        check >> a >> done >> after
    result = dag.test()
    assert result.task_states == {"check": S, "a": K, "done": K, "after_done": K}
    assert "whatever its trigger rule: ['a', 'done', 'after_done']" in result.logs("check")


def test_short_circuit_skips_a_descendant_that_has_another_running_upstream() -> None:
    with DAG("sc_fan_in") as dag:
        check = ShortCircuitOperator(task_id="check", python_callable=lambda: False)
        other = EmptyOperator(task_id="other")
        a = EmptyOperator(task_id="a")
        join = EmptyOperator(task_id="join", trigger_rule="one_success")
        check >> a >> join
        other >> join
    assert dag.test().task_states == {"check": S, "other": S, "a": K, "join": K}


def test_short_circuit_with_op_kwargs_and_context() -> None:
    with DAG("sc_args") as dag:
        check = ShortCircuitOperator(
            task_id="check",
            python_callable=lambda limit, params: params["n"] < limit,
            op_kwargs={"limit": 5},
        )
        check >> EmptyOperator(task_id="a")
    assert dag.test(run_conf={"n": 3}).task_states["a"] is S
    assert dag.test(run_conf={"n": 9}).task_states["a"] is K


def test_task_short_circuit_decorator() -> None:
    def build(value: int, **options: Any) -> DAG:
        with DAG("sc_decorated") as dag:

            @task.short_circuit(**options)
            def enough(n: int) -> bool:
                return n > 10

            gate = enough(value)
            a = EmptyOperator(task_id="a")
            done = EmptyOperator(task_id="done", trigger_rule="all_done")
            gate >> a >> done
        return dag

    assert build(20).test().task_states == {"enough": S, "a": S, "done": S}
    assert build(1).test().task_states == {"enough": S, "a": K, "done": K}
    lenient = build(1, ignore_downstream_trigger_rules=False).test()
    assert lenient.task_states == {"enough": S, "a": K, "done": S}


def test_short_circuit_without_downstream_is_a_plain_task() -> None:
    with DAG("sc_alone") as dag:
        ShortCircuitOperator(task_id="check", python_callable=lambda: False)
    result = dag.test()
    assert result.task_states == {"check": S}
    assert "nothing to skip" in result.logs("check")


# -- SkipTask raised anywhere --------------------------------------------------------------


def test_skip_task_raised_in_a_python_task_skips_it_and_propagates_by_rule() -> None:
    def maybe() -> None:
        raise SkipTask("no new data")

    with DAG("skip_anywhere") as dag:
        a = PythonOperator(task_id="a", python_callable=maybe)
        b = EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c", trigger_rule="none_failed")  # skipped upstream is fine
        a >> b >> c
    result = dag.test()
    assert result.task_states == {"a": K, "b": K, "c": S}
    assert "skipped: no new data" in result.logs("a")


def test_skip_task_in_a_taskflow_task_and_a_bash_exit_code() -> None:
    with DAG("skip_flow") as dag:

        @task
        def fetch() -> int:
            raise SkipTask

        bash = BashOperator(task_id="bash", bash_command="exit 99")
        done = EmptyOperator(task_id="done", trigger_rule="all_done")
        [fetch(), bash] >> done
    assert dag.test().task_states == {"fetch": K, "bash": K, "done": S}


# -- run_if / skip_if ------------------------------------------------------------------------


def test_run_if_and_skip_if() -> None:
    with DAG("conditions") as dag:

        @task.run_if(lambda context: context["params"]["go"])
        @task
        def runs_when_go() -> str:
            return "ran"

        @task.skip_if(lambda context: context["params"]["go"], skip_message="go is set")
        @task
        def skips_when_go() -> str:
            return "ran"

        a = runs_when_go()
        skips_when_go()
        after = EmptyOperator(task_id="after")
        a >> after

    go = dag.test(run_conf={"go": True})
    assert go.task_states == {"runs_when_go": S, "skips_when_go": K, "after": S}
    assert go.output("runs_when_go") == "ran"
    assert "skipped: go is set" in go.logs("skips_when_go")

    stop = dag.test(run_conf={"go": False})
    assert stop.task_states == {"runs_when_go": K, "skips_when_go": S, "after": K}
    assert "run_if condition is false" in stop.logs("runs_when_go")


def test_conditions_stack_and_work_on_branches() -> None:
    calls: list[str] = []

    with DAG("stacked") as dag:

        @task.run_if(lambda context: calls.append("outer") or True)
        @task.skip_if(lambda context: calls.append("inner") or False)
        @task.branch
        def pick() -> str:
            return "a"

        pick() >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    assert dag.test().task_states == {"pick": S, "a": S, "b": K}
    assert calls == ["outer", "inner"]


def test_run_if_is_kept_by_override_and_must_sit_above_task() -> None:
    with DAG("override") as dag:

        @task.run_if(lambda context: False)
        @task
        def never() -> None:
            raise AssertionError("must not run")

        never.override(task_id="renamed")()
    assert dag.test().task_states == {"renamed": K}

    with pytest.raises(DefinitionError, match="must be written above @task"):

        @task
        @task.run_if(lambda context: True)  # type: ignore[arg-type]
        def wrong_order() -> None: ...

    with pytest.raises(DefinitionError, match="needs a callable"):
        task.skip_if(True)  # type: ignore[arg-type]


def test_a_failing_condition_fails_the_task() -> None:
    with DAG("bad_condition") as dag:

        @task.run_if(lambda context: context["no_such_key"])
        @task
        def work() -> None: ...

        work()
    result = dag.test()
    assert result.task_states == {"work": F}
    assert "KeyError" in (result.error("work") or "")
