"""Software-defined assets: ``@asset``, ``@multi_asset`` and what their functions return.

An asset is a named, persistent piece of data with a history; its function
computes it from its upstream assets::

    @asset
    def asset1():
        return [1, 2, 3]

    @asset
    def asset2(asset1):            # upstream by parameter name
        return asset1 + [4]

    @asset(ins={"upstream": AssetIn(key=["some_db_schema", "upstream_asset"])})
    def another_downstream_asset(upstream):
        return upstream + [10]

Parameters that are not upstream assets: ``context``, one annotated with a
``Config`` subclass (the asset's config), and those annotated with a
``Resource`` subclass or ``ResourceParam[...]`` (resources). ``deps=[...]``
orders assets without passing data.

The design decision: an ``AssetsDefinition`` is pure data (keys, inputs,
outputs, policies); it becomes a task only when a DAG is built from a
selection of assets (``asset_job.py``), one task per definition, so the same
asset runs in any number of jobs on the one engine that runs DAGs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from partita.definitions.asset_check_result import AssetCheckResult, AssetCheckSpec
from partita.definitions.asset_key import AssetKey, CoercibleToAssetKey, as_asset_key
from partita.definitions.automation_condition import AutomationCondition
from partita.definitions.backfill_policy import BackfillPolicy
from partita.definitions.config import Config
from partita.definitions.context import Context
from partita.definitions.io_manager import DEFAULT_IO_MANAGER_KEY, IOManager
from partita.definitions.partition_mapping import PartitionMapping, check_partition_mapping
from partita.definitions.partitions import PartitionsDefinition
from partita.definitions.resources import RESOURCE_MARKER, Resource
from partita.definitions.types import resolved_hints
from partita.exceptions import DefinitionError

T = TypeVar("T")
DEFAULT_GROUP = "default"
DEFAULT_OUTPUT = "result"


class Output(Generic[T]):
    """A returned value with metadata: ``return Output(df, metadata={"rows": len(df)})``.

    ``output_name`` picks the output of a ``@multi_asset``; ``data_version``
    overrides the hash partita would compute from the value.
    """

    __slots__ = ("data_version", "metadata", "output_name", "value")

    def __init__(
        self,
        value: T,
        output_name: str = DEFAULT_OUTPUT,
        *,
        metadata: Mapping[str, Any] | None = None,
        data_version: str | None = None,
    ) -> None:
        self.value = value
        self.output_name = output_name
        self.metadata = dict(metadata or {})
        self.data_version = data_version

    def __repr__(self) -> str:
        return f"Output({self.value!r}, output_name={self.output_name!r})"


class MaterializeResult:
    """Returned by an asset that stored its data itself: only metadata is recorded.

    No value goes to the IO manager, so downstream assets that need this
    asset's data must read it themselves (use ``deps=`` for the ordering).
    """

    __slots__ = ("asset_key", "check_results", "data_version", "metadata")

    def __init__(
        self,
        *,
        asset_key: CoercibleToAssetKey | None = None,
        metadata: Mapping[str, Any] | None = None,
        data_version: str | None = None,
        check_results: Sequence[AssetCheckResult] = (),
    ) -> None:
        self.asset_key = None if asset_key is None else as_asset_key(asset_key)
        self.metadata = dict(metadata or {})
        self.data_version = data_version
        #: Results of the asset's own checks (``check_specs=``).
        self.check_results = tuple(check_results)

    def __repr__(self) -> str:
        return f"MaterializeResult(asset_key={self.asset_key!r}, metadata={self.metadata!r})"


@dataclass(frozen=True)
class AssetMaterialization:
    """What a task reports when it materialized an asset (the engine adds run, task and time)."""

    asset_key: AssetKey
    metadata: dict[str, Any] = field(default_factory=dict)
    code_version: str | None = None
    #: A hash of the stored value, or the version the asset gave (``Output(data_version=)``).
    data_version: str | None = None
    #: Where the IO manager stored the value (None when no value was stored).
    location: str | None = None
    #: The partition materialized (None: the asset is not partitioned).
    partition_key: str | None = None


@dataclass(frozen=True)
class AssetIn:
    """How a parameter maps to an upstream asset: ``AssetIn(key=["schema", "table"])``."""

    key: CoercibleToAssetKey | None = None
    key_prefix: str | Sequence[str] | None = None
    metadata: Mapping[str, Any] | None = None
    #: Load this input with another IO manager than the one that stored it.
    input_manager_key: str | None = None
    #: Which upstream partitions a partition of this asset reads (default: the same key).
    partition_mapping: PartitionMapping | None = None


@dataclass(frozen=True)
class AssetOut:
    """One asset of a ``@multi_asset``."""

    key: CoercibleToAssetKey | None = None
    key_prefix: str | Sequence[str] | None = None
    group_name: str | None = None
    description: str | None = None
    metadata: Mapping[str, Any] | None = None
    code_version: str | None = None
    io_manager_key: str | None = None
    tags: Mapping[str, str] | None = None
    is_required: bool = True


@dataclass(frozen=True)
class AssetOutputSpec:
    """One asset an ``AssetsDefinition`` produces, with its policies resolved."""

    key: AssetKey
    output_name: str
    group_name: str
    description: str | None
    metadata: dict[str, Any]
    code_version: str | None
    io_manager_key: str
    tags: dict[str, str]
    is_required: bool = True


@dataclass(frozen=True)
class AssetInputSpec:
    """One parameter fed by an upstream asset."""

    param: str
    key: AssetKey
    metadata: dict[str, Any] = field(default_factory=dict)
    input_manager_key: str | None = None
    partition_mapping: PartitionMapping | None = None


class AssetsDefinition:
    """What ``@asset`` and ``@multi_asset`` return: one computation producing one or more assets.

    Calling it calls the function directly (handy in unit tests).
    """

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str,
        outputs: Sequence[AssetOutputSpec],
        inputs: Sequence[AssetInputSpec],
        deps: Sequence[AssetKey],
        required_resource_keys: frozenset[str],
        config_schema: Any,
        task_kwargs: Mapping[str, Any],
        is_multi: bool,
        can_subset: bool = False,
        check_specs: Sequence[AssetCheckSpec] = (),
        partitions_def: PartitionsDefinition | None = None,
        automation_condition: AutomationCondition | None = None,
        backfill_policy: BackfillPolicy | None = None,
    ) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.name = name
        self.outputs: dict[str, AssetOutputSpec] = {o.output_name: o for o in outputs}
        self.inputs: dict[str, AssetInputSpec] = {i.param: i for i in inputs}
        self.deps = tuple(deps)
        self.required_resource_keys = required_resource_keys
        self.config_schema = config_schema
        self.task_kwargs = dict(task_kwargs)
        self.is_multi = is_multi
        self.can_subset = can_subset
        if automation_condition is not None and not isinstance(
            automation_condition, AutomationCondition
        ):
            raise DefinitionError(
                f"asset {name!r}: automation_condition must be an AutomationCondition, e.g. "
                f"AutomationCondition.eager(), got {automation_condition!r}"
            )
        #: When the scheduler materializes it on its own (None: never).
        self.automation_condition = automation_condition
        self._by_key = {o.key: o for o in outputs}
        if partitions_def is not None and not isinstance(partitions_def, PartitionsDefinition):
            raise DefinitionError(
                f"asset {name!r}: partitions_def must be a PartitionsDefinition (e.g. "
                f"DailyPartitionsDefinition(start_date=...)), got {partitions_def!r}"
            )
        #: The partitions of every asset of this definition (None: not partitioned).
        self.partitions_def = partitions_def
        if backfill_policy is not None and not isinstance(backfill_policy, BackfillPolicy):
            raise DefinitionError(
                f"asset {name!r}: backfill_policy must be BackfillPolicy.single_run() or "
                f"BackfillPolicy.multi_run(max_partitions_per_run=N), got {backfill_policy!r}"
            )
        if backfill_policy is not None and partitions_def is None:
            raise DefinitionError(
                f"asset {name!r}: backfill_policy={backfill_policy!r} needs partitions_def=...; "
                "a backfill runs partitions, and this asset has none"
            )
        #: How many partitions one backfill run covers (None: one, a run per partition).
        self.backfill_policy = backfill_policy
        if len(self._by_key) != len(outputs):
            raise DefinitionError(f"asset {name!r}: two outputs have the same asset key")
        #: The checks this definition reports itself (``check_specs=``).
        self.check_specs = _own_check_specs(name, check_specs, set(self._by_key))
        own = set(self._by_key)
        for key in self.upstream_keys():
            if key in own:
                raise DefinitionError(
                    f"asset {key.to_user_string()!r} depends on itself; rename its parameter or "
                    "give its input another key with ins={...: AssetIn(key=...)}"
                )

    @property
    def keys(self) -> list[AssetKey]:
        return list(self._by_key)

    @property
    def key(self) -> AssetKey:
        """The key of a single asset (an error for a multi-asset with several)."""
        if len(self._by_key) != 1:
            keys = ", ".join(k.to_user_string() for k in self._by_key)
            raise DefinitionError(f"multi-asset {self.name!r} has several keys ({keys}); use .keys")
        return next(iter(self._by_key))

    def spec(self, key: AssetKey) -> AssetOutputSpec:
        return self._by_key[key]

    def task_id(self) -> str:
        """The id of the task that runs this definition in a DAG."""
        return self.name if self.is_multi else self.key.to_task_id()

    def upstream_keys(self) -> list[AssetKey]:
        """Keys this definition reads (inputs) or waits for (deps), in order, once each."""
        keys = [i.key for i in self.inputs.values()] + list(self.deps)
        return list(dict.fromkeys(keys))

    @property
    def group_names(self) -> set[str]:
        return {o.group_name for o in self.outputs.values()}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        keys = ", ".join(k.to_user_string() for k in self._by_key)
        return f"<AssetsDefinition {self.name}: {keys}>"


def _own_check_specs(
    name: str, specs: Sequence[AssetCheckSpec], keys: set[AssetKey]
) -> tuple[AssetCheckSpec, ...]:
    seen: set[tuple[AssetKey, str]] = set()
    for spec in specs:
        if not isinstance(spec, AssetCheckSpec):
            raise DefinitionError(
                f"asset {name!r}: check_specs must be AssetCheckSpec(...) values, got {spec!r}"
            )
        if spec.asset_key not in keys:
            raise DefinitionError(
                f"asset {name!r}: check spec {spec.name!r} is for asset "
                f"{spec.asset_key.to_user_string()!r}, which this definition does not produce"
            )
        if (spec.asset_key, spec.name) in seen:
            raise DefinitionError(f"asset {name!r}: two check specs are called {spec.name!r}")
        seen.add((spec.asset_key, spec.name))
    return tuple(specs)


# -- decorators ----------------------------------------------------------------------------


def is_resource_annotation(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, (Resource, IOManager)):
        return True
    metadata = getattr(annotation, "__metadata__", ())
    return any(m is RESOURCE_MARKER for m in metadata)


def is_config_annotation(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Config)


def _inputs_of(
    fn: Callable[..., Any], where: str, ins: Mapping[str, AssetIn]
) -> list[AssetInputSpec]:
    signature = inspect.signature(fn)
    hints = resolved_hints(fn)
    unknown = sorted(set(ins) - set(signature.parameters))
    if unknown:
        raise DefinitionError(
            f"{where}: ins names {', '.join(map(repr, unknown))}, which the function has no "
            "parameter for"
        )
    found: list[AssetInputSpec] = []
    for param in signature.parameters.values():
        name = param.name
        annotation = hints.get(name, param.annotation)
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name in ins:
            spec = ins[name]
            key = (
                as_asset_key(spec.key, f"{where}: ins[{name!r}].key")
                if spec.key is not None
                else AssetKey([name])
            ).with_prefix(spec.key_prefix)
            mapping = check_partition_mapping(f"{where}: ins[{name!r}]", spec.partition_mapping)
            found.append(
                AssetInputSpec(
                    name, key, dict(spec.metadata or {}), spec.input_manager_key, mapping
                )
            )
            continue
        if name == "context" or annotation is Context:
            continue
        if is_resource_annotation(annotation) or is_config_annotation(annotation):
            continue
        if param.default is not param.empty:
            continue
        found.append(AssetInputSpec(name, AssetKey([name])))
    return found


def checked_task_kwargs(where: str, task_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    from_base = {
        "retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay",
        "execution_timeout", "trigger_rule", "owner", "pool", "queue", "priority_weight",
        "on_execute_callback", "on_success_callback", "on_failure_callback",
        "on_retry_callback", "doc_md",
    }  # fmt: skip
    unknown = sorted(set(task_kwargs) - from_base)
    if unknown:
        raise DefinitionError(
            f"{where} got unknown argument(s) {', '.join(unknown)}; check the spelling "
            f"(task arguments accepted: {', '.join(sorted(from_base))})"
        )
    return dict(task_kwargs)


def _deps(where: str, deps: Sequence[Any] | None) -> list[AssetKey]:
    keys: list[AssetKey] = []
    for dep in deps or ():
        if isinstance(dep, AssetsDefinition):
            keys.extend(dep.keys)
        else:
            keys.append(as_asset_key(dep, f"{where}: deps entry"))
    return keys


def _build_asset(
    fn: Callable[..., Any],
    *,
    name: str | None,
    key: CoercibleToAssetKey | None,
    key_prefix: str | Sequence[str] | None,
    ins: Mapping[str, AssetIn] | None,
    deps: Sequence[Any] | None,
    group_name: str | None,
    tags: Mapping[str, str] | None,
    description: str | None,
    metadata: Mapping[str, Any] | None,
    code_version: str | None,
    io_manager_key: str | None,
    required_resource_keys: Sequence[str] | None,
    config_schema: Any,
    task_kwargs: Mapping[str, Any],
    check_specs: Sequence[AssetCheckSpec] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    automation_condition: AutomationCondition | None = None,
    backfill_policy: BackfillPolicy | None = None,
) -> AssetsDefinition:
    if key is not None and (name is not None or key_prefix is not None):
        raise DefinitionError(f"@asset {fn.__name__}: give key=, or name= / key_prefix=, not both")
    asset_key = (
        as_asset_key(key, f"@asset {fn.__name__}: key")
        if key is not None
        else AssetKey([name or fn.__name__]).with_prefix(key_prefix)
    )
    where = f"asset {asset_key.to_user_string()!r}"
    output = AssetOutputSpec(
        key=asset_key,
        output_name=DEFAULT_OUTPUT,
        group_name=group_name or DEFAULT_GROUP,
        description=description or (inspect.getdoc(fn) or None),
        metadata=dict(metadata or {}),
        code_version=code_version,
        io_manager_key=io_manager_key or DEFAULT_IO_MANAGER_KEY,
        tags=_tags(where, tags),
    )
    return AssetsDefinition(
        fn,
        name=asset_key.to_task_id(),
        outputs=[output],
        inputs=_inputs_of(fn, where, ins or {}),
        deps=_deps(where, deps),
        required_resource_keys=frozenset(required_resource_keys or ()),
        config_schema=config_schema,
        task_kwargs=checked_task_kwargs(where, task_kwargs),
        is_multi=False,
        check_specs=check_specs or (),
        partitions_def=partitions_def,
        automation_condition=automation_condition,
        backfill_policy=backfill_policy,
    )


def _tags(where: str, tags: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (tags or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise DefinitionError(f"{where}: tags must map strings to strings, got {k!r}: {v!r}")
        out[k] = v
    return out


def asset(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: str | Sequence[str] | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Sequence[Any] | None = None,
    group_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    code_version: str | None = None,
    io_manager_key: str | None = None,
    required_resource_keys: Sequence[str] | None = None,
    config_schema: Any = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    automation_condition: AutomationCondition | None = None,
    backfill_policy: BackfillPolicy | None = None,
    **task_kwargs: Any,
) -> Any:
    """Make a function a software-defined asset; its key is the function's name by default.

    Task arguments (``retries``, ``retry_delay``, ``execution_timeout``...) are
    passed on to the task that materializes it. ``check_specs`` are checks the
    function reports itself, yielding an ``AssetCheckResult`` for each.
    ``partitions_def`` partitions the asset: each run materializes one partition
    (``context.partition_key``), stored apart by its IO manager;
    ``backfill_policy=BackfillPolicy.single_run()`` lets a backfill run a
    range of them in one run (``context.partition_key_range``).
    ``automation_condition`` lets the scheduler materialize it on its own
    (``AutomationCondition.eager()``...).
    """
    options = dict(
        name=name, key=key, key_prefix=key_prefix, ins=ins, deps=deps, group_name=group_name,
        tags=tags, description=description, metadata=metadata, code_version=code_version,
        io_manager_key=io_manager_key, required_resource_keys=required_resource_keys,
        config_schema=config_schema, task_kwargs=task_kwargs, check_specs=check_specs,
        partitions_def=partitions_def,
        automation_condition=automation_condition,
        backfill_policy=backfill_policy,
    )  # fmt: skip
    if fn is not None:
        return _build_asset(fn, **options)
    return lambda f: _build_asset(f, **options)


def multi_asset(
    *,
    outs: Mapping[str, AssetOut],
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Sequence[Any] | None = None,
    group_name: str | None = None,
    description: str | None = None,
    required_resource_keys: Sequence[str] | None = None,
    config_schema: Any = None,
    can_subset: bool = False,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    automation_condition: AutomationCondition | None = None,
    backfill_policy: BackfillPolicy | None = None,
    **task_kwargs: Any,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """One function producing several assets, one per entry of ``outs``.

    The function returns a tuple of values in the order of ``outs`` (each may
    be an ``Output``), or yields ``Output(value, output_name=...)`` /
    ``MaterializeResult(asset_key=...)`` per asset.
    """
    if not outs:
        raise DefinitionError("@multi_asset needs outs={'name': AssetOut(...), ...}")

    def build(fn: Callable[..., Any]) -> AssetsDefinition:
        op_name = name or fn.__name__
        where = f"multi-asset {op_name!r}"
        specs = []
        for out_name, out in outs.items():
            key = (
                as_asset_key(out.key, f"{where}: outs[{out_name!r}].key")
                if out.key is not None
                else AssetKey([out_name])
            ).with_prefix(out.key_prefix)
            specs.append(
                AssetOutputSpec(
                    key=key,
                    output_name=out_name,
                    group_name=out.group_name or group_name or DEFAULT_GROUP,
                    description=out.description or description,
                    metadata=dict(out.metadata or {}),
                    code_version=out.code_version,
                    io_manager_key=out.io_manager_key or DEFAULT_IO_MANAGER_KEY,
                    tags=_tags(where, out.tags),
                    is_required=out.is_required,
                )
            )
        return AssetsDefinition(
            fn,
            name=op_name,
            outputs=specs,
            inputs=_inputs_of(fn, where, ins or {}),
            deps=_deps(where, deps),
            required_resource_keys=frozenset(required_resource_keys or ()),
            config_schema=config_schema,
            task_kwargs=checked_task_kwargs(where, task_kwargs),
            is_multi=True,
            can_subset=can_subset,
            check_specs=check_specs or (),
            partitions_def=partitions_def,
            automation_condition=automation_condition,
            backfill_policy=backfill_policy,
        )

    return build


__all__ = [
    "DEFAULT_GROUP",
    "AssetIn",
    "AssetInputSpec",
    "AssetMaterialization",
    "AssetOut",
    "AssetOutputSpec",
    "AssetsDefinition",
    "MaterializeResult",
    "Output",
    "asset",
    "multi_asset",
]
