"""Failure handling at the user-code boundary, through ``dag.test()``.

Retries and their delays, exponential backoff, execution timeouts, the
signals user code raises (``SkipTask``, ``FailTask``, ``RetryTask``),
callbacks of tasks and DAGs, and callbacks that raise.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from partita import (
    DAG,
    EmptyOperator,
    FailTask,
    PythonOperator,
    RetryTask,
    RunState,
    SkipTask,
    TaskState,
)
from partita.engine.task_runner import MAX_RETRY_DELAY, retry_delay
from partita.storage.memory import MemoryStorage
from partita.storage.records import EventKind

FAST = 0.05  # a retry delay short enough for tests, long enough to measure


def flaky(failures: int, tries: list[int] | None = None) -> Callable[..., str]:
    """A callable that fails ``failures`` times, then succeeds; records each try number."""
    seen = tries if tries is not None else []

    def call(ti: Any) -> str:
        seen.append(ti.try_number)
        if len(seen) <= failures:
            raise ConnectionError(f"attempt {len(seen)} failed")
        return f"worked on try {ti.try_number}"

    return call


def try_number(result: Any, task_id: str) -> int:
    return next(ti.try_number for ti in result.task_instances if ti.task_id == task_id)


# --- retries --------------------------------------------------------------------------------------


def test_a_task_retries_after_its_delay_until_it_succeeds() -> None:
    tries: list[int] = []
    with DAG("retry_then_succeed") as dag:
        PythonOperator(
            task_id="flaky", python_callable=flaky(2, tries), retries=3, retry_delay=FAST
        )
    started = time.monotonic()
    result = dag.test()
    elapsed = time.monotonic() - started
    assert result.task_states["flaky"] is TaskState.SUCCESS
    assert result.output("flaky") == "worked on try 3"
    assert tries == [1, 2, 3]
    assert try_number(result, "flaky") == 3
    assert elapsed >= 2 * FAST
    log = result.logs("flaky")
    assert "try 1 of 4 failed; retrying in 0.05s" in log
    assert "try 2 of 4 failed" in log


def test_a_task_fails_when_its_retries_are_used_up() -> None:
    tries: list[int] = []
    storage = MemoryStorage()
    with DAG("retries_exhausted") as dag:
        PythonOperator(
            task_id="broken", python_callable=flaky(99, tries), retries=2, retry_delay=FAST
        )
        EmptyOperator(task_id="after").set_upstream(dag.get_task("broken"))
    started = time.monotonic()
    result = dag.test(storage=storage)
    assert time.monotonic() - started >= 2 * FAST
    assert tries == [1, 2, 3]
    assert result.task_states == {
        "broken": TaskState.FAILED,
        "after": TaskState.UPSTREAM_FAILED,
    }
    assert try_number(result, "broken") == 3
    states = [
        e.payload["state"]
        for e in storage.events.read_events(
            result.run_id, task_id="broken", kinds=[EventKind.TASK_STATE]
        )
    ]
    assert states == [
        "running", "up_for_retry", "running", "up_for_retry", "running", "failed"
    ]  # fmt: skip
    errors = storage.events.read_events(result.run_id, kinds=[EventKind.TASK_ERROR])
    assert [e.try_number for e in errors] == [1, 2, 3]
    assert "ConnectionError: attempt 3 failed" in errors[-1].payload["error"]


def _operator(**kwargs: Any) -> EmptyOperator:
    return EmptyOperator(task_id="t", **kwargs)


def test_retry_delay_is_constant_without_backoff() -> None:
    task = _operator(retry_delay=10)
    assert [retry_delay(task, n) for n in (1, 2, 5)] == [timedelta(seconds=10)] * 3


def test_retry_delay_doubles_with_exponential_backoff_up_to_the_cap() -> None:
    task = _operator(retry_delay=10, retry_exponential_backoff=True, max_retry_delay=65)
    assert [retry_delay(task, n).total_seconds() for n in (1, 2, 3, 4, 5)] == [
        10, 20, 40, 65, 65,
    ]  # fmt: skip


def test_retry_delay_is_capped_at_a_day_without_max_retry_delay() -> None:
    task = _operator(retry_delay=timedelta(hours=10), retry_exponential_backoff=True)
    assert retry_delay(task, 2) == timedelta(hours=20)
    assert retry_delay(task, 3) == MAX_RETRY_DELAY == timedelta(hours=24)


def test_max_retry_delay_caps_even_without_backoff() -> None:
    assert retry_delay(_operator(retry_delay=100, max_retry_delay=30), 1) == timedelta(seconds=30)


def test_seconds_to_wait_overrides_the_task_delay() -> None:
    task = _operator(retry_delay=100, retry_exponential_backoff=True)
    assert retry_delay(task, 3, override=0.5) == timedelta(seconds=0.5)


def test_backoff_delays_are_waited_for_in_a_run() -> None:
    tries: list[float] = []

    def record() -> None:
        tries.append(time.monotonic())
        raise ValueError("again")

    with DAG("backoff_run") as dag:
        PythonOperator(
            task_id="t", python_callable=record, retries=2, retry_delay=FAST,
            retry_exponential_backoff=True,
        )  # fmt: skip
    dag.test()
    assert len(tries) == 3
    assert tries[1] - tries[0] >= FAST
    assert tries[2] - tries[1] >= 2 * FAST


# --- timeouts -------------------------------------------------------------------------------------


def test_execution_timeout_stops_a_sleeping_task_and_the_run_goes_on() -> None:
    with DAG("timeout") as dag:
        sleepy = PythonOperator(
            task_id="sleepy", python_callable=lambda: time.sleep(5), execution_timeout=0.2
        )
        cleanup = PythonOperator(
            task_id="cleanup", python_callable=lambda: "cleaned", trigger_rule="all_done"
        )
        blocked = EmptyOperator(task_id="blocked")
        sleepy >> [cleanup, blocked]
    started = time.monotonic()
    result = dag.test()
    elapsed = time.monotonic() - started
    assert elapsed < 3
    assert result.task_states == {
        "sleepy": TaskState.FAILED,
        "cleanup": TaskState.SUCCESS,
        "blocked": TaskState.UPSTREAM_FAILED,
    }
    error = result.error("sleepy")
    assert error is not None
    assert "TaskTimeoutError" in error
    assert "execution_timeout of 0.2s" in error
    assert result.output("cleanup") == "cleaned"


def test_a_timed_out_task_is_retried_like_any_failure() -> None:
    tries: list[int] = []

    def slow_first(ti: Any) -> str:
        tries.append(ti.try_number)
        if ti.try_number == 1:
            time.sleep(5)
        return "fast enough"

    with DAG("timeout_retry") as dag:
        PythonOperator(
            task_id="t", python_callable=slow_first, execution_timeout=0.2,
            retries=1, retry_delay=0,
        )  # fmt: skip
    result = dag.test()
    assert tries == [1, 2]
    assert result.output("t") == "fast enough"


def test_a_task_within_its_timeout_is_not_disturbed() -> None:
    with DAG("in_time") as dag:
        PythonOperator(task_id="t", python_callable=lambda: "done", execution_timeout=5)
    assert dag.test().output("t") == "done"


# --- signals from user code --------------------------------------------------------------------


def test_skip_task_skips_with_its_reason_in_the_log() -> None:
    def skip() -> None:
        raise SkipTask("nothing new today")

    with DAG("skip") as dag:
        PythonOperator(task_id="t", python_callable=skip, retries=2)
    result = dag.test()
    assert result.task_states["t"] is TaskState.SKIPPED
    assert try_number(result, "t") == 1
    assert "skipped: nothing new today" in result.logs("t")
    assert result.error("t") is None


def test_fail_task_fails_at_once_without_retries_and_keeps_its_metadata() -> None:
    tries: list[int] = []

    def give_up(ti: Any) -> None:
        tries.append(ti.try_number)
        raise FailTask("bad input file", metadata={"rows": 0, "file": "in.csv"})

    storage = MemoryStorage()
    with DAG("fail_task") as dag:
        PythonOperator(task_id="t", python_callable=give_up, retries=3, retry_delay=FAST)
    result = dag.test(storage=storage)
    assert result.task_states["t"] is TaskState.FAILED
    assert tries == [1]
    assert try_number(result, "t") == 1
    (event,) = storage.events.read_events(result.run_id, kinds=[EventKind.TASK_ERROR])
    assert event.payload["metadata"] == {"rows": 0, "file": "in.csv"}
    assert event.payload["error"] == "FailTask: bad input file"
    assert "give_up" in event.payload["traceback"]


def test_retry_task_retries_up_to_its_own_max_retries() -> None:
    tries: list[int] = []

    def ask_again(ti: Any) -> None:
        tries.append(ti.try_number)
        raise RetryTask("not ready", max_retries=2, seconds_to_wait=0.01)

    with DAG("retry_task") as dag:
        PythonOperator(task_id="t", python_callable=ask_again)  # retries=0 on the task
    result = dag.test()
    assert tries == [1, 2, 3]
    assert result.task_states["t"] is TaskState.FAILED
    assert try_number(result, "t") == 3


def test_retry_task_seconds_to_wait_replaces_the_retry_delay() -> None:
    tries: list[int] = []

    def once(ti: Any) -> str:
        tries.append(ti.try_number)
        if ti.try_number == 1:
            raise RetryTask(seconds_to_wait=0.01)
        return "second time"

    with DAG("retry_wait") as dag:
        # Without the override this would wait an hour.
        PythonOperator(task_id="t", python_callable=once, retries=1, retry_delay=3600)
    started = time.monotonic()
    result = dag.test()
    assert time.monotonic() - started < 5
    assert result.output("t") == "second time"


def test_sys_exit_in_a_task_fails_the_task_not_the_process() -> None:
    def leave() -> None:
        sys.exit(3)

    with DAG("exit") as dag:
        PythonOperator(task_id="t", python_callable=leave)
    result = dag.test()
    assert result.task_states["t"] is TaskState.FAILED
    error = result.error("t")
    assert error is not None and "SystemExit" in error


def test_keyboard_interrupt_stops_the_run_and_records_it_as_failed() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    storage = MemoryStorage()
    with DAG("interrupted") as dag:
        first = PythonOperator(task_id="first", python_callable=interrupt)
        first >> EmptyOperator(task_id="second")
    with pytest.raises(KeyboardInterrupt):
        dag.test(storage=storage)
    (run,) = storage.runs.list_runs("interrupted")
    assert run.state is RunState.FAILED
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run.run_id)}
    assert states == {"first": TaskState.CANCELLED, "second": TaskState.CANCELLED}


# --- callbacks --------------------------------------------------------------------------------


class Calls:
    """Records each callback call with the context it got."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str) -> Callable[[Any], None]:
        def callback(context: Any) -> None:
            self.calls.append((name, dict(context)))

        callback.__name__ = name
        return callback

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def context(self, name: str) -> dict[str, Any]:
        return next(ctx for n, ctx in self.calls if n == name)


