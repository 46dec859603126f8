"""What a running task touches: ``ti`` (with xcom_push / xcom_pull), its logger, its context.

A task's log lines are collected per task instance from three sources: the
``log`` in its context, anything it prints, and records of the standard
``logging`` module emitted while it runs (routed by a ``ContextVar``, with one
handler installed per process, not one per task). They go to the try's
``LogSink`` (a ``TaskLog``, which streams them to the store). Printed text
is cut into lines in time linear in its size, however it is written; a
carriage return (a progress bar redrawing itself) starts the line over, as
on a terminal, so only what a terminal would show is kept.

Prints are routed the same way: while any task runs, ``sys.stdout`` and
``sys.stderr`` are one proxy each that writes to the stream of the task of the
current thread (or context), and to the original stream outside tasks; so
tasks running at once in threads never swap a global under each other.

A task that decides to skip tasks downstream of it (a branch, a short
circuit, ``LatestOnlyOperator``) says so with ``ti.skip_downstream(ids)``;
the decision is data the runner hands to the engine in the task's outcome,
never a write of other tasks' states from user code.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
import traceback
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from partita import macros
from partita.definitions.asset import AssetMaterialization
from partita.definitions.asset_check import AssetCheckEvaluation
from partita.definitions.asset_events import (
    TRIGGERING_EVENTS_KEY,
    AssetEvent,
    OutletEvents,
    TriggeringAssetEvents,
)
from partita.definitions.context import Context
from partita.definitions.ids import check_id_length
from partita.definitions.params import resolve_param_values
from partita.definitions.partitions import DynamicPartitionsStore
from partita.definitions.resources import ResourcesView
from partita.definitions.xcom_arg import RETURN_KEY
from partita.engine.external_runs import external_runs
from partita.engine.inlet_events import InletEvents
from partita.engine.partition_context import partition_context
from partita.engine.secrets import CONNECTIONS, VARIABLES
from partita.engine.task_log import MAX_LINE_CHARS, LogSink
from partita.engine.work import LogLine, OutputAccess, RunInfo
from partita.exceptions import PartitaError
from partita.storage.records import OutputRecord

if TYPE_CHECKING:
    from partita.definitions.baseoperator import BaseOperator
    from partita.storage.base import Storage

#: The output capture of the task running in this thread (or asyncio task), if any.
_current_capture: ContextVar[CapturedOutput | None] = ContextVar(
    "partita_task_capture", default=None
)


class TaskLogger:
    """``context['log']``: a small logger whose lines land in this task instance's log."""

    __slots__ = ("lines", "name")

    def __init__(self, lines: LogSink, name: str) -> None:
        self.lines = lines
        self.name = name

    def log(self, level: str, msg: object, *args: object) -> None:
        text = str(msg) % args if args else str(msg)
        self.lines.append(LogLine(datetime.now(UTC), level, text))

    def debug(self, msg: object, *args: object) -> None:
        self.log("DEBUG", msg, *args)

    def info(self, msg: object, *args: object) -> None:
        self.log("INFO", msg, *args)

    def warning(self, msg: object, *args: object) -> None:
        self.log("WARNING", msg, *args)

    def error(self, msg: object, *args: object) -> None:
        self.log("ERROR", msg, *args)

    def critical(self, msg: object, *args: object) -> None:
        self.log("CRITICAL", msg, *args)

    def exception(self, msg: object, *args: object) -> None:
        text = str(msg) % args if args else str(msg)
        self.log("ERROR", f"{text}\n{traceback.format_exc()}")


class _StreamToLog(io.TextIOBase):
    """A text stream that turns what is written to it into log lines.

    The unfinished line is kept as a list of pieces (joined once, when the
    line ends or reaches ``MAX_LINE_CHARS``), never re-concatenated per write.
    """

    # Class defaults: a task that prints nothing pays for two attributes, not five.
    _pieces: list[str] | None = None
    _size = 0
    #: The last write ended with "\r": a "\n" next ends the line, anything else redraws it.
    _carriage_return = False

    def __init__(self, lines: LogSink, level: str) -> None:
        self._lines = lines
        self._level = level

    def write(self, text: str) -> int:
        if not text:
            return 0
        written = len(text)
        if self._carriage_return:
            self._carriage_return = False
            if text[0] != "\n":
                self._drop_line()
        if "\r" in text:
            text = self._apply_carriage_returns(text)
        if "\n" not in text:
            self._add_piece(text)
            return written
        first, *middle, last = text.split("\n")
        pieces = self._pieces
        self._emit("".join(pieces) + first if pieces else first)
        for line in middle:
            self._emit(line)
        self._drop_line()
        if last:
            self._add_piece(last)
        return written

    def _apply_carriage_returns(self, text: str) -> str:
        text = text.replace("\r\n", "\n")
        if text.endswith("\r"):
            self._carriage_return = True
            text = text[:-1]
        if "\r" not in text:
            return text
        lines = text.split("\n")
        if "\r" in lines[0]:
            self._drop_line()
        return "\n".join(line[line.rfind("\r") + 1 :] for line in lines)

    def _add_piece(self, text: str) -> None:
        if self._pieces is None:
            self._pieces = []
        self._pieces.append(text)
        self._size += len(text)
        if self._size >= MAX_LINE_CHARS:
            self._emit("".join(self._pieces))
            self._drop_line()

    def _drop_line(self) -> None:
        self._pieces = None
        self._size = 0

    def _emit(self, line: str) -> None:
        self._lines.append(LogLine(datetime.now(UTC), self._level, line))

    def flush(self) -> None:
        if self._pieces:
            line = "".join(self._pieces)
            self._drop_line()
            if line:
                self._emit(line)


