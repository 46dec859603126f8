"""``AssetOperator``: the task that materializes one asset definition in a DAG.

It is a ``@task``-style operator whose arguments are the values of its
upstream assets, each loaded by the IO manager that stored it (in this run
or an earlier one), and whose return value is handed to the asset's IO
manager instead of the run's output store. For each asset it produced it
reports an ``AssetMaterialization`` (metadata, code version, data version,
where the value went) through ``ti.record_materialization``; the engine
records it in the asset catalog with the run's other records.

The design decision: the data version of a stored value is the SHA-256 of
its pickle unless the asset gives one (``Output(data_version=...)``), so two
materializations of equal data have equal versions whatever the IO manager.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from partita.definitions.asset import (
    AssetMaterialization,
    AssetOutputSpec,
    AssetsDefinition,
    MaterializeResult,
    Output,
)
from partita.definitions.asset_backfill_job import ASSET_SELECTION_KEY
from partita.definitions.asset_check_result import AssetCheckResult
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_key import AssetKey
from partita.definitions.automation_job import AUTOMATION_SELECTION_KEY
from partita.definitions.context import Context
from partita.definitions.io_manager import DEFAULT_IO_MANAGER_KEY, InputContext, IOManager
from partita.definitions.metadata import normalize_metadata
from partita.definitions.partition_mapping import PartitionMapping, default_partition_mapping
from partita.definitions.partitions import PartitionsDefinition
from partita.definitions.resources import ResourceRequirement
from partita.definitions.types import Check, build_checks, check_output, resolved_hints
from partita.exceptions import (
    AssetNotMaterializedError,
    FailTask,
    PartitaError,
    PartitionKeyError,
    SkipTask,
    ValueNotFoundError,
)
from partita.operators.check_results import blocking_failure, evaluation_of
from partita.operators.io import io_manager_of, output_context
from partita.operators.python import DecoratedPythonOperator

_NO_VALUE: Any = object()


@dataclass(frozen=True, slots=True)
class AssetInputPlan:
    """Where one argument of an asset comes from: the upstream key and its IO manager."""

    param: str
    key: AssetKey
    io_manager_key: str
    #: The upstream's definition metadata (given to the IO manager).
    metadata: dict[str, Any]
    #: True when no asset of the graph produces the key (loaded from an earlier run only).
    external: bool
    #: The upstream's partitions (None: not partitioned, one value).
    partitions_def: PartitionsDefinition | None = None
    #: Which upstream partitions the downstream's partition reads.
    mapping: PartitionMapping | None = None
    #: The downstream's own partitions.
    downstream_partitions_def: PartitionsDefinition | None = None


def data_version_of(value: Any) -> str | None:
    """A short SHA-256 of the pickled value; None when it cannot be pickled."""
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return None
    return hashlib.sha256(data).hexdigest()[:16]


def _value_check(definition: AssetsDefinition) -> Check | None:
    """The check of a single asset's value from the return annotation (``Output[X]`` checks X)."""
    if definition.is_multi:
        return None
    annotation = resolved_hints(definition.function).get("return")
    if annotation is None or annotation is MaterializeResult or annotation is type(None):
        return None
    if typing.get_origin(annotation) is Output or annotation is Output:
        args = typing.get_args(annotation)
        if not args:
            return None
        annotation = args[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and any(
        a is MaterializeResult or typing.get_origin(a) is Output
        for a in typing.get_args(annotation)
    ):
        return None
    return build_checks({"return": annotation}, [])[1]


def load_asset_input(context: Context, plan: AssetInputPlan, task_id: str, who: str) -> Any:
    """The value of upstream asset ``plan.key``, loaded by its IO manager for ``task_id``.

    From a partitioned upstream: the value of the one partition the mapping
    names, or ``{partition key: value}`` when it names several (or none), as
    for a run of a range of partitions, which reads those of each of its keys.
    """
    if plan.partitions_def is None or plan.mapping is None:
        return _load_one(context, plan, task_id, who, None)
    downstream_keys: list[str | None] = [None]
    if plan.downstream_partitions_def is not None:
        # a range run (a single-run backfill) reads the upstream partitions of each of its keys
        ranged = context.get("has_partition_key_range") and context.get("partition_keys")
        downstream_keys = list(ranged) if ranged else [context.get("partition_key")]
    keys: list[str] = []
    try:
        for downstream_key in downstream_keys:
            keys += plan.mapping.get_upstream_partition_keys(
                downstream_key, plan.downstream_partitions_def, plan.partitions_def,
                dynamic_partitions_store=context.get("instance"),
            )  # fmt: skip
    except PartitaError as exc:
        raise PartitionKeyError(
            f"{who}: input {plan.param!r} (asset {plan.key.to_user_string()!r}): {exc}"
        ) from None
    keys = list(dict.fromkeys(keys))
    values = {key: _load_one(context, plan, task_id, who, key) for key in keys}
    return values[keys[0]] if len(keys) == 1 else values


def _load_one(
    context: Context, plan: AssetInputPlan, task_id: str, who: str, partition_key: str | None
) -> Any:
    manager = io_manager_of(context, plan.io_manager_key, who)
    upstream = output_context(
        context,
        plan.key.to_task_id(),
        asset_key=plan.key,
        definition_metadata=plan.metadata,
        partition_key=partition_key,
    )
    request = InputContext(
        upstream, task_id, plan.param, upstream.dag_id, upstream.run_id,
        upstream.log, upstream.resources,
    )  # fmt: skip
    try:
        return manager.load_input(request)
    except (ValueNotFoundError, FileNotFoundError) as exc:
        message = _missing_message(context, plan, who, exc, partition_key)
        raise AssetNotMaterializedError(message) from exc


def _missing_message(
    context: Context, plan: AssetInputPlan, who: str, exc: Exception, partition_key: str | None
) -> str:
    fileloc = getattr(context.get("dag"), "fileloc", None)
    path = (
        os.path.relpath(fileloc)
        if fileloc and fileloc.endswith(".py") and os.path.exists(fileloc)
        else "PATH"
    )
    selection = plan.key.to_user_string()
    if partition_key is not None:
        return (
            f"{who} needs partition {partition_key!r} of upstream asset "
            f"{list(plan.key.path)!r}, which was never materialized (IO manager "
            f"{plan.io_manager_key!r} has no value for it: {exc}); materialize that partition "
            f"first (materialize([...], partition_key={partition_key!r}))"
        )
    return (
        f"{who} needs upstream asset {list(plan.key.path)!r}, which was never "
        f"materialized (IO manager {plan.io_manager_key!r} has no value for it: {exc}); run "
        f"`partita assets materialize {path} --select {selection}` first, or include it "
        "in the assets given to materialize()"
    )


def input_plan(
    param: str,
    key: AssetKey,
    graph: AssetGraph,
    spec: Any = None,
    downstream: PartitionsDefinition | None = None,
) -> AssetInputPlan:
    """How parameter ``param`` gets asset ``key``'s value: its IO manager, metadata and the
    partitions it reads (``downstream`` is the reading asset's partitions)."""
    upstream = graph.spec(key)
    producer = graph.by_key.get(key)
    partitions = producer.partitions_def if producer is not None else None
    mapping = getattr(spec, "partition_mapping", None) or default_partition_mapping(
        partitions, downstream
    )
    io_key = (spec.input_manager_key if spec is not None else None) or (
        upstream.io_manager_key if upstream is not None else DEFAULT_IO_MANAGER_KEY
    )
    if upstream is not None:
        metadata = dict(upstream.metadata)
    else:
        metadata = dict(spec.metadata) if spec is not None else {}
    return AssetInputPlan(
        param, key, io_key, metadata, upstream is None, partitions, mapping, downstream
    )


class AssetOperator(DecoratedPythonOperator):
    """Materializes the asset(s) of one ``AssetsDefinition``."""

    reads_own_generators = True

    ui_color = "#e8f0fe"
    template_fields: ClassVar[Sequence[str]] = ()
    unwraps_output = False  # an asset stores each Output's value and metadata itself

    def __init__(
        self,
        *,
        asset_definition: AssetsDefinition,
        asset_inputs: tuple[AssetInputPlan, ...] = (),
        selected_keys: frozenset[AssetKey] | None = None,
        **kwargs: Any,
    ) -> None:
        placeholders = {plan.param: plan for plan in asset_inputs}
        kwargs.setdefault("op_kwargs", placeholders)
        super().__init__(**kwargs)
        self.asset_definition = asset_definition
        self.asset_inputs = asset_inputs
        outputs = asset_definition.outputs.values()
        #: The keys this task materializes: all of the definition's unless it was subset.
        self.selected_keys = frozenset(
            asset_definition.keys if selected_keys is None else selected_keys
        )
        self.selected_outputs = tuple(o for o in outputs if o.key in self.selected_keys)
        self.is_subset = len(self.selected_outputs) < len(outputs)
        self._selected_output_names = frozenset(o.output_name for o in self.selected_outputs)
        self.output_check = None  # checked per asset value, after Output is unwrapped
        self.value_check = _value_check(asset_definition)
        io_keys = [o.io_manager_key for o in self.selected_outputs]
        io_keys += [plan.io_manager_key for plan in asset_inputs]
        self.resource_requirements = (
            *self.resource_requirements,
            *(ResourceRequirement(k, None, IOManager) for k in dict.fromkeys(io_keys)),
        )

    @property
    def asset_keys(self) -> list[AssetKey]:
        return [k for k in self.asset_definition.keys if k in self.selected_keys]

    @property
    def partitioned_keys(self) -> list[AssetKey]:
        """The keys this task materializes per partition (none when it is not partitioned)."""
        return self.asset_keys if self.asset_definition.partitions_def is not None else []

    def describe(self) -> str:
        definition = self.asset_definition
        if definition.is_multi:
            return f"multi-asset {definition.name!r}"
        return f"asset {definition.key.to_user_string()!r}"

    # -- inputs ---------------------------------------------------------------------------
    def arguments(self, context: Context) -> tuple[list[Any], dict[str, Any]]:
        return [], {plan.param: self._load(context, plan) for plan in self.asset_inputs}

    def _load(self, context: Context, plan: AssetInputPlan) -> Any:
        return load_asset_input(context, plan, self.task_id, self.describe())

    # -- outputs --------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        conf = context["dag_run"].conf
        requested = conf.get(AUTOMATION_SELECTION_KEY) or conf.get(ASSET_SELECTION_KEY)
        if requested is not None and not {k.to_user_string() for k in self.selected_keys} & set(
            requested
        ):
            raise SkipTask("not among the assets this run was asked to materialize")
        context["selected_asset_keys"] = self.selected_keys
        context["selected_output_names"] = self._selected_output_names
        returned = super().execute(context)
        ti = context["ti"]
        items = self._items(returned)
        results = list(self._results([i for i in items if not isinstance(i, AssetCheckResult)]))
        for spec, *_ in results if self.is_subset else ():
            if spec.key not in self.selected_keys:
                raise PartitaError(
                    f"{self.describe()} produced asset {spec.key.to_user_string()!r}, which is "
                    "not selected in this run; yield Output(...) only for the outputs in "
                    "context.selected_output_names"
                )
        produced: set[AssetKey] = set()
        ranged = context.get("has_partition_key_range") and self.partitioned_keys
        for spec, value, metadata, data_version in results:
            produced.add(spec.key)
            if ranged:  # one run of a range of partitions: each is stored and recorded apart
                for stored in self._store_range(context, spec, value, metadata, data_version):
                    ti.record_materialization(stored)
                continue
            ti.record_materialization(self._store(context, spec, value, metadata, data_version))
        missing = [
            o.key.to_user_string()
            for o in self.selected_outputs
            if o.is_required and o.key not in produced
        ]
        if missing:
            raise PartitaError(
                f"{self.describe()} did not produce asset(s) {', '.join(missing)}; return a "
                "value for each output (a tuple in the order of outs) or yield Output(value, "
                "output_name=...) for each"
            )
        failure = self._report_checks(ti, items)
        if failure is not None:
            raise failure
        return None

    def _store_range(
        self, context: Context, spec: AssetOutputSpec, value: Any, metadata: dict[str, Any],
        data_version: str | None,
    ) -> list[AssetMaterialization]:  # fmt: skip
        """Store the value of each partition of a range run: ``{partition key: value}``."""
        keys: list[str] = context["partition_keys"]
        if value is not _NO_VALUE and self.value_check is not None:  # the whole value's type
            value = check_output(self.value_check, value, self.describe)
        if value is not _NO_VALUE and (not isinstance(value, Mapping) or set(value) != set(keys)):
            got = (
                f"a dict with keys {', '.join(sorted(map(str, value))[:5])}"
                if isinstance(value, Mapping) else f"a {type(value).__name__}"
            )  # fmt: skip
            first, last = keys[0], keys[-1]
            raise PartitaError(
                f"{self.describe()} ran for partitions {first}...{last} in one run (its "
                f"backfill_policy), and its IO manager stores each partition apart, so it must "
                f"return {{partition key: value}} with one entry per key of "
                f"context.partition_keys ({len(keys)} keys), got {got}; or write the data itself "
                "and return MaterializeResult(...)"
            )
        return [
            self._store(context, spec, value[key] if value is not _NO_VALUE else _NO_VALUE,
                        metadata, data_version, key, checked=True)
            for key in keys
        ]  # fmt: skip

    def _store(
        self,
        context: Context,
        spec: AssetOutputSpec,
        value: Any,
        metadata: dict[str, Any],
        data_version: str | None,
        partition_key: str | None = None,
        checked: bool = False,
    ) -> AssetMaterialization:
        """Hand ``value`` to its IO manager; its materialization (of ``partition_key``, else
        the run's partition)."""
        if partition_key is None:
            partition_key = context.get("partition_key")
        location = None
        if value is not _NO_VALUE:
            if self.value_check is not None and not checked:
                value = check_output(self.value_check, value, self.describe)
            manager = io_manager_of(context, spec.io_manager_key, self.describe())
            partitioned = self.asset_definition.partitions_def is not None
            out = output_context(
                context,
                self.task_id,
                spec.output_name,
                asset_key=spec.key,
                definition_metadata=spec.metadata,
                partition_key=partition_key if partitioned else None,
            )
            manager.handle_output(out, value)
            location = out.location
            metadata = {**out.added_metadata, **metadata}
            if data_version is None:
                data_version = data_version_of(value)
        partition = partition_key if self.partitioned_keys else None
        return AssetMaterialization(
            spec.key, normalize_metadata(metadata), spec.code_version, data_version, location,
            partition,
        )  # fmt: skip

    def _report_checks(self, ti: Any, items: list[Any]) -> FailTask | None:
        """Record the results of the asset's own checks; the error if a blocking one failed."""
        specs = [s for s in self.asset_definition.check_specs if s.asset_key in self.selected_keys]
        found = [i for i in items if isinstance(i, AssetCheckResult)]
        for item in items:
            if isinstance(item, MaterializeResult):
                found.extend(item.check_results)
        if not specs and not found:
            return None
        evaluations = [evaluation_of(result, specs, self.describe()) for result in found]
        for evaluation in evaluations:
            ti.record_check_evaluation(evaluation)
        reported = {(e.asset_key, e.check_name) for e in evaluations}
        unreported = [s.name for s in specs if (s.asset_key, s.name) not in reported]
        if unreported:
            raise PartitaError(
                f"{self.describe()} did not report check(s) {', '.join(unreported)}; yield "
                "AssetCheckResult(...) for each of its check_specs (or return them in "
                "MaterializeResult(check_results=[...]))"
            )
        return blocking_failure(self.describe(), evaluations, specs)

    def _items(self, returned: Any) -> list[Any]:
        """What the function returned, as a list of items (values, Outputs, results...)."""
        specs = list(self.asset_definition.outputs.values())
        if isinstance(returned, types.GeneratorType):
            return list(returned)
        if len(specs) > 1:
            if not isinstance(returned, tuple) or len(returned) != len(specs):
                raise PartitaError(
                    f"{self.describe()} must return a tuple of {len(specs)} values (in the order "
                    f"of outs: {', '.join(self.asset_definition.outputs)}) or yield "
                    f"Output(value, output_name=...); it returned {type(returned).__name__}"
                )
            items = list(returned)
            for spec, item in zip(specs, items, strict=True):
                if isinstance(item, Output) and item.output_name == "result":
                    item.output_name = spec.output_name
            return items
        return [returned]

    def _results(
        self, items: list[Any]
    ) -> Iterator[tuple[AssetOutputSpec, Any, dict[str, Any], str | None]]:
        outputs = self.asset_definition.outputs
        by_key = {o.key: o for o in outputs.values()}
        specs = list(outputs.values())
        for index, item in enumerate(items):
            found: AssetOutputSpec | None
            if isinstance(item, MaterializeResult):
                key = item.asset_key or specs[min(index, len(specs) - 1)].key
                found = by_key.get(key)
                if found is None:
                    raise PartitaError(
                        f"{self.describe()} returned a MaterializeResult for asset "
                        f"{key!r}, which it does not define"
                    )
                yield found, _NO_VALUE, item.metadata, item.data_version
            elif isinstance(item, Output):
                found = outputs.get(item.output_name)
                if found is None and len(specs) == 1:
                    found = specs[0]
                if found is None:
                    raise PartitaError(
                        f"{self.describe()} returned Output for {item.output_name!r}, which is not "
                        f"one of its outputs ({', '.join(outputs)})"
                    )
                yield found, item.value, item.metadata, item.data_version
            else:
                yield specs[min(index, len(specs) - 1)], item, {}, None


def build_asset_task(
    definition: AssetsDefinition,
    graph: AssetGraph,
    selected_keys: frozenset[AssetKey] | None = None,
) -> AssetOperator:
    """The task of ``definition`` in a DAG built over ``graph``, materializing ``selected_keys``."""
    partitions = definition.partitions_def
    plans = [
        input_plan(param, spec.key, graph, spec, partitions)
        for param, spec in definition.inputs.items()
    ]
    options: dict[str, Any] = {
        "doc_md": None if definition.is_multi else definition.spec(definition.key).description,
        **definition.task_kwargs,
    }
    return AssetOperator(
        task_id=definition.task_id(),
        python_callable=definition.function,
        asset_definition=definition,
        asset_inputs=tuple(plans),
        selected_keys=selected_keys,
        config_schema=definition.config_schema,
        required_resource_keys=definition.required_resource_keys,
        **options,
    )


__all__ = [
    "AssetInputPlan",
    "AssetOperator",
    "build_asset_task",
    "data_version_of",
    "input_plan",
    "load_asset_input",
]