TASK_CONTEXT_KEYS = {"ti", "task", "dag", "run_id", "dag_run", "logical_date", "params"}


def test_task_callbacks_on_success() -> None:
    calls = Calls()
    with DAG("callbacks_success") as dag:
        PythonOperator(
            task_id="t", python_callable=lambda: 1,
            on_execute_callback=calls("execute"), on_success_callback=calls("success"),
            on_failure_callback=calls("failure"), on_retry_callback=calls("retry"),
        )  # fmt: skip
    result = dag.test()
    assert calls.names() == ["execute", "success"]
    for name in ("execute", "success"):
        context = calls.context(name)
        assert context.keys() >= TASK_CONTEXT_KEYS
        assert context["ti"].task_id == "t"
        assert context["task"] is dag.get_task("t")
        assert context["dag"] is dag
        assert context["run_id"] == result.run_id


def test_task_callbacks_on_retry_then_failure_see_the_exception() -> None:
    calls = Calls()

    def broken() -> None:
        raise ValueError("nope")

    with DAG("callbacks_failure") as dag:
        PythonOperator(
            task_id="t", python_callable=broken, retries=1, retry_delay=0,
            on_execute_callback=calls("execute"), on_success_callback=calls("success"),
            on_failure_callback=calls("failure"), on_retry_callback=calls("retry"),
        )  # fmt: skip
    dag.test()
    assert calls.names() == ["execute", "retry", "execute", "failure"]
    retry, failure = calls.context("retry"), calls.context("failure")
    assert retry["ti"].try_number == 1
    assert failure["ti"].try_number == 2
    assert isinstance(failure["exception"], ValueError)
    assert failure.keys() >= TASK_CONTEXT_KEYS


