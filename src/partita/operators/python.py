"""``PythonOperator`` and the operator behind ``@task``; how a callable gets its arguments.

A callable receives the context keys it asks for by name, everything if it
takes ``**kwargs``, and the whole context through a parameter named
``context`` or annotated ``Context`` (Airflow's rules, plus partita's
``context`` parameter). It also receives its run config (a parameter
annotated with a ``Config`` subclass) and resources: a parameter annotated
with a ``Resource`` class, or any parameter that is neither passed where the
task is called nor a context key, by its name. What a callable accepts is
read from its signature once per function, when the task is defined, not on
every run; a task with nothing to inject or check pays nothing for it.

``@task`` functions also have their annotated inputs and output type-checked
(``definitions/types.py``), and may send their output to an IO manager
(``io_manager_key=``) instead of the run's output store.

``op_args``, ``op_kwargs`` and ``templates_dict`` are template fields: the
engine renders them before ``execute`` (``engine/templating.py``). Other
tasks' outputs (``XComArg``) in ``op_args``, ``op_kwargs``, ``templates_dict`` wire the
dependency when the task is defined and are read when it runs, for classic
operators as for ``@task``.
"""

from __future__ import annotations

import contextlib
import inspect
import typing
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from partita.definitions import authoring
from partita.definitions.asset import DEFAULT_OUTPUT, Output
from partita.definitions.baseoperator import BaseOperator
from partita.definitions.config import Config, config_class_from_schema
from partita.definitions.context import CONTEXT_KEYS, DERIVED_KEYS, Context
from partita.definitions.io_manager import IOManager, io_manager_key_of
from partita.definitions.mapping import MappedOperator
from partita.definitions.resources import (
    RESOURCE_MARKER,
    Resource,
    ResourceRequirement,
    find_resource,
)
from partita.definitions.types import (
    Check,
    build_checks,
    check_inputs,
    check_output,
    resolved_hints,
)
from partita.definitions.xcom_arg import DagParam, XComArg, find_refs, resolve_refs
from partita.exceptions import DefinitionError, PartitaError, SkipTask
from partita.operators.io import load_mapped_task_output, load_task_output, store_task_output

_CONFIG = "config"
_RESOURCE = "resource"
_spec_cache: weakref.WeakKeyDictionary[Callable[..., Any], CallSpec] = weakref.WeakKeyDictionary()


def _resource_type(annotation: Any) -> type | bool | None:
    """The class of a resource annotation; True for ``ResourceParam[...]``; None otherwise."""
    if isinstance(annotation, type) and issubclass(annotation, (Resource, IOManager)):
        return annotation
    if any(m is RESOURCE_MARKER for m in getattr(annotation, "__metadata__", ())):
        base = getattr(annotation, "__origin__", None)
        return base if isinstance(base, type) else True
    return None


