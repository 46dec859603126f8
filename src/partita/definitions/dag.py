"""``DAG`` and ``@dag``: a named graph of tasks with its schedule, defaults and params.

A DAG is pure data. Edges are recorded as tasks are linked; the whole graph
is checked for cycles when the ``with DAG`` block or the ``@dag`` function
ends (and again, cheaply, before any run), so a broken DAG is rejected where
it is defined. ``dag.test()`` runs it in-process through the runner
registered at the ``TEST_RUNNER`` extension point (``definitions/extensions.py``),
so this layer imports no engine code.
"""

from __future__ import annotations

import functools
import graphlib
import inspect
import itertools
import sys
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from partita.definitions import authoring
from partita.definitions.asset_events import (
    AssetCondition,
    AssetTriggeredTimetable,
    as_asset_condition,
)
from partita.definitions.cron import CronError
from partita.definitions.extensions import ExtensionPoint
from partita.definitions.ids import check_not_reserved
from partita.definitions.partitions import PartitionsDefinition
from partita.definitions.taskgroup import TaskGroup
from partita.definitions.timetables import (
    CronTriggerTimetable,
    DeltaTriggerTimetable,
    NullTimetable,
    OnceTimetable,
    TimeRestriction,
    Timetable,
)
from partita.definitions.timezones import (
    TimezoneError,
    make_aware,
    parse_timezone,
    timezone_name,
)
from partita.definitions.xcom_arg import DagParam
from partita.exceptions import CycleError, DefinitionError, DuplicateTaskError, PartitaError

if TYPE_CHECKING:
    from partita.definitions.asset_graph import AssetGraph
    from partita.definitions.asset_key import AssetKey
    from partita.definitions.baseoperator import BaseOperator, Callback

_UNSET: Any = object()


class DagTestRunner(Protocol):
    """Runs a DAG in-process; registered at ``TEST_RUNNER`` by ``partita.bootstrap``."""

    def __call__(
        self,
        dag: DAG,
        *,
        run_conf: Mapping[str, Any] | None,
        logical_date: datetime | None,
        storage: Any,
        resources: Mapping[str, Any] | None = None,
        verbose: bool = True,
        partition_key: str | None = None,
    ) -> Any: ...


#: What ``DAG.test()`` runs the DAG with.
TEST_RUNNER: ExtensionPoint[DagTestRunner] = ExtensionPoint("the runner behind DAG.test()")


#: What ``schedule=`` may be: a cron string or preset, a timedelta, a Timetable, assets
#: (``[Asset(...)]`` or a condition such as ``a & b``), or None.
Schedule = str | timedelta | Timetable | AssetCondition | Sequence[AssetCondition] | None


def build_timetable(dag_id: str, schedule: Schedule, zone: tzinfo) -> Timetable:
    """The timetable ``schedule=`` stands for (Airflow 3's meanings), cron read in ``zone``."""
    if isinstance(schedule, Timetable):
        return schedule
    if schedule is None:
        return NullTimetable()
    condition = as_asset_condition(dag_id, schedule)
    if condition is not None:
        return AssetTriggeredTimetable(condition)
    if isinstance(schedule, timedelta):
        if schedule <= timedelta(0):
            raise DefinitionError(
                f"DAG {dag_id!r}: schedule {schedule!r} must be a positive timedelta"
            )
        return DeltaTriggerTimetable(schedule)
    if isinstance(schedule, str):
        if schedule.strip() == "@once":
            return OnceTimetable()
        try:
            return CronTriggerTimetable(schedule, timezone=zone)
        except CronError as exc:
            raise DefinitionError(f"DAG {dag_id!r}: invalid schedule {schedule!r}: {exc}") from None
    raise DefinitionError(
        f"DAG {dag_id!r}: schedule must be None, a cron string, a preset, a timedelta, a "
        f"Timetable or assets ([Asset(...)]), got {schedule!r}"
    )


_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)

#: Where a dependency was drawn in the user's code: (file, line).
SourceSite = tuple[str, int]


