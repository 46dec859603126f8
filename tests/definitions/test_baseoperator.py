"""``BaseOperator``: default_args, argument checks, task ids, trigger rules, retry policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from partita import DAG, BaseOperator, BashOperator, EmptyOperator, PythonOperator, TriggerRule
from partita.exceptions import DefinitionError


class GreetOperator(BaseOperator):
    """A subclass with an argument of its own, as users write them."""

    def __init__(self, *, greeting: str = "hello", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.greeting = greeting

    def execute(self, context: Any) -> str:
        return self.greeting


def test_default_args_apply_to_every_task_and_explicit_arguments_win() -> None:
    default_args = {"owner": "data", "retries": 2, "retry_delay": timedelta(seconds=7)}
    with DAG("defaults", default_args=default_args) as dag:
        EmptyOperator(task_id="empty")
        BashOperator(task_id="bash", bash_command="true")
        PythonOperator(task_id="python", python_callable=lambda: None)
        EmptyOperator(task_id="explicit", retries=0, owner="me")
    for task_id in ("empty", "bash", "python"):
        task = dag.get_task(task_id)
        assert (task.owner, task.retries) == ("data", 2)
        assert task.retry_delay == timedelta(seconds=7)
    explicit = dag.get_task("explicit")
    assert (explicit.owner, explicit.retries) == ("me", 0)
    assert explicit.retry_delay == timedelta(seconds=7)


def test_default_args_fill_arguments_of_subclasses_too() -> None:
    with DAG("subclass_defaults", default_args={"greeting": "hi", "retries": 1}) as dag:
        GreetOperator(task_id="greet")
        EmptyOperator(task_id="other")  # has no 'greeting': the key is not forced on it
    greet = dag.get_task("greet")
    assert isinstance(greet, GreetOperator)
    assert (greet.greeting, greet.retries) == ("hi", 1)
    assert dag.get_task("other").retries == 1


def test_unknown_default_args_keys_are_ignored() -> None:
    with DAG("unknown_defaults", default_args={"email_on_failure": True, "sla": 3}) as dag:
        EmptyOperator(task_id="t")
    assert dag.task_ids == ["t"]


def test_default_args_given_to_the_operator_itself() -> None:
    with DAG("operator_defaults", default_args={"retries": 1}) as dag:
        EmptyOperator(task_id="t", default_args={"retries": 5})
    assert dag.get_task("t").retries == 5


def test_unknown_operator_arguments_raise_naming_them() -> None:
    with DAG("typo") as dag, pytest.raises(DefinitionError) as info:
        BashOperator(task_id="t", bash_command="true", retires=3, tirgger_rule="all_done")
    message = str(info.value)
    assert "DAG 'typo'" in message
    assert "BashOperator(task_id='t')" in message
    assert "retires, tirgger_rule" in message
    assert dag.task_ids == []


@pytest.mark.parametrize("task_id", ["", "has space", "a/b", "é", "x" * 251, 3])
def test_bad_task_ids_are_rejected(task_id: Any) -> None:
    with DAG("bad_ids"), pytest.raises(DefinitionError, match="task_id must be"):
        EmptyOperator(task_id=task_id)


@pytest.mark.parametrize("task_id", ["a", "A-b_c.d", "x" * 250, "0"])
def test_good_task_ids_are_accepted(task_id: str) -> None:
    with DAG("good_ids") as dag:
        EmptyOperator(task_id=task_id)
    assert dag.task_ids == [task_id]


def test_unknown_trigger_rule_lists_the_valid_ones() -> None:
    with DAG("bad_rule"), pytest.raises(DefinitionError) as info:
        EmptyOperator(task_id="t", trigger_rule="all_sucess")
    assert "unknown trigger_rule 'all_sucess'" in str(info.value)
    assert "none_failed_min_one_success" in str(info.value)


def test_trigger_rule_accepts_strings_and_enum_members() -> None:
    with DAG("rules") as dag:
        EmptyOperator(task_id="s", trigger_rule="one_failed")
        EmptyOperator(task_id="e", trigger_rule=TriggerRule.ALWAYS)
        EmptyOperator(task_id="d")
    assert dag.get_task("s").trigger_rule is TriggerRule.ONE_FAILED
    assert dag.get_task("e").trigger_rule is TriggerRule.ALWAYS
    assert dag.get_task("d").trigger_rule is TriggerRule.ALL_SUCCESS


@pytest.mark.parametrize("retries", [-1, 1.5, True, "3"])
def test_retries_must_be_a_non_negative_integer(retries: Any) -> None:
    with pytest.raises(DefinitionError, match="retries must be an integer >= 0"):
        EmptyOperator(task_id="t", retries=retries)


def test_delays_accept_seconds_or_timedelta() -> None:
    task = EmptyOperator(
        task_id="t", retry_delay=1.5, max_retry_delay=timedelta(minutes=1), execution_timeout=2
    )
    assert task.retry_delay == timedelta(seconds=1.5)
    assert task.max_retry_delay == timedelta(minutes=1)
    assert task.execution_timeout == timedelta(seconds=2)


@pytest.mark.parametrize("field", ["retry_delay", "execution_timeout", "max_retry_delay"])
def test_negative_or_non_numeric_delays_are_rejected(field: str) -> None:
    with pytest.raises(DefinitionError, match=f"{field} must be a timedelta or seconds >= 0"):
        EmptyOperator(task_id="t", **{field: -1})
    with pytest.raises(DefinitionError, match=field):
        EmptyOperator(task_id="t", **{field: "soon"})


def test_callbacks_must_be_callable_and_may_be_lists() -> None:
    def first(context: Any) -> None: ...

    def second(context: Any) -> None: ...

    task = EmptyOperator(task_id="t", on_failure_callback=[first, second])
    assert task.on_failure_callback == (first, second)
    with pytest.raises(DefinitionError, match="on_success_callback must be callable"):
        EmptyOperator(task_id="u", on_success_callback="notify")


def test_base_operator_execute_must_be_implemented() -> None:
    class Incomplete(BaseOperator):
        pass

    with pytest.raises(NotImplementedError, match="Incomplete must implement execute"):
        Incomplete(task_id="t").execute({})  # type: ignore[arg-type]


def test_output_is_a_reference_to_the_return_value() -> None:
    with DAG("output_ref"):
        task = EmptyOperator(task_id="t")
    ref = task.output
    assert ref.operator is task
    assert ref.key == "return_value"
    assert ref["part"].key == "part"


def test_relatives_of_a_task_outside_a_dag_cannot_be_listed_yet() -> None:
    first = EmptyOperator(task_id="first")
    loose = EmptyOperator(task_id="loose")
    first >> loose
    assert loose.dag is None
    assert list(loose.upstream_task_ids) == ["first"]
    with pytest.raises(DefinitionError, match="task 'loose' is not in a DAG yet"):
        _ = loose.upstream_list
