"""Run one try of one task instance: the boundary between partita and user code.

Everything user code can do wrong is caught here and turned into a
``TaskOutcome``: the exception and traceback, a skip, a retry decision with
its time, the outputs stored, the downstream tasks a branch decided to skip.
Callbacks run here too (as in Airflow, where the task runs); an exception
inside a callback is logged and changes no state. This function is what
every executor calls, in whatever process.

The order within one try is Airflow's: render the template fields (on a
copy of the task, see ``templating``), run ``on_execute_callback``, then
``execute``. A template error fails the try like any other error.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from partita.definitions.asset import AssetMaterialization
from partita.definitions.context import Context, reset_current_context, set_current_context
from partita.definitions.email_alerts import email_callbacks
from partita.definitions.ids import check_id_length
from partita.definitions.metadata import normalize_metadata
from partita.definitions.states import TaskState
from partita.definitions.xcom_arg import RETURN_KEY
from partita.engine.cancel import RunCancelled
from partita.engine.host import HOSTNAME
from partita.engine.runtime import CapturedOutput, RuntimeTaskInstance, TaskLogger, task_context
from partita.engine.task_log import LogSink, TaskLog
from partita.engine.templating import render_task
from partita.engine.timeout import time_limit
from partita.engine.work import LogLine, OutputAccess, RunInfo, TaskOutcome, TaskWork
from partita.exceptions import (
    FailTask,
    PartitaError,
    RescheduleTask,
    RetryTask,
    SkipTask,
    TaskTimeoutError,
)
from partita.masking import mask
from partita.storage.records import (
    AssetCheckEvaluationRecord,
    AssetMaterializationRecord,
    OutputRecord,
)

if TYPE_CHECKING:
    from partita.definitions.baseoperator import BaseOperator

MAX_RETRY_DELAY = timedelta(hours=24)


def retry_delay(task: BaseOperator, try_number: int, override: float | None = None) -> timedelta:
    """How long to wait after try ``try_number`` failed (exponential backoff if asked)."""
    if override is not None:
        return timedelta(seconds=override)
    delay = task.retry_delay or timedelta(0)
    if task.retry_exponential_backoff:
        delay = delay * (2 ** max(try_number - 1, 0))
    cap = task.max_retry_delay or MAX_RETRY_DELAY
    return min(delay, cap)


def _apply_retry_policy(
    task: BaseOperator, try_number: int, exc: BaseException, context: Context, lines: LogSink
) -> tuple[int, float | None]:
    """The retries left and the delay after asking ``task.retry_policy`` about ``exc``."""
    try:
        decision = task.retry_policy.evaluate(exc, try_number, task.retries + 1, context)
        action = decision.action.value
    except Exception as policy_error:  # a broken policy must not hide the task's own failure
        lines.append(
            LogLine(
                datetime.now(UTC), "WARNING",
                f"retry_policy failed ({type(policy_error).__name__}: {policy_error}); "
                "the task's own retry settings apply",
            )
        )  # fmt: skip
        return task.retries, None
    if action != "default":
        reason = f": {decision.reason}" if decision.reason else ""
        lines.append(LogLine(datetime.now(UTC), "INFO", f"retry_policy says {action}{reason}"))
    if action == "fail":
        return 0, None
    if action == "retry" and decision.retry_delay is not None:
        return task.retries, decision.retry_delay.total_seconds()
    return task.retries, None


def run_callbacks(
    callbacks: Sequence[Callable[..., Any]], context: Context, lines: LogSink, what: str
) -> None:
    """Call each callback with the context; log, never raise, what they raise."""
    for callback in callbacks:
        try:
            callback(context)
        except Exception as exc:
            name = getattr(callback, "__name__", repr(callback))
            lines.append(
                LogLine(
                    datetime.now(UTC),
                    "ERROR",
                    f"{what} {name} raised {type(exc).__name__}: {exc}\n{traceback.format_exc()}",
                )
            )


def _store_outputs(
    task: BaseOperator, ti: RuntimeTaskInstance, value: Any, outputs: OutputAccess
) -> list[OutputRecord]:
    records: list[OutputRecord] = []
    if not task.do_xcom_push or value is None:
        return records
    if task.multiple_outputs:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise PartitaError(
                f"task {task.task_id!r} has multiple_outputs=True, so it must return a dict "
                f"with string keys; it returned {type(value).__name__}"
            )
        for key, item in value.items():
            check_id_length(
                key, f"task {task.task_id!r}: multiple_outputs key", "return shorter keys"
            )
            records.append(outputs.push(task.task_id, ti.map_index, key, item))
    records.append(outputs.push(task.task_id, ti.map_index, RETURN_KEY, value))
    return records


def run_task_instance(
    task: BaseOperator,
    work: TaskWork,
    run: RunInfo,
    base_context: Context,
    outputs: OutputAccess,
    log: TaskLog | None = None,
) -> TaskOutcome:
    """Run ``task.execute`` once and report how it ended.

    The try's lines go to ``log`` (which may stream them to the store as they
    come); the outcome carries the lines not yet written, and the seq of the
    first of them. Without ``log`` every line stays in the outcome.
    """
    lines = log if log is not None else TaskLog(run.run_id, task.task_id, work.map_index, 0, None)
    pushed: list[OutputRecord] = []
    ti = RuntimeTaskInstance(task, run, work.map_index, work.try_number, outputs, pushed)
    if work.rescheduled is not None:
        lines.continue_at(work.rescheduled.log_seq)
        ti.rescheduled(work.rescheduled.first_start, work.rescheduled.count)
    context = task_context(base_context, ti, task, TaskLogger(lines, task.task_id))
    started = datetime.now(UTC)
    outcome = TaskOutcome(
        task.task_id, work.map_index, work.try_number, TaskState.RUNNING,
        started, started, HOSTNAME, pushed,
    )  # fmt: skip
    token = set_current_context(context)
    timeout = task.execution_timeout.total_seconds() if task.execution_timeout else None
    try:
        with CapturedOutput(lines):
            try:
                runnable = _rendered(task, ti, context)
                if task.on_execute_callback:
                    run_callbacks(task.on_execute_callback, context, lines, "on_execute_callback")
                execute = runnable.execute
                if task.execute_hooks is not None:
                    execute = functools.partial(task.execute_hooks.run, execute)
                if timeout is None:
                    value = execute(context)
                else:
                    with time_limit(timeout):
                        value = execute(context)
                pushed.extend(_store_outputs(task, ti, value, outputs))
            except SkipTask as exc:
                outcome.state = TaskState.SKIPPED
                if str(exc):
                    lines.append(LogLine(datetime.now(UTC), "INFO", f"skipped: {exc}"))
            except RescheduleTask as exc:  # a sensor gives its slot back until its next poke
                outcome.state = TaskState.UP_FOR_RESCHEDULE
                outcome.retry_at = exc.reschedule_date
                lines.append(LogLine(datetime.now(UTC), "INFO", str(exc)))
            except KeyboardInterrupt:
                raise
            except RunCancelled:  # the run was cancelled: not a failure of the task
                ti.task.on_kill()
                raise
            except BaseException as exc:  # the user-code boundary: sys.exit() fails the task too
                if isinstance(exc, TaskTimeoutError):
                    ti.task.on_kill()
                _record_failure(task, work, exc, outcome, context, lines)
            else:
                outcome.state = TaskState.SUCCESS
                if task.outlets:
                    _record_outlet_events(ti, context)
                if task.on_success_callback:
                    run_callbacks(task.on_success_callback, context, lines, "on_success_callback")
    finally:
        reset_current_context(token)
    if ti.materializations:
        outcome.materializations = _materialization_records(ti, run)
    if ti.check_evaluations:
        outcome.check_evaluations = _check_evaluation_records(ti, run)
    if outcome.state is TaskState.FAILED and run.partition_key is not None:
        stored = {m.asset_key for m in ti.materializations}
        keys = getattr(task, "partitioned_keys", ())
        outcome.failed_asset_keys = tuple(k for k in keys if k not in stored)
    if outcome.state in (TaskState.SUCCESS, TaskState.SKIPPED):
        outcome.skip_downstream = list(ti.skipped_downstream)
        outcome.followed_branches = ti.followed_branches
    outcome.end_date = datetime.now(UTC)
    outcome.first_log_seq, outcome.logs = lines.take_rest()
    return outcome


def _record_outlet_events(ti: RuntimeTaskInstance, context: Context) -> None:
    """An asset event (a catalog entry, ``extra`` as its metadata) per outlet asset of the
    task, and per asset added through an outlet alias."""
    for key, metadata in context["outlet_events"].materializations():
        ti.record_materialization(AssetMaterialization(key, metadata))


def _materialization_records(
    ti: RuntimeTaskInstance, run: RunInfo
) -> list[AssetMaterializationRecord]:
    """What the task reported materializing, as catalog records of this run and task."""
    now = datetime.now(UTC)
    return [
        AssetMaterializationRecord(
            m.asset_key, run.run_id, ti.task_id, now, dict(m.metadata), m.code_version,
            m.data_version, m.location, ti.map_index, partition_key=m.partition_key,
        )
        for m in ti.materializations
    ]  # fmt: skip


def _check_evaluation_records(
    ti: RuntimeTaskInstance, run: RunInfo
) -> list[AssetCheckEvaluationRecord]:
    """What the task reported about asset checks, as catalog records of this run and task."""
    now = datetime.now(UTC)
    return [
        AssetCheckEvaluationRecord(
            e.asset_key, e.check_name, run.run_id, ti.task_id, now, e.passed, str(e.severity),
            dict(e.metadata), e.description,
        )
        for e in ti.check_evaluations
    ]  # fmt: skip


def _rendered(task: BaseOperator, ti: RuntimeTaskInstance, context: Context) -> BaseOperator:
    """The task to execute: ``task``, or a copy with rendered template fields (then in context)."""
    runnable = render_task(task, context)
    if runnable is not task:
        ti.task = runnable
        context["task"] = runnable
    return runnable


def _record_failure(
    task: BaseOperator,
    work: TaskWork,
    exc: BaseException,
    outcome: TaskOutcome,
    context: Context,
    lines: LogSink,
) -> None:
    outcome.error = mask(f"{type(exc).__name__}: {exc}")
    outcome.traceback = mask("".join(traceback.format_exception(exc)))
    lines.append(LogLine(datetime.now(UTC), "ERROR", f"task failed: {outcome.error}"))
    context["exception"] = exc
    max_tries = task.retries
    override = None
    if isinstance(exc, FailTask):
        outcome.error_metadata = normalize_metadata(exc.metadata)
        max_tries = 0
    elif isinstance(exc, RetryTask):
        if exc.max_retries is not None:
            max_tries = exc.max_retries
        override = exc.seconds_to_wait
    elif task.retry_policy is not None:
        max_tries, override = _apply_retry_policy(task, work.try_number, exc, context, lines)
    if work.try_number - work.lost_tries <= max_tries:  # lost tries use up no retry
        outcome.state = TaskState.UP_FOR_RETRY
        wait = retry_delay(task, work.try_number, override)
        outcome.retry_at = datetime.now(UTC) + wait
        lines.append(
            LogLine(
                datetime.now(UTC),
                "WARNING",
                f"try {work.try_number} of {max_tries + 1 + work.lost_tries} failed; retrying in "
                f"{wait.total_seconds():g}s",
            )
        )
        callbacks = (*task.on_retry_callback, *email_callbacks(task, "retry"))
        if callbacks:
            run_callbacks(callbacks, context, lines, "on_retry_callback")
    else:
        outcome.state = TaskState.FAILED
        callbacks = (*task.on_failure_callback, *email_callbacks(task, "failure"))
        if callbacks:
            run_callbacks(callbacks, context, lines, "on_failure_callback")


__all__ = ["HOSTNAME", "retry_delay", "run_callbacks", "run_task_instance"]