def caller_site() -> SourceSite | None:
    """The file and line of the innermost caller outside partita (where the user's code is)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith((_PACKAGE_DIR, "<frozen")):
            return filename, frame.f_lineno
        frame = frame.f_back
    return None


def caller_file() -> str | None:
    """The file of the innermost caller outside partita (where a DAG is being defined)."""
    site = caller_site()
    return site[0] if site is not None else None


class DAG:
    """A directed acyclic graph of tasks. Use as ``with DAG("etl", ...) as dag:``."""

    def __init__(
        self,
        dag_id: str,
        description: str | None = None,
        *,
        schedule: Schedule = None,
        schedule_interval: Schedule = _UNSET,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        default_args: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        catchup: bool = False,
        max_active_runs: int = 16,
        max_active_tasks: int = 16,
        dagrun_timeout: timedelta | None = None,
        on_success_callback: Callback | Sequence[Callback] | None = None,
        on_failure_callback: Callback | Sequence[Callback] | None = None,
        doc_md: str | None = None,
        template_searchpath: str | Sequence[str] | None = None,
        render_template_as_native_obj: bool = False,
        user_defined_macros: Mapping[str, Any] | None = None,
        user_defined_filters: Mapping[str, Callable[..., Any]] | None = None,
        depends_on_past: bool | None = None,
        owner_links: Mapping[str, str] | None = None,
        is_paused_upon_creation: bool | None = None,
        fileloc: str | None = None,
        timezone: str | tzinfo | None = None,
        config: Any = None,
        resources: Mapping[str, Any] | None = None,
        partitions_def: PartitionsDefinition | None = None,
        dag_display_name: str | None = None,
    ) -> None:
        if not isinstance(dag_id, str) or not dag_id or len(dag_id) > 250:
            raise DefinitionError(
                f"dag_id must be a non-empty string of at most 250, got {dag_id!r}"
            )
        bad = sorted({c for c in dag_id if not (c.isalnum() or c in "_-.")})
        if bad:
            raise DefinitionError(
                f"DAG {dag_id!r}: dag_id may hold only letters, digits, '_', '-' and '.', "
                f"not {''.join(bad)!r}"
            )
        check_not_reserved(dag_id, "dag_id")
        self.dag_id = dag_id
        #: How messages name this DAG: ``DAG 'etl'``; ``materialize([a, b])`` names its assets.
        self.label = f"DAG {dag_id!r}"
        self.description = description
        #: The name the UI and ``partita dags`` show (Airflow's ``dag_display_name``).
        self.dag_display_name = dag_display_name or dag_id
        #: ``(upstream task id, downstream task id) -> label``, from ``Label`` in ``>>`` chains.
        self.edge_labels: dict[tuple[str, str], str] = {}
        if schedule_interval is not _UNSET:
            if schedule is not None:
                raise DefinitionError(
                    f"DAG {dag_id!r}: give schedule or schedule_interval (its old name), not both"
                )
            schedule = schedule_interval
        #: ``schedule=`` as given; ``timetable`` is what it means.
        self.schedule = schedule
        self.default_args: dict[str, Any] = dict(default_args or {})
        self._given_dates = (
            _check_date(dag_id, "start_date", start_date, self.default_args),
            _check_date(dag_id, "end_date", end_date, self.default_args),
        )
        self._own_timezone = _own_timezone(dag_id, timezone, self._given_dates[0])
        self.timezone: tzinfo = UTC
        self.start_date: datetime | None = None
        self.end_date: datetime | None = None
        self.timetable: Timetable = NullTimetable()
        self._apply_timezone(self._own_timezone or UTC)
        if depends_on_past is not None:
            self.default_args.setdefault("depends_on_past", depends_on_past)
        self.params: dict[str, Any] = dict(params or {})
        self.tags = list(tags or [])
        _check_run_limits(dag_id, catchup, max_active_runs, dagrun_timeout)
        #: Kept for the scheduler, which honours them; ``partita run`` does not.
        self.catchup = catchup
        self.max_active_runs = max_active_runs
        self.max_active_tasks = max_active_tasks
        self.dagrun_timeout = dagrun_timeout
        self.on_success_callback = _as_callbacks(on_success_callback, dag_id, "on_success_callback")
        self.on_failure_callback = _as_callbacks(on_failure_callback, dag_id, "on_failure_callback")
        self.doc_md = doc_md
        if isinstance(template_searchpath, str):
            template_searchpath = [template_searchpath]
        self.template_searchpath = list(template_searchpath or [])
        self.render_template_as_native_obj = render_template_as_native_obj
        self.user_defined_macros = dict(user_defined_macros or {})
        self.user_defined_filters = dict(user_defined_filters or {})
        self.owner_links = dict(owner_links or {})
        self.is_paused_upon_creation = is_paused_upon_creation
        self.fileloc = fileloc or caller_file()
        #: Run config defaults (a dict or ``RunConfig``), or a ``ConfigMapping`` (config.py).
        self.config = config
        #: Resources its tasks get, by key (``Definitions(resources=...)`` adds its own).
        self.resources: dict[str, Any] = dict(resources or {})
        if partitions_def is not None and not isinstance(partitions_def, PartitionsDefinition):
            raise DefinitionError(
                f"DAG {dag_id!r}: partitions_def must be a PartitionsDefinition, got "
                f"{partitions_def!r}"
            )
        #: The partitions of the DAG: each run is for one key (None: not partitioned).
        self.partitions_def = partitions_def
        #: For an asset job: the asset graph it was built from, and asset key -> task id.
        self.asset_graph: AssetGraph | None = None
        self.asset_tasks: dict[AssetKey, str] = {}
        self.task_dict: dict[str, BaseOperator] = {}
        self.task_group = TaskGroup(None, dag=self, _root=True)
        self._edges_version = 0
        self._checked_version = -1
        #: Edges drawn since the last successful ``validate``, with where each was drawn.
        self._unchecked_edges: dict[tuple[str, str], SourceSite | None] = {}
        self._group_labels: dict[tuple[int, str], int] = {}
        authoring.register_dag(self)

    # -- schedule -------------------------------------------------------------------
    def _apply_timezone(self, zone: tzinfo) -> None:
        given_start, given_end = self._given_dates
        self.timezone = zone
        self.start_date = None if given_start is None else make_aware(given_start, zone)
        self.end_date = None if given_end is None else make_aware(given_end, zone)
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise DefinitionError(
                f"DAG {self.dag_id!r}: end_date {self.end_date.isoformat()} is before "
                f"start_date {self.start_date.isoformat()}; move one of them"
            )
        self.timetable = build_timetable(self.dag_id, self.schedule, zone)

    @property
    def has_own_timezone(self) -> bool:
        """True when ``timezone=`` or an aware ``start_date`` chose the DAG's zone."""
        return self._own_timezone is not None

    def use_default_timezone(self, zone: str | tzinfo) -> None:
        """Read naive dates and the cron in ``zone`` (settings' ``default_timezone``).

        Does nothing for a DAG whose zone was chosen by ``timezone=`` or an aware
        ``start_date``.
        """
        if self._own_timezone is None:
            try:
                self._apply_timezone(parse_timezone(zone))
            except TimezoneError as exc:
                raise DefinitionError(f"DAG {self.dag_id!r}: default_timezone: {exc}") from None

    @property
    def asset_condition(self) -> AssetCondition | None:
        """The assets the DAG waits for (``schedule=[Asset(...)]``), or None."""
        timetable = self.timetable
        return timetable.condition if isinstance(timetable, AssetTriggeredTimetable) else None

    @property
    def time_restriction(self) -> TimeRestriction:
        """What bounds the DAG's automated runs: start_date, end_date, catchup."""
        return TimeRestriction(self.start_date, self.end_date, self.catchup)

    # -- tasks --------------------------------------------------------------------
    def add_task(self, task: BaseOperator) -> None:
        """Add a task (normally done by creating it inside ``with dag:``)."""
        if task.dag is self:
            return
        if task.dag is not None:
            raise DefinitionError(
                f"task {task.task_id!r} already belongs to DAG {task.dag.dag_id!r}; "
                f"it cannot also join DAG {self.dag_id!r}"
            )
        if task.task_id in self.task_dict:
            raise DuplicateTaskError(
                f"DAG {self.dag_id!r}: task id {task.task_id!r} is used twice; give each task "
                "its own task_id"
            )
        self.task_dict[task.task_id] = task
        task.dag = self
        if task.task_group is None:
            task.task_group = self.task_group
            self.task_group.add_child(task)
        elif task.task_group.dag is None:
            task.task_group.dag = self
        self._edges_version += 1
        task.adopt_floating_relatives()

    def add_tasks(self, tasks: Sequence[BaseOperator]) -> None:
        for task in tasks:
            self.add_task(task)

    def edges_changed(self, edge: tuple[str, str] | None = None) -> None:
        """An edge ``(upstream, downstream)`` was drawn: remember where, until it is checked."""
        self._edges_version += 1
        if edge is not None:
            self._unchecked_edges[edge] = caller_site()

    @property
    def tasks(self) -> list[BaseOperator]:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    def has_task(self, task_id: str) -> bool:
        return task_id in self.task_dict

    def get_task(self, task_id: str) -> BaseOperator:
        try:
            return self.task_dict[task_id]
        except KeyError:
            known = ", ".join(sorted(self.task_dict)[:20]) or "none"
            raise PartitaError(
                f"DAG {self.dag_id!r} has no task {task_id!r}; its tasks are: {known}"
            ) from None

    @property
    def roots(self) -> list[BaseOperator]:
        return [t for t in self.task_dict.values() if not t.upstream_task_ids]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [t for t in self.task_dict.values() if not t.downstream_task_ids]

    def unique_group_label(self, label: str, parent: TaskGroup | None) -> str:
        """``label`` the first time in ``parent``, then ``label__1``, ``label__2``..."""
        key = (id(parent or self.task_group), label)
        n = self._group_labels.get(key, 0)
        self._group_labels[key] = n + 1
        return label if n == 0 else f"{label}__{n}"

    def unique_task_label(self, label: str, group: TaskGroup | None) -> str:
        """The first free of ``label``, ``label__1``, ``label__2``... in ``group``."""
        group = group or self.task_group
        if group.child_id(label) not in self.task_dict:
            return label
        n = 1
        while group.child_id(f"{label}__{n}") in self.task_dict:
            n += 1
        return f"{label}__{n}"

    # -- checks -----------------------------------------------------------------------
    def validate(self) -> None:
        """Raise ``CycleError`` naming the tasks of a cycle, if there is one.

        The error's ``site`` is where the user's code drew the newest edge of the
        cycle (the ``>>`` that closed it), when that is known.
        """
        if self._checked_version == self._edges_version:
            return
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for task_id, task in self.task_dict.items():
            sorter.add(task_id, *task.upstream_task_ids)
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            cycle = list(exc.args[1])  # each task is upstream of the next one
            site = self._closing_site(cycle)
            where = f" (the last was drawn at {site[0]}, line {site[1]})" if site else ""
            raise CycleError(
                f"DAG {self.dag_id!r} has a cycle: {' -> '.join(cycle)}; "
                f"remove one of these dependencies{where}",
                site=site,
            ) from None
        self._checked_version = self._edges_version
        self._unchecked_edges.clear()

    def _closing_site(self, cycle: list[str]) -> SourceSite | None:
        """Where the newest edge of ``cycle`` was drawn (None when not recorded)."""
        order = {edge: n for n, edge in enumerate(self._unchecked_edges)}
        edges = [edge for edge in itertools.pairwise(cycle) if edge in order]
        if not edges:
            return None
        return self._unchecked_edges[max(edges, key=order.__getitem__)]

    def topological_order(self) -> list[str]:
        """Task ids, each after all its upstream tasks (ties in definition order)."""
        self.validate()
        indegree = {t: len(task.upstream_task_ids) for t, task in self.task_dict.items()}
        ready = deque(t for t, n in indegree.items() if n == 0)
        order: list[str] = []
        while ready:
            current = ready.popleft()
            order.append(current)
            for down in self.task_dict[current].downstream_task_ids:
                indegree[down] -= 1
                if indegree[down] == 0:
                    ready.append(down)
        return order

    # -- running ---------------------------------------------------------------------
    def test(
        self,
        run_conf: Mapping[str, Any] | None = None,
        logical_date: datetime | None = None,
        *,
        storage: Any = None,
        resources: Mapping[str, Any] | None = None,
        verbose: bool = True,
        partition_key: str | None = None,
    ) -> Any:
        """Run the whole DAG in this process now and return its ``RunResult``.

        Uses an ephemeral in-memory store unless ``storage`` is given;
        ``resources`` add to (and override) the DAG's own. Prints the run's
        progress and each task's log lines on stdout as it goes, unless
        ``verbose=False``. ``partition_key`` is the partition of a partitioned
        DAG to run.
        """
        self.validate()
        return TEST_RUNNER.get()(
            self, run_conf=run_conf, logical_date=logical_date, storage=storage,
            resources=resources, verbose=verbose, partition_key=partition_key,
        )  # fmt: skip

    # -- context manager --------------------------------------------------------------
    def __enter__(self) -> DAG:
        authoring.push_dag(self)
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        authoring.pop_dag()
        if exc_type is None:
            self.validate()

    def __repr__(self) -> str:
        return f"<DAG: {self.dag_id}>"