def test_dag_callbacks_are_called_once_with_the_run_context() -> None:
    calls = Calls()
    with DAG(
        "dag_callbacks_ok",
        on_success_callback=calls("dag_success"),
        on_failure_callback=calls("dag_failure"),
    ) as ok:
        EmptyOperator(task_id="t")
    result = ok.test()
    assert calls.names() == ["dag_success"]
    context = calls.context("dag_success")
    assert context["dag"] is ok
    assert context["run_id"] == result.run_id
    assert context["reason"] == "success"

    with DAG(
        "dag_callbacks_failed",
        on_success_callback=calls("dag_success"),
        on_failure_callback=calls("dag_failure"),
    ) as failing:
        PythonOperator(task_id="t", python_callable=lambda: 1 / 0)
    failed = failing.test()
    assert calls.names() == ["dag_success", "dag_failure"]
    context = calls.context("dag_failure")
    assert context["run_id"] == failed.run_id
    assert context["reason"] == "task_failure"


def _raise(context: Any) -> None:
    raise RuntimeError("callback broke")


def test_an_exception_in_a_task_callback_is_logged_and_changes_no_state() -> None:
    with DAG("callback_raises") as dag:
        PythonOperator(
            task_id="ok", python_callable=lambda: "value",
            on_execute_callback=_raise, on_success_callback=_raise,
        )  # fmt: skip
        PythonOperator(task_id="broken", python_callable=lambda: 1 / 0, on_failure_callback=_raise)
    result = dag.test()
    assert result.task_states == {"ok": TaskState.SUCCESS, "broken": TaskState.FAILED}
    assert result.output("ok") == "value"
    ok_log = result.logs("ok")
    assert "on_execute_callback _raise raised RuntimeError: callback broke" in ok_log
    assert "on_success_callback _raise raised RuntimeError: callback broke" in ok_log
    assert "on_failure_callback _raise raised RuntimeError" in result.logs("broken")
    error = result.error("broken")
    assert error is not None and "ZeroDivisionError" in error


def test_an_exception_in_a_dag_callback_is_recorded_and_changes_no_state() -> None:
    storage = MemoryStorage()
    with DAG("dag_callback_raises", on_success_callback=_raise) as dag:
        EmptyOperator(task_id="t")
    result = dag.test(storage=storage)
    assert result.state is RunState.SUCCESS
    (event,) = storage.events.read_events(result.run_id, kinds=[EventKind.CALLBACK_ERROR])
    assert "DAG callback _raise raised RuntimeError: callback broke" in event.payload["message"]