class _StreamRouter(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` while tasks run: the current task's, else ``original``."""

    def __init__(self, original: Any, index: int) -> None:
        self.original = original
        self._index = index

    def _target(self) -> Any:
        capture = _current_capture.get()
        return self.original if capture is None else capture.stream(self._index)

    def write(self, text: str) -> int:
        return int(self._target().write(text) or 0)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return _current_capture.get() is None and bool(self.original.isatty())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.original, "encoding", "utf-8"))


class _Routers:
    """Installs the two routers while at least one task captures output (any thread)."""

    lock = threading.Lock()
    users = 0
    installed: tuple[_StreamRouter, _StreamRouter] | None = None
    #: The last pair made, reused while the streams it wraps are still the current ones: a
    #: pair per task would cost two objects whose deallocation flushes the real streams.
    cached: tuple[_StreamRouter, _StreamRouter] | None = None

    @classmethod
    def enter(cls) -> None:
        with cls.lock:
            if cls.users == 0:
                pair = cls.cached
                if (
                    pair is None
                    or pair[0].original is not sys.stdout
                    or (pair[1].original is not sys.stderr)
                ):
                    pair = cls.cached = (_StreamRouter(sys.stdout, 0), _StreamRouter(sys.stderr, 1))
                cls.installed = pair
                sys.stdout, sys.stderr = pair
            cls.users += 1

    @classmethod
    def exit(cls) -> None:
        with cls.lock:
            cls.users -= 1
            if cls.users == 0 and cls.installed is not None:
                out, err = cls.installed
                if sys.stdout is out:  # unless someone replaced it meanwhile
                    sys.stdout = out.original
                if sys.stderr is err:
                    sys.stderr = err.original
                cls.installed = None


class _RoutingHandler(logging.Handler):
    """Sends log records emitted inside a task to that task instance's log.

    Outside a task, when it is the root logger's only handler, it passes
    warnings on to ``logging.lastResort`` as Python would without it.
    """

    def emit(self, record: logging.LogRecord) -> None:
        capture = _current_capture.get()
        if capture is not None:
            sink = capture.lines
            ts = datetime.fromtimestamp(record.created, UTC)
            sink.append(LogLine(ts, record.levelname, f"{record.name}: {record.getMessage()}"))
        elif (
            record.levelno >= logging.WARNING
            and logging.lastResort is not None
            and logging.getLogger().handlers == [self]
        ):
            logging.lastResort.handle(record)


_handler_installed = False


def install_log_routing() -> None:
    """Add the routing handler to the root logger once per process.

    When logging is not configured (root at WARNING with no handlers), the
    root level becomes INFO so that ``logging.info`` inside a task reaches
    the task's log, as in Airflow; a configured root level is respected.
    """
    global _handler_installed
    if not _handler_installed:
        root = logging.getLogger()
        if not root.handlers and root.level == logging.WARNING:
            root.setLevel(logging.INFO)
        root.addHandler(_RoutingHandler(level=logging.INFO))
        _handler_installed = True


class CapturedOutput:
    """Within ``with``: stdout, stderr and ``logging`` records go to ``lines``.

    The two stream objects are made on the first write: most tasks print nothing.
    """

    __slots__ = ("_streams", "_token", "lines")

    def __init__(self, lines: LogSink) -> None:
        self.lines = lines
        self._streams: list[_StreamToLog] | None = None

    def stream(self, index: int) -> _StreamToLog:
        """The task's stdout (0) or stderr (1)."""
        streams = self._streams
        if streams is None:
            streams = self._streams = [
                _StreamToLog(self.lines, "INFO"), _StreamToLog(self.lines, "WARNING"),
            ]  # fmt: skip
        return streams[index]

    def __enter__(self) -> CapturedOutput:
        _Routers.enter()
        self._token = _current_capture.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._streams is not None:
            for stream in self._streams:
                stream.flush()
        _current_capture.reset(self._token)
        _Routers.exit()


class RuntimeTaskInstance:
    """``context['ti']``: the running task instance, with the classic XCom calls."""

    __slots__ = (
        "_outputs",
        "_pushed",
        "check_evaluations",
        "dag_id",
        "first_reschedule_date",
        "followed_branches",
        "map_index",
        "materializations",
        "max_tries",
        "run_id",
        "skipped_downstream",
        "task",
        "task_id",
        "task_reschedule_count",
        "try_number",
    )

    def __init__(
        self,
        task: BaseOperator,
        run: RunInfo,
        map_index: int,
        try_number: int,
        outputs: OutputAccess,
        pushed: list[OutputRecord],
    ) -> None:
        self.task = task
        self.task_id = task.task_id
        self.dag_id = run.dag_id
        self.run_id = run.run_id
        self.map_index = map_index
        self.try_number = try_number
        self.max_tries = task.retries
        self._outputs = outputs
        self._pushed = pushed
        self.skipped_downstream: list[str] = []
        self.followed_branches: list[str] | None = None
        #: The assets it materialized; a shared empty tuple until the first (no list per task).
        self.materializations: Sequence[AssetMaterialization] = ()
        #: The asset checks it evaluated (the same shared empty tuple until the first).
        self.check_evaluations: Sequence[AssetCheckEvaluation] = ()
        #: A rescheduled try (a sensor in reschedule mode): when its first run started...
        self.first_reschedule_date: datetime | None = None
        #: ...and how many times it was rescheduled so far (0: its first run).
        self.task_reschedule_count = 0

    def rescheduled(self, first_start: datetime, count: int) -> None:
        """This run goes on with a try rescheduled ``count`` times since ``first_start``."""
        self.first_reschedule_date = first_start
        self.task_reschedule_count = count

    def get_dagrun_states(self, dag_id: str, logical_dates: Sequence[datetime]) -> dict[Any, str]:
        """The state of the newest run of ``dag_id`` at each logical date that has one."""
        return external_runs(self._outputs).dagrun_states(dag_id, logical_dates)

    def get_task_states(
        self, dag_id: str, logical_dates: Sequence[datetime], task_ids: Sequence[str]
    ) -> dict[tuple[Any, str], str]:
        """``(logical date, task id) -> state`` of those tasks in those runs of ``dag_id``.

        A mapped task's state is the aggregate of its instances' states.
        """
        return external_runs(self._outputs).task_states(dag_id, logical_dates, task_ids)

    def get_task_group_states(
        self, dag_id: str, logical_dates: Sequence[datetime], group_id: str
    ) -> dict[tuple[Any, str], str]:
        """``(logical date, task id) -> state`` of the tasks of task group ``group_id``."""
        return external_runs(self._outputs).task_group_states(dag_id, logical_dates, group_id)

    def record_materialization(self, materialization: AssetMaterialization) -> None:
        """Report that this task instance materialized an asset (recorded in the catalog)."""
        self.materializations = [*self.materializations, materialization]

    def record_check_evaluation(self, evaluation: AssetCheckEvaluation) -> None:
        """Report that this task instance evaluated an asset check (recorded in the catalog)."""
        self.check_evaluations = [*self.check_evaluations, evaluation]

    def skip_downstream(
        self, task_ids: Iterable[str], *, followed: Iterable[str] | None = None
    ) -> None:
        """Skip ``task_ids`` (tasks downstream of this one) when this task instance ends.

        ``followed`` records, for a branch, the task ids it chose; it is shown
        with the run. Tasks further downstream follow their trigger rules.
        """
        ids = [task_ids] if isinstance(task_ids, str) else list(task_ids)
        if ids:
            allowed = self.task.get_flat_relative_ids(upstream=False)
            wrong = [t for t in ids if t not in allowed]
            if wrong:
                raise PartitaError(
                    f"task {self.task_id!r} cannot skip {', '.join(map(repr, wrong))}: only "
                    f"tasks downstream of it can be skipped "
                    f"({', '.join(map(repr, sorted(allowed))) or 'it has none'})"
                )
            declared = self.task.may_skip_task_ids()
            undeclared = [t for t in ids if t not in declared]
            if undeclared:
                raise PartitaError(
                    f"task {self.task_id!r} cannot skip {', '.join(map(repr, undeclared))}: "
                    f"its operator {type(self.task).__name__} does not declare that it may; "
                    "override may_skip_task_ids() to return the ids it may skip (the engine "
                    "then starts none of them before this task ends), or subclass "
                    "BaseBranchOperator"
                )
        for task_id in ids:
            if task_id not in self.skipped_downstream:
                self.skipped_downstream.append(task_id)
        if followed is not None:
            self.followed_branches = list(followed)

    def xcom_push(self, key: str, value: Any) -> None:
        """Store ``value`` as this task instance's output ``key``."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"xcom_push: key must be a non-empty string, got {key!r}")
        check_id_length(key, f"task {self.task_id!r}: xcom_push key", "use a shorter key")
        self._pushed.append(self._outputs.push(self.task_id, self.map_index, key, value))

    def xcom_pull(
        self,
        task_ids: str | Iterable[str] | None = None,
        key: str = RETURN_KEY,
        map_indexes: int | Iterable[int] | None = None,
        default: Any = None,
    ) -> Any:
        """Output ``key`` of ``task_ids`` in this run; a list when ``task_ids`` is a list.

        A task that was skipped or stored nothing gives ``default``.
        """
        if task_ids is None:
            task_ids = self.task_id
        indexes = -1 if map_indexes is None else map_indexes
        if isinstance(task_ids, str):
            return self._pull_one(task_ids, key, indexes, default)
        return [self._pull_one(t, key, indexes, default) for t in task_ids]

    def _pull_one(self, task_id: str, key: str, indexes: int | Iterable[int], default: Any) -> Any:
        if isinstance(indexes, int):
            found, value = self._outputs.pull(task_id, indexes, key)
            return value if found else default
        values = []
        for index in indexes:
            found, value = self._outputs.pull(task_id, index, key)
            values.append(value if found else default)
        return values

    def __repr__(self) -> str:
        return f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id} [try {self.try_number}]>"


def run_context(
    run: RunInfo,
    dag: Any,
    resources: ResourcesView | None = None,
    partitions: DynamicPartitionsStore | None = None,
    storage: Storage | None = None,
) -> Context:
    """The part of the context shared by every task instance of a run (built once).

    ``partitions`` is the store's dynamic partitions (``context.instance``);
    ``storage`` the store whose asset catalog ``inlet_events`` reads.
    """
    ld = run.logical_date
    context = Context(
        dag=dag,
        dag_run=run,
        run_id=run.run_id,
        logical_date=ld,
        execution_date=ld,
        data_interval_start=run.data_interval_start,
        data_interval_end=run.data_interval_end,
        ds=ld.strftime("%Y-%m-%d"),
        ds_nodash=ld.strftime("%Y%m%d"),
        ts=ld.isoformat(),
        ts_nodash=ld.strftime("%Y%m%dT%H%M%S"),
        params=run.params,
        conf=run.conf,
        macros=macros,
        var=VARIABLES,
        conn=CONNECTIONS,
    )
    context.update(partition_context(run.partition_key, dag, partitions))
    if resources is not None:
        context["resources"] = resources
    events = run.conf.get(TRIGGERING_EVENTS_KEY) if run.run_type == "asset_triggered" else None
    context["inlet_events"] = InletEvents((), storage)
    context["triggering_asset_events"] = TriggeringAssetEvents(
        [AssetEvent.from_data(e) for e in events or ()]
    )
    return context


_NO_OUTLETS = OutletEvents(())


def task_context(
    base: Context,
    ti: RuntimeTaskInstance,
    task: BaseOperator,
    log: TaskLogger,
) -> Context:
    """The full context of one task instance: the run's part plus the task's."""
    ctx = Context(base)
    ctx["ti"] = ti
    ctx["task_instance"] = ti
    ctx["task"] = task
    ctx["map_index"] = ti.map_index
    ctx["try_number"] = ti.try_number
    ctx["log"] = log
    ctx["outlet_events"] = OutletEvents(task.outlets) if task.outlets else _NO_OUTLETS
    if task.inlets:
        ctx["inlet_events"] = base["inlet_events"].for_inlets(task.inlets)
    if task.params:  # task params override the DAG's; the run's conf overrides both
        ctx["params"] = {**base["params"], **resolve_param_values(task.params, base["conf"])}
    if task.config_class is not None:
        ctx["config"] = ti_config(base, task)
    return ctx


def ti_config(base: Context, task: BaseOperator) -> Any:
    """The task's validated run config (its ``Config`` object)."""
    run: RunInfo = base["dag_run"]
    config = run.task_config.get(task.task_id)
    if config is None and task.config_class is not None:  # e.g. a task run on its own
        config = task.config_class.model_validate({})  # type: ignore[attr-defined]
    return config


__all__ = [
    "CapturedOutput",
    "RuntimeTaskInstance",
    "TaskLogger",
    "install_log_routing",
    "run_context",
    "task_context",
]