def _check_date(
    dag_id: str, name: str, value: datetime | None, default_args: Mapping[str, Any]
) -> datetime | None:
    if value is None:
        value = default_args.get(name)
    if value is not None and not isinstance(value, datetime):
        raise DefinitionError(
            f"DAG {dag_id!r}: {name} must be a datetime, got {value!r}; "
            "write it as datetime(2024, 1, 1)"
        )
    return value


def _own_timezone(
    dag_id: str, timezone: str | tzinfo | None, start_date: datetime | None
) -> tzinfo | None:
    """The zone the DAG chose: ``timezone=``, else an aware start_date's; None if neither."""
    if timezone is None:
        timezone = None if start_date is None else start_date.tzinfo
        if timezone is None:
            return None
    try:
        zone = parse_timezone(timezone)
        timezone_name(zone)  # a zone with no name could not be written down
    except TimezoneError as exc:
        raise DefinitionError(f"DAG {dag_id!r}: {exc}") from None
    return zone


def _check_run_limits(dag_id: str, catchup: Any, max_active_runs: Any, dagrun_timeout: Any) -> None:
    if not isinstance(catchup, bool):
        raise DefinitionError(f"DAG {dag_id!r}: catchup must be True or False, got {catchup!r}")
    if not isinstance(max_active_runs, int) or max_active_runs < 1:
        raise DefinitionError(
            f"DAG {dag_id!r}: max_active_runs must be a whole number >= 1, got {max_active_runs!r}"
        )
    if dagrun_timeout is not None and (
        not isinstance(dagrun_timeout, timedelta) or dagrun_timeout <= timedelta(0)
    ):
        raise DefinitionError(
            f"DAG {dag_id!r}: dagrun_timeout must be a positive timedelta or None, "
            f"got {dagrun_timeout!r}"
        )


