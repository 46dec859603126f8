"""``BaseOperator``: what every task is, whatever it runs.

A task is data: its id, its place in the DAG, its retry and timeout policy,
its trigger rule and callbacks. What it does is ``execute(context)``, called
by the engine wherever the task instance runs (this process, a worker
process, a Celery worker), so a task never assumes it runs where it was
defined.

``default_args`` are applied by a wrapper that ``__init_subclass__`` puts
around every subclass's ``__init__``: a default fills any parameter that some
``__init__`` in the class's MRO accepts and that the caller did not pass.
The accepted names come from the signatures themselves, never from a list
kept by hand.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from partita.definitions import authoring
from partita.definitions.asset_events import Asset, AssetAlias, outlet_assets
from partita.definitions.dependencies import DependencyMixin
from partita.definitions.execute_hooks import ExecuteHooks, execute_hooks
from partita.definitions.extensions import ExtensionPoint
from partita.definitions.ids import MAX_ID_LENGTH, check_id_length
from partita.definitions.priority_weight import PriorityWeightStrategy, weight_rule_of
from partita.definitions.setup_teardown import (
    FAIL_RUN_DEFAULT,
    SetupTeardownScope,
    mark_setup,
    mark_teardown,
)
from partita.definitions.states import TriggerRule
from partita.definitions.xcom_arg import XComArg, find_refs
from partita.exceptions import CycleError, DefinitionError

if TYPE_CHECKING:
    from partita.definitions.context import Context
    from partita.definitions.dag import DAG
    from partita.definitions.resources import ResourceRequirement
    from partita.definitions.taskgroup import TaskGroup

Callback = Callable[..., Any]
_TASK_ID = re.compile(rf"^[A-Za-z0-9_.\-]{{1,{MAX_ID_LENGTH}}}$")
PartialFactory = Callable[[type, dict[str, Any]], Any]
#: What ``BaseOperator.partial`` builds (``definitions.mapping.OperatorPartial``, which
#: imports this module, so it is looked up rather than imported).
PARTIAL_FACTORY: ExtensionPoint[PartialFactory] = ExtensionPoint("BaseOperator.partial")
#: Set on a task whose template fields hold other tasks' outputs (``XComArg``): the
#: templating reads them in before ``execute``, as Airflow does.
REFS_MARK = "_partita_template_refs"


def _wire_template_refs(task: BaseOperator) -> None:
    """Depend on the tasks whose outputs a template field holds (``values=other.output``)."""
    found = False
    for name in task.template_fields:
        for ref in find_refs(getattr(task, name, None)):
            if isinstance(ref, XComArg):
                found = True
                if not authoring.is_building_instance():
                    task.set_upstream(ref.operators())
    if found:
        task.__dict__[REFS_MARK] = True


def _accepted_params(cls: type) -> frozenset[str]:
    """Names accepted by any ``__init__`` in the MRO.

    ``**kwargs`` of a subclass are taken to forward to ``BaseOperator``, as in
    Airflow, so an argument no ``__init__`` names is an error.
    """
    cached = cls.__dict__.get("_partita_accepted")
    if cached is not None:
        return cached
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        init = getattr(init, "__wrapped__", init)
        for p in inspect.signature(init).parameters.values():
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self":
                names.add(p.name)
    result = frozenset(names)
    cls._partita_accepted = result  # type: ignore[attr-defined]
    return result


def _apply_defaults(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def wrapper(self: BaseOperator, *args: Any, **kwargs: Any) -> None:
        if self.__dict__.get("_partita_initialising"):
            init(self, *args, **kwargs)  # nested super().__init__: defaults already applied
            return
        self.__dict__["_partita_initialising"] = True
        accepted = _accepted_params(type(self))
        dag = kwargs.get("dag")
        dag = dag if dag is not None else authoring.current_dag()
        group = kwargs.get("task_group")
        group = group if group is not None else authoring.current_group()
        defaults: dict[str, Any] = {}
        if dag is not None:
            defaults.update(dag.default_args)
        if group is not None:
            defaults.update(group.merged_default_args())
        defaults.update(kwargs.pop("default_args", None) or {})
        for name, value in defaults.items():
            if name in accepted and name not in kwargs:
                kwargs[name] = value
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            where = f"DAG {dag.dag_id!r}: " if dag is not None else ""
            raise DefinitionError(
                f"{where}{type(self).__name__}(task_id={kwargs.get('task_id')!r}) got "
                f"unknown argument(s) {', '.join(unknown)}; check the spelling"
            )
        try:
            init(self, *args, **kwargs)
        finally:
            del self.__dict__["_partita_initialising"]
        if self._wires_template_refs:
            _wire_template_refs(self)

    return wrapper


def _to_timedelta(value: Any, what: str, where: str, allow_none: bool) -> timedelta | None:
    if value is None and allow_none:
        return None
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    raise DefinitionError(f"{where}: {what} must be a timedelta or seconds >= 0, got {value!r}")


def _callbacks(value: Any, what: str, where: str) -> tuple[Callback, ...]:
    if value is None:
        return ()
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if not callable(item):
            raise DefinitionError(f"{where}: {what} must be callable, got {item!r}")
    return tuple(items)


class BaseOperator(DependencyMixin):
    """A task in a DAG. Subclasses implement ``execute(context)`` and return its output."""

    #: Attribute names rendered as Jinja templates before ``execute``.
    template_fields: ClassVar[Sequence[str]] = ()
    #: Whether the operator reads the task outputs in its arguments itself (``PythonOperator``);
    #: otherwise an ``XComArg`` in a template field is read by the templating before ``execute``.
    resolves_own_refs: ClassVar[bool] = False
    #: Whether construction looks for ``XComArg`` in template fields (set per class).
    _wires_template_refs: ClassVar[bool] = False
    #: File endings whose template field values are read from template files.
    template_ext: ClassVar[Sequence[str]] = ()
    #: Colour of the task in the UI.
    ui_color: ClassVar[str] = "#ffffff"
    #: The ``Config`` class of the task's run config, if it takes config (definitions/config.py).
    config_class: type | None = None
    #: The resources the task needs; checked before a run starts (definitions/resources.py).
    resource_requirements: tuple[ResourceRequirement, ...] = ()
    #: A setup task (``as_setup()``); a teardown task (``as_teardown()``); see setup_teardown.py.
    is_setup: bool = False
    is_teardown: bool = False
    #: A teardown that fails decides the run's state only when this is True.
    on_failure_fail_dagrun: bool = FAIL_RUN_DEFAULT
    #: ``pre_execute=`` / ``post_execute=`` functions, if given (definitions/execute_hooks.py).
    execute_hooks: ExecuteHooks | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        cls._wires_template_refs = bool(cls.template_fields) and not cls.resolves_own_refs
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _apply_defaults(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(
        self,
        *,
        task_id: str,
        owner: str = "partita",
        retries: int = 0,
        retry_delay: timedelta | float = timedelta(minutes=5),
        retry_exponential_backoff: bool = False,
        max_retry_delay: timedelta | float | None = None,
        execution_timeout: timedelta | float | None = None,
        trigger_rule: str | TriggerRule = TriggerRule.ALL_SUCCESS,
        depends_on_past: bool = False,
        wait_for_downstream: bool = False,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        params: Mapping[str, Any] | None = None,
        do_xcom_push: bool = True,
        multiple_outputs: bool = False,
        on_execute_callback: Callback | Sequence[Callback] | None = None,
        on_success_callback: Callback | Sequence[Callback] | None = None,
        on_failure_callback: Callback | Sequence[Callback] | None = None,
        on_retry_callback: Callback | Sequence[Callback] | None = None,
        email: str | Sequence[str] | None = None,
        email_on_failure: bool = True,
        email_on_retry: bool = True,
        pool: str | None = None,
        queue: str | None = None,
        executor_config: Mapping[str, Any] | None = None,
        priority_weight: int = 1,
        weight_rule: str | PriorityWeightStrategy = "downstream",
        pool_slots: int = 1,
        retry_policy: Any = None,
        doc_md: str | None = None,
        outlets: Any = None,
        inlets: Any = None,
        dag: DAG | None = None,
        task_group: TaskGroup | None = None,
        task_display_name: str | None = None,
        pre_execute: Callable[[Any], Any] | None = None,
        post_execute: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        dag = dag if dag is not None else authoring.current_dag()
        group = task_group if task_group is not None else authoring.current_group()
        if group is not None and dag is not None and group.dag is not None and group.dag is not dag:
            group = None
        where = f"DAG {dag.dag_id!r}: task {task_id!r}" if dag else f"task {task_id!r}"
        if not isinstance(task_id, str) or not _TASK_ID.match(task_id):
            raise DefinitionError(
                f"{where}: task_id must be 1-250 letters, digits, '_', '-' or '.'"
            )
        self.task_id = group.child_id(task_id) if group is not None else task_id
        if group is not None:
            check_id_length(
                self.task_id,
                f"{where}: its id in task group {group.group_id!r}",
                "shorten the task id or the group ids",
            )
        self.label = task_id
        where = f"DAG {dag.dag_id!r}: task {self.task_id!r}" if dag else f"task {self.task_id!r}"
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise DefinitionError(f"{where}: retries must be an integer >= 0, got {retries!r}")
        try:
            self.trigger_rule = TriggerRule(trigger_rule)
        except ValueError:
            raise DefinitionError(
                f"{where}: unknown trigger_rule {trigger_rule!r}; use one of "
                + ", ".join(r.value for r in TriggerRule)
            ) from None
        self.owner = owner
        self.retries = retries
        self.retry_delay = _to_timedelta(retry_delay, "retry_delay", where, allow_none=False)
        self.retry_exponential_backoff = bool(retry_exponential_backoff)
        self.max_retry_delay = _to_timedelta(max_retry_delay, "max_retry_delay", where, True)
        self.execution_timeout = _to_timedelta(execution_timeout, "execution_timeout", where, True)
        # as in Airflow, waiting for the previous run's downstream implies depending on it
        self.depends_on_past = bool(depends_on_past or wait_for_downstream)
        self.wait_for_downstream = bool(wait_for_downstream)
        self.start_date = start_date
        self.end_date = end_date
        self.params: dict[str, Any] = dict(params or {})
        self.do_xcom_push = do_xcom_push
        self.multiple_outputs = multiple_outputs
        self.on_execute_callback = _callbacks(on_execute_callback, "on_execute_callback", where)
        self.on_success_callback = _callbacks(on_success_callback, "on_success_callback", where)
        self.on_failure_callback = _callbacks(on_failure_callback, "on_failure_callback", where)
        self.on_retry_callback = _callbacks(on_retry_callback, "on_retry_callback", where)
        #: Who gets an email when a try fails (``email_on_retry``) or the task fails for good.
        self.email = email
        self.email_on_failure = bool(email_on_failure)
        self.email_on_retry = bool(email_on_retry)
        self.pool = pool
        self.queue = queue
        #: Options for the executor, e.g. ``{"fresh_process": True}`` (the local executor).
        self.executor_config: dict[str, Any] = dict(executor_config or {})
        self.priority_weight = priority_weight
        self.weight_rule = (
            weight_rule if weight_rule == "downstream" else weight_rule_of(weight_rule, where)
        )
        if not isinstance(pool_slots, int) or isinstance(pool_slots, bool) or pool_slots < 1:
            raise DefinitionError(
                f"{where}: pool_slots must be an integer >= 1, got {pool_slots!r}"
            )
        self.pool_slots = pool_slots
        if retry_policy is not None and not callable(getattr(retry_policy, "evaluate", None)):
            raise DefinitionError(
                f"{where}: retry_policy must be a RetryPolicy (such as ExceptionRetryPolicy("
                f"rules=[...])), got {retry_policy!r}"
            )
        #: Decides retry / fail / default after a failure (``definitions.retry_policy``).
        self.retry_policy = retry_policy
        self.doc_md = doc_md
        #: The assets the task updates: each gets an asset event when the task succeeds.
        self.outlets: tuple[Asset | AssetAlias, ...] = outlet_assets(where, outlets)
        #: The assets the task reads (kept for lineage; they change nothing at run time).
        self.inlets: tuple[Asset | AssetAlias, ...] = outlet_assets(where, inlets)
        self._display_name = task_display_name
        if pre_execute is not None or post_execute is not None:
            self.execute_hooks = execute_hooks(pre_execute, post_execute, where)
        self.upstream_task_ids: dict[str, None] = {}
        self.downstream_task_ids: dict[str, None] = {}
        self.dag: DAG | None = None
        self.task_group: TaskGroup | None = group
        self._floating_relatives: list[BaseOperator] = []
        if group is not None:
            group.add_child(self)
        if dag is not None:
            dag.add_task(self)

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:
        """Fix the arguments every instance of a mapped task shares; then call ``expand``."""
        return PARTIAL_FACTORY.get()(cls, kwargs)

    @classmethod
    def partial_requirements(
        cls, partial_kwargs: Mapping[str, Any]
    ) -> tuple[type | None, tuple[ResourceRequirement, ...]]:
        """The config class and resources of a mapped task of this class (from its kwargs)."""
        return None, ()

    # -- what a subclass implements -------------------------------------------------
    def execute(self, context: Context) -> Any:
        """Do the work of one task instance; the return value is its output."""
        raise NotImplementedError(f"{type(self).__name__} must implement execute(context)")

    def render_template(
        self, content: Any, context: Context, jinja_env: Any = None, seen_oids: Any = None
    ) -> Any:
        """``content`` rendered with ``context`` as a template field would be (Airflow's method).

        Strings are Jinja templates (a name ending with one of ``template_ext`` is a
        template file); lists, tuples, sets and dict values are rendered item by item.
        The DAG's own Jinja environment is used; ``seen_oids`` (Airflow's guard
        against rendering an object twice) is accepted and not needed.
        """
        from partita.engine.templating import render_value

        if jinja_env is not None:
            raise DefinitionError(
                f"{self._where()}: render_template(jinja_env=...) is not supported: partita "
                "renders with the DAG's environment (its user_defined_macros/filters); drop it"
            )

        return render_value(self, content, context)

    def on_kill(self) -> None:
        """Called when the task is stopped (timeout, cancel): release what it holds."""

    def may_skip_task_ids(self) -> frozenset[str]:
        """Tasks this one may skip when it ends (``ti.skip_downstream``); none by default.

        Branches and short circuits override it. The engine starts none of
        these tasks, and decides none of their states, before this one ends,
        so a skip never comes too late. Skipping a task not named here fails.
        """
        return frozenset()

    # -- setup and teardown (definitions/setup_teardown.py) ------------------------------
    def as_setup(self) -> BaseOperator:
        """Mark this task as a setup task; returns it."""
        mark_setup(self)
        return self

    def as_teardown(
        self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None
    ) -> BaseOperator:
        """Mark this task as the teardown of ``setups`` (a task, output or list); returns it."""
        mark_teardown(self, setups, on_failure_fail_dagrun)
        return self

    def __enter__(self) -> BaseOperator:
        scope = SetupTeardownScope(self)
        scope.enter()
        self.__dict__.setdefault("_scopes", []).append(scope)
        return self

    def __exit__(self, *exc: object) -> None:
        scope: SetupTeardownScope = self.__dict__["_scopes"].pop()
        if exc[0] is None:
            scope.exit()

    # -- graph ------------------------------------------------------------------------
    def dependency_roots(self) -> list[BaseOperator]:
        return [self]

    def dependency_leaves(self) -> list[BaseOperator]:
        return [self]

    def add_downstream_edge(self, other: BaseOperator) -> None:
        """Record ``self >> other``; both end up in the same DAG."""
        if other is self:
            raise CycleError(f"{self._where()}: a task cannot depend on itself")
        dag = self._join_dags(other)
        self.downstream_task_ids[other.task_id] = None
        other.upstream_task_ids[self.task_id] = None
        if dag is not None:
            # Only an edge from a task with upstreams to one with downstreams can close a
            # cycle; the DAG remembers where those were drawn (the others cost nothing).
            may_close = bool(self.upstream_task_ids) and bool(other.downstream_task_ids)
            dag.edges_changed((self.task_id, other.task_id) if may_close else None)

    def _join_dags(self, other: BaseOperator) -> DAG | None:
        if self.dag is not None and other.dag is not None:
            if self.dag is not other.dag:
                raise DefinitionError(
                    f"task {self.task_id!r} of DAG {self.dag.dag_id!r} cannot be linked to task "
                    f"{other.task_id!r} of DAG {other.dag.dag_id!r}: tasks of different DAGs "
                    "cannot depend on each other"
                )
            return self.dag
        if self.dag is not None:
            self.dag.add_task(other)
            return self.dag
        if other.dag is not None:
            other.dag.add_task(self)
            return other.dag
        self._floating_relatives.append(other)
        other._floating_relatives.append(self)
        return None

    def adopt_floating_relatives(self) -> None:
        """Called by ``DAG.add_task``: tasks linked before either had a DAG join it too."""
        relatives, self._floating_relatives = self._floating_relatives, []
        for rel in relatives:
            if rel.dag is None and self.dag is not None:
                self.dag.add_task(rel)

    def get_direct_relative_ids(self, upstream: bool = False) -> set[str]:
        """Ids of the tasks directly downstream of this one (upstream if ``upstream``)."""
        return set(self.upstream_task_ids if upstream else self.downstream_task_ids)

    def get_flat_relative_ids(self, upstream: bool = False) -> set[str]:
        """Ids of every task downstream of this one, at any distance (upstream if ``upstream``)."""
        tasks = self._require_dag().task_dict
        found: set[str] = set()
        stack = list(self.upstream_task_ids if upstream else self.downstream_task_ids)
        while stack:
            current = stack.pop()
            if current in found:
                continue
            found.add(current)
            task = tasks[current]
            stack.extend(task.upstream_task_ids if upstream else task.downstream_task_ids)
        return found

    @property
    def upstream_list(self) -> list[BaseOperator]:
        return [self._require_dag().task_dict[t] for t in self.upstream_task_ids]

    @property
    def downstream_list(self) -> list[BaseOperator]:
        return [self._require_dag().task_dict[t] for t in self.downstream_task_ids]

    @property
    def output(self) -> XComArg:
        """This task's return value, as an argument for another task."""
        return XComArg(self)

    def _require_dag(self) -> DAG:
        if self.dag is None:
            raise DefinitionError(f"task {self.task_id!r} is not in a DAG yet")
        return self.dag

    def _where(self) -> str:
        if self.dag is not None:
            return f"{self.dag.label}: task {self.task_id!r}"
        return f"task {self.task_id!r}"

    @property
    def task_display_name(self) -> str:
        """The name the UI shows (Airflow's ``task_display_name``); the task id by default."""
        return getattr(self, "_display_name", None) or self.task_id

    @property
    def operator_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<Task({type(self).__name__}): {self.task_id}>"


BaseOperator.__init__ = _apply_defaults(BaseOperator.__init__)  # type: ignore[method-assign]

__all__ = ["PARTIAL_FACTORY", "REFS_MARK", "BaseOperator", "PartialFactory"]