@dataclass(frozen=True, slots=True)
class CallSpec:
    """What a callable accepts, read once from its signature (and cached per function)."""

    names: frozenset[str]
    positional: tuple[str, ...]
    var_keyword: bool
    context_param: str | None
    #: Parameters with a default value.
    defaults: frozenset[str] = frozenset()
    #: The parameter annotated with a ``Config`` subclass, and that class.
    config_param: str | None = None
    config_class: type[Config] | None = None
    #: Parameters annotated as resources, with the resource class (None: any class).
    typed_resources: tuple[tuple[str, type | None], ...] = ()
    #: Type checks of the other annotated parameters, and of the return value.
    input_checks: tuple[Check, ...] = ()
    output_check: Check | None = None
    #: The context parameter comes first (Dagster's ``def op(context, x)``): it is passed
    #: positionally, before the task's own positional arguments, and is not in ``positional``.
    context_first: bool = False
    #: Parameters naming a context value computed on demand (``DERIVED_KEYS``).
    derived: frozenset[str] = frozenset()

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> CallSpec:
        try:
            cached = _spec_cache.get(fn)
        except TypeError:  # not weak-referenceable
            cached = None
        if cached is not None:
            return cached
        spec = cls._read(fn)
        with contextlib.suppress(TypeError):  # not weak-referenceable: not cached
            _spec_cache[fn] = spec
        return spec

    @classmethod
    def _read(cls, fn: Callable[..., Any]) -> CallSpec:
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):
            return cls(frozenset(), (), False, None)
        hints = resolved_hints(fn) if _has_annotations(signature) else {}
        if "return" in hints:
            hints = _without_output_wrapper(hints)
        names: set[str] = set()
        positional: list[str] = []
        defaults: set[str] = set()
        var_keyword = False
        context_param = None
        config_param: str | None = None
        config_class = None
        typed: list[tuple[str, type | None]] = []
        checked: list[str] = []
        context_first = False
        for index, p in enumerate(signature.parameters.values()):
            if p.kind is p.VAR_KEYWORD:
                var_keyword = True
                continue
            if p.kind is p.VAR_POSITIONAL:
                continue
            names.add(p.name)
            if p.default is not p.empty:
                defaults.add(p.name)
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                positional.append(p.name)
            annotation = hints.get(p.name, p.annotation)
            if p.name == "context" or annotation is Context or annotation == "Context":
                context_param = p.name
                if index == 0 and positional == [p.name]:
                    context_first = True
                    positional.clear()
            elif isinstance(annotation, type) and issubclass(annotation, Config):
                config_param, config_class = p.name, annotation
            elif (resource := _resource_type(annotation)) is not None:
                typed.append((p.name, resource if isinstance(resource, type) else None))
            else:
                checked.append(p.name)
        input_checks, output_check = build_checks(hints, checked) if hints else ((), None)
        return cls(
            frozenset(names), tuple(positional), var_keyword, context_param, frozenset(defaults),
            config_param, config_class, tuple(typed), input_checks, output_check, context_first,
            frozenset(names & DERIVED_KEYS.keys()),
        )  # fmt: skip

    def kwargs_for(
        self, context: Context, n_args: int, explicit: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Keyword arguments for a call with ``n_args`` positional and ``explicit`` keywords."""
        taken = set(self.positional[:n_args]) | set(explicit)
        if self.var_keyword:
            kwargs = {k: v for k, v in context.items() if k not in taken}
        else:
            kwargs = {k: context[k] for k in self.names if k in context and k not in taken}
        if self.derived:
            for k in self.derived - taken:
                kwargs[k] = DERIVED_KEYS[k](context)
        if (
            self.context_param is not None
            and self.context_param not in taken
            and not self.context_first
        ):
            kwargs[self.context_param] = context
        kwargs.update(explicit)
        return kwargs


def _without_output_wrapper(hints: dict[str, Any]) -> dict[str, Any]:
    """``-> Output[int]`` checks the value inside (``int``); a bare ``Output`` checks nothing."""
    returned = hints["return"]
    if returned is not Output and typing.get_origin(returned) is not Output:
        return hints
    hints = dict(hints)
    inner = typing.get_args(returned)
    if inner:
        hints["return"] = inner[0]
    else:
        del hints["return"]
    return hints


def _has_annotations(signature: inspect.Signature) -> bool:
    return signature.return_annotation is not signature.empty or any(
        p.annotation is not p.empty for p in signature.parameters.values()
    )


#: One argument the engine supplies: (parameter, kind, resource class or None, required).
Injection = tuple[str, str, "type | None", bool]


def plan_injections(
    spec: CallSpec,
    bound: Collection[str],
    required_resource_keys: Collection[str] = (),
) -> tuple[tuple[Injection, ...], tuple[ResourceRequirement, ...]]:
    """Which parameters get config or resources, and the resources the task needs.

    ``bound`` are the parameters given where the task is called. Unbound
    parameters that are not context keys are resources looked up by name
    (required unless they have a default).
    """
    injections: list[Injection] = []
    requirements = [ResourceRequirement(key) for key in sorted(required_resource_keys)]
    typed = dict(spec.typed_resources)
    for name in sorted(spec.names - set(bound)):
        if name == spec.context_param:
            continue
        required = name not in spec.defaults
        if name == spec.config_param:
            injections.append((name, _CONFIG, None, required))
        elif name in typed:
            injections.append((name, _RESOURCE, typed[name], required))
            requirements.append(ResourceRequirement(name, name, typed[name], required))
        elif name not in CONTEXT_KEYS:
            injections.append((name, _RESOURCE, None, required))
            requirements.append(ResourceRequirement(name, name, None, required))
    return tuple(injections), tuple(requirements)


class PythonOperator(BaseOperator):
    """Calls ``python_callable(*op_args, **op_kwargs)``; its return value is the task's output."""

    template_fields: ClassVar[Sequence[str]] = ("templates_dict", "op_args", "op_kwargs")
    resolves_own_refs = True
    ui_color = "#ffefeb"
    #: Arguments the engine supplies (config, resources); empty for most tasks.
    injections: tuple[Injection, ...] = ()
    input_checks: tuple[Check, ...] = ()
    output_check: Check | None = None
    #: The callable is a generator function: run to its end, its ``Metadata`` applied.
    drains_generator = False
    #: Subclasses that read what a generator yields themselves (assets yield ``Output``s,
    #: asset checks ``AssetCheckResult``s) set this, so their generators are left to them.
    reads_own_generators = False

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: Mapping[str, Any] | None = None,
        templates_exts: Sequence[str] | None = None,
        show_return_value_in_logs: bool = True,
        config_schema: Any = None,
        required_resource_keys: Collection[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if templates_exts:  # template values ending so are read from template files
            self.template_ext = tuple(templates_exts)  # type: ignore[misc]
        if not callable(python_callable):
            raise DefinitionError(
                f"{self._where()}: python_callable must be callable, got {python_callable!r}"
            )
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = dict(templates_dict) if templates_dict is not None else None
        self.show_return_value_in_logs = show_return_value_in_logs
        #: Whether ``op_args`` / ``op_kwargs`` hold other tasks' outputs (read at run time).
        self.has_refs = False
        #: Upstream task id -> IO manager key, for arguments stored by an IO manager.
        self.io_upstreams: dict[str, str] = {}
        #: Those of them that are mapped (their instances are loaded one by one, in order).
        self.mapped_io_upstreams: set[str] = set()
        self.wire_refs()
        self.call_spec = spec = CallSpec.of(python_callable)
        if inspect.isgeneratorfunction(python_callable) and not self.reads_own_generators:
            self.drains_generator = True
        config_class = spec.config_class
        if config_schema is not None:
            config_class = config_class_from_schema(config_schema, self.task_id)
        if config_class is not None:
            self.config_class = config_class
        bound = set(spec.positional[: len(self.op_args)]) | set(self.op_kwargs)
        if spec.names - bound or required_resource_keys:
            injections, requirements = plan_injections(spec, bound, required_resource_keys or ())
            if injections:
                self.injections = injections
            if requirements:
                self.resource_requirements = requirements

    @classmethod
    def partial_requirements(
        cls, partial_kwargs: Mapping[str, Any]
    ) -> tuple[type | None, tuple[ResourceRequirement, ...]]:
        fn = partial_kwargs.get("python_callable")
        if not callable(fn):
            return None, ()
        spec = CallSpec.of(fn)
        schema = partial_kwargs.get("config_schema")
        config_class = (
            config_class_from_schema(schema, getattr(fn, "__name__", "task"))
            if schema is not None
            else spec.config_class
        )
        keys = partial_kwargs.get("required_resource_keys") or ()
        requirements = [ResourceRequirement(k) for k in sorted(keys)]
        requirements += [ResourceRequirement(n, n, t) for n, t in spec.typed_resources]
        return config_class, tuple(requirements)

    def execute(self, context: Context) -> Any:
        templates = self.templates_dict
        if templates is not None:
            if self.has_refs:
                templates = self.read_refs(context)(templates)
            context["templates_dict"] = templates
        args, explicit = self.arguments(context)
        kwargs = self.call_spec.kwargs_for(context, len(args), explicit)
        if self.injections:
            self.inject(context, kwargs)
        if self.input_checks:
            args = self.check_arguments(args, kwargs)
        if self.call_spec.context_first:
            value = self.python_callable(context, *args, **kwargs)
        else:
            value = self.python_callable(*args, **kwargs)
        if self.drains_generator:
            from partita.definitions.asset_metadata import drain_metadata

            value = drain_metadata(value, context)
        return self.output_of(value, context)

    def output_of(self, value: Any, context: Context) -> Any:
        """The task's output, given what the callable returned (type-checked if annotated)."""
        if self.output_check is not None:
            value = check_output(self.output_check, value, self.describe)
        return value

    def describe(self) -> str:
        """How error messages name this task."""
        return f"task {self.task_id!r}"

    def inject(self, context: Context, kwargs: dict[str, Any]) -> None:
        """Add the config and resources the callable takes to ``kwargs``."""
        resources = context.get("resources") or {}
        for name, kind, cls, _required in self.injections:
            if name in kwargs:
                continue
            if kind == _CONFIG:
                if "config" in context:
                    kwargs[name] = context["config"]
                continue
            found, value = find_resource(resources, name, cls)
            if found:
                kwargs[name] = value

    def check_arguments(self, args: list[Any], kwargs: dict[str, Any]) -> list[Any]:
        """Type-check the arguments (converting dicts given for pydantic models)."""
        if not args:
            check_inputs(self.input_checks, kwargs, self.describe)
            return args
        positional = self.call_spec.positional
        values = dict(zip(positional, args, strict=False))
        values.update(kwargs)
        check_inputs(self.input_checks, values, self.describe)
        checked_args = [values[positional[i]] for i in range(len(args))]
        for name in kwargs:
            kwargs[name] = values[name]
        return checked_args

    def wire_refs(self) -> None:
        """Depend on every task whose output is in ``op_args``, ``op_kwargs`` or ``templates_dict``.

        An operator built at run time for one instance of a mapped task wires
        nothing: the mapped task already depends on those tasks.
        """
        refs = [*find_refs(self.op_args), *find_refs(self.op_kwargs)]
        refs += find_refs(self.templates_dict)
        self.has_refs = bool(refs)
        self.io_upstreams = {}
        self.mapped_io_upstreams = set()
        building_instance = authoring.is_building_instance()
        for ref in refs:
            if not isinstance(ref, XComArg):
                continue
            if not building_instance:
                self.set_upstream(ref.operators())
            for op in ref.operators():
                key = io_manager_key_of(op)
                if key is not None:
                    self.io_upstreams[op.task_id] = key
                    if isinstance(op, MappedOperator):
                        self.mapped_io_upstreams.add(op.task_id)

    def arguments(self, context: Context) -> tuple[list[Any], dict[str, Any]]:
        """The positional and keyword arguments, with other tasks' outputs read in."""
        if not self.has_refs:
            return self.op_args, self.op_kwargs
        read = self.read_refs(context)
        return read(self.op_args), read(self.op_kwargs)

    def read_refs(self, context: Context) -> Callable[[Any], Any]:
        """A function giving a value with the task outputs and DAG params in it read in."""
        ti = context["ti"]
        params = context.get("params", {})
        io_upstreams = self.io_upstreams

        def pull(task_id: str, key: str) -> Any:
            if io_upstreams and task_id in io_upstreams:
                io_key = io_upstreams[task_id]
                if task_id in self.mapped_io_upstreams:
                    return load_mapped_task_output(context, io_key, task_id, key, self.task_id)
                return load_task_output(context, io_key, task_id, key, self.task_id)
            return ti.xcom_pull(task_ids=task_id, key=key)

        def resolve(ref: XComArg | DagParam) -> Any:
            if isinstance(ref, DagParam):
                return params.get(ref.name, ref.default)
            return ref.resolve(pull)

        return lambda value: resolve_refs(value, resolve)


@dataclass(frozen=True, slots=True)
class RunCondition:
    """A ``@task.run_if`` / ``@task.skip_if`` check: ``condition(context)`` decides whether to run.

    The task runs when ``bool(condition(context)) == run_when``; otherwise it is
    skipped with ``message``.
    """

    condition: Callable[[Context], Any]
    run_when: bool
    message: str

    def check(self, context: Context) -> None:
        if bool(self.condition(context)) is not self.run_when:
            raise SkipTask(self.message)


class DecoratedPythonOperator(PythonOperator):
    """The operator a ``@task`` call creates: arguments may be other tasks' outputs.

    Its annotated inputs and output are type-checked; with ``io_manager_key``
    its output is stored by that IO manager (and loaded by it for the tasks
    downstream) instead of the run's output store. A returned
    ``Output(value, metadata=...)`` (Dagster's op style) stores ``value``.
    """

    #: Whether a returned ``Output`` is replaced by its value (assets handle it themselves).
    unwraps_output: ClassVar[bool] = True

    def __init__(
        self,
        *,
        run_conditions: Sequence[RunCondition] = (),
        io_manager_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_conditions = tuple(run_conditions)
        self.io_manager_key = io_manager_key
        spec = self.call_spec
        if spec.input_checks:
            self.input_checks = spec.input_checks
        if spec.output_check is not None:
            self.output_check = spec.output_check
        if io_manager_key is not None:
            self.resource_requirements = (
                *self.resource_requirements, ResourceRequirement(io_manager_key, None, IOManager),
            )  # fmt: skip

    def execute(self, context: Context) -> Any:
        for condition in self.run_conditions:
            condition.check(context)
        value = super().execute(context)
        if self.io_manager_key is None:
            return value
        store_task_output(context, self.io_manager_key, value)
        return None

    def output_of(self, value: Any, context: Context) -> Any:
        if isinstance(value, Output) and self.unwraps_output:
            value = self.unwrap_output(value, context)
        return super().output_of(value, context)

    def unwrap_output(self, output: Output[Any], context: Context) -> Any:
        """The value of a returned ``Output``; its metadata goes to the task's log."""
        if output.output_name != DEFAULT_OUTPUT:
            raise PartitaError(
                f"{self.describe()} returned Output(output_name={output.output_name!r}), but a "
                f"@task has one output, {DEFAULT_OUTPUT!r}; drop output_name, or return a dict "
                "with multiple_outputs=True to store several values"
            )
        if output.metadata:
            context["log"].info("output metadata: %s", output.metadata)
        return output.value


__all__ = [
    "CallSpec",
    "DecoratedPythonOperator",
    "PythonOperator",
    "RunCondition",
    "plan_injections",
]