def _as_callbacks(value: Any, dag_id: str, what: str) -> tuple[Callable[..., Any], ...]:
    if value is None:
        return ()
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if not callable(item):
            raise DefinitionError(f"DAG {dag_id!r}: {what} must be callable, got {item!r}")
    return tuple(items)


class DagFactory:
    """What ``@dag`` returns: calling it builds the DAG (its id is the function name)."""

    def __init__(self, function: Callable[..., Any], dag_kwargs: dict[str, Any]) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.dag_kwargs = dag_kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> DAG:
        signature = inspect.signature(self.function)
        bound = signature.bind_partial(*args, **kwargs)
        bound.apply_defaults()
        params = dict(self.dag_kwargs.get("params") or {})
        call_args: dict[str, Any] = {}
        for name, param in signature.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if name not in bound.arguments:
                raise DefinitionError(
                    f"@dag {self.function.__name__}: parameter {name!r} needs a default value "
                    "(it becomes a DAG param)"
                )
            params.setdefault(name, bound.arguments[name])
            call_args[name] = DagParam(name, bound.arguments[name])
        options = {k: v for k, v in self.dag_kwargs.items() if k not in ("dag_id", "params")}
        options.setdefault("description", (self.function.__doc__ or "").strip() or None)
        options.setdefault("fileloc", self.function.__code__.co_filename)
        dag_id = self.dag_kwargs.get("dag_id") or self.function.__name__
        with DAG(dag_id, params=params, **options) as built:
            self.function(**call_args)
        return built


def dag(python_callable: Callable[..., Any] | None = None, **dag_kwargs: Any) -> Any:
    """Decorate a function that builds tasks; calling it returns the ``DAG``.

    Takes exactly the keyword arguments of ``DAG`` (``dag_id`` defaults to the
    function's name); the function's parameters become DAG params.
    """
    accepted = set(inspect.signature(DAG.__init__).parameters) - {"self"}
    unknown = sorted(set(dag_kwargs) - accepted)
    if unknown:
        raise DefinitionError(
            f"@dag got unknown argument(s) {', '.join(unknown)}; check the spelling"
        )
    if python_callable is not None:
        return DagFactory(python_callable, dag_kwargs)
    return lambda fn: DagFactory(fn, dag_kwargs)


__all__ = ["DAG", "TEST_RUNNER", "DagFactory", "DagTestRunner", "caller_file", "dag"]
