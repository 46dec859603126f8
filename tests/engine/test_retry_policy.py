"""``retry_policy``: the exception a try failed with decides retry, fail or default."""

from __future__ import annotations

from datetime import timedelta

import pytest

from partita import (
    DAG,
    ExceptionRetryPolicy,
    RetryAction,
    RetryDecision,
    RetryPolicy,
    RetryRule,
    TaskState,
    task,
)
from partita.exceptions import DefinitionError, FailTask

POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(exception=KeyError, action=RetryAction.FAIL, reason="a bad key never heals"),
        RetryRule(exception="no_such_library.errors.Flaky", action=RetryAction.FAIL),
        RetryRule(exception=ConnectionError, retry_delay=timedelta(0)),
    ]
)


def run_failing(exc: BaseException, retries: int = 2, **kwargs: object) -> object:
    tries: list[int] = []

    with DAG("policy") as dag:

        @task(retries=retries, retry_delay=timedelta(0), **kwargs)
        def flaky() -> None:
            tries.append(1)
            raise exc

        flaky()
    result = dag.test()
    return result, len(tries)


def test_fail_rule_fails_at_once_whatever_retries_are_left() -> None:
    result, tries = run_failing(KeyError("x"), retry_policy=POLICY)
    assert result.task_states["flaky"] is TaskState.FAILED  # type: ignore[attr-defined]
    assert tries == 1
    assert "retry_policy says fail: a bad key never heals" in result.logs("flaky")  # type: ignore[attr-defined]


def test_retry_rule_retries_within_the_tasks_retries() -> None:
    result, tries = run_failing(ConnectionError("down"), retries=2, retry_policy=POLICY)
    assert result.task_states["flaky"] is TaskState.FAILED  # type: ignore[attr-defined]
    assert tries == 3  # RETRY never goes beyond retries=2


def test_no_matching_rule_and_unimportable_paths_fall_through_to_the_defaults() -> None:
    _, tries = run_failing(ValueError("other"), retries=1, retry_policy=POLICY)
    assert tries == 2  # the task's own retries apply
    policy = ExceptionRetryPolicy(rules=[], default=RetryAction.FAIL)
    _, tries = run_failing(ValueError("other"), retries=3, retry_policy=policy)
    assert tries == 1


def test_fail_task_is_never_given_to_the_policy() -> None:
    class Always(RetryPolicy):
        def evaluate(self, exception, try_number, max_tries, context=None):  # type: ignore[no-untyped-def]
            return RetryDecision.retry()

    _, tries = run_failing(FailTask("stop"), retries=3, retry_policy=Always())
    assert tries == 1


def test_a_broken_policy_leaves_the_tasks_retries_in_charge() -> None:
    class Broken(RetryPolicy):
        def evaluate(self, exception, try_number, max_tries, context=None):  # type: ignore[no-untyped-def]
            raise RuntimeError("policy bug")

    result, tries = run_failing(ValueError("x"), retries=1, retry_policy=Broken())
    assert tries == 2
    assert "retry_policy failed (RuntimeError: policy bug)" in result.logs("flaky")  # type: ignore[attr-defined]


def test_wrong_policies_and_rules_are_refused() -> None:
    with DAG("bad"), pytest.raises(DefinitionError, match="retry_policy must be a RetryPolicy"):

        @task(retry_policy="retry twice")
        def t() -> None:
            pass

        t()
    with pytest.raises(DefinitionError, match="dotted import path"):
        RetryRule(exception="HTTPError")
    with pytest.raises(DefinitionError, match="retry_delay must be a timedelta"):
        RetryRule(exception=KeyError, retry_delay=5)  # type: ignore[arg-type]
