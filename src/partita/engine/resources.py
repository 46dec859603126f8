"""The resources of one run: gathered, checked and configured before it starts, opened once.

``RunResources`` takes the DAG's resources (its own, and those its
``Definitions`` bound to it) with those given for this run on top, and before
any record of the run is written: adds the default IO manager when an asset
or an IO-managed task needs one, checks that every resource a task needs is
there (naming the task and the resource when not), reads ``EnvVar`` fields
and applies the run config's resource overrides. ``open()`` then enters the
resources that are context managers and that some task needs, once, before
the first task; ``close()`` exits them in reverse order, whether the run
succeeded or not.

The design decision: a context-manager resource no task asks for is never
entered (so binding a database resource to a whole code location costs
nothing for DAGs that do not use it); plain objects are always available in
``context.resources``. The default IO manager keeps values in memory for an
in-memory store (``dag.test()``, ``materialize``) and in files under the
store's storage folder for a persistent one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import Any

from partita.definitions.asset_key import AssetKey, as_asset_key
from partita.definitions.dag import DAG
from partita.definitions.io_manager import (
    DEFAULT_IO_MANAGER_KEY,
    InputContext,
    IOManager,
    OutputContext,
    io_manager_key_of,
)
from partita.definitions.resources import (
    Resource,
    ResourceRequirement,
    ResourcesView,
    find_resource,
    is_context_manager,
)
from partita.definitions.xcom_arg import RETURN_KEY
from partita.engine.partition_context import partition_keys_of_run
from partita.engine.work import OutputAccess
from partita.exceptions import DefinitionError, PartitaError, ResourceError, ValueNotFoundError
from partita.storage.base import Storage
from partita.storage.io_managers import FilesystemIOManager, InMemoryIOManager

ValueLoader = Callable[[Any, str, int], tuple[bool, Any]]


def default_io_manager(storage: Storage) -> IOManager:
    """Files under the store's folder for a persistent store; memory otherwise."""
    if storage.persistent:
        base = storage.storage_dir
        io_manager = FilesystemIOManager(base_dir=str(base) if base is not None else None)
        return io_manager if storage.signer is None else io_manager.signed_with(storage.signer)
    return InMemoryIOManager()


def _who(task: Any) -> str:
    describe = getattr(task, "describe", None)
    return describe() if callable(describe) else f"task {task.task_id!r}"


def _is_io_manager(value: Any) -> bool:
    return callable(getattr(value, "handle_output", None)) and callable(
        getattr(value, "load_input", None)
    )


class RunResources:
    """One run's resources: build before the run, ``open()`` at its start, ``close()`` after."""

    def __init__(
        self,
        dag: DAG,
        storage: Storage,
        given: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.dag = dag
        declared: dict[str, Any] = {**dag.resources, **(given or {})}
        requirements = [
            (task, req) for task in dag.task_dict.values() for req in task.resource_requirements
        ]
        if DEFAULT_IO_MANAGER_KEY not in declared and any(
            r.key == DEFAULT_IO_MANAGER_KEY for _, r in requirements
        ):
            declared[DEFAULT_IO_MANAGER_KEY] = default_io_manager(storage)
        self._check(requirements, declared)
        self.configured = self._configure(declared, overrides or {})
        self.needed = self._needed(requirements, self.configured)
        self.values: dict[str, Any] = {}
        self._stack: ExitStack | None = None

    # -- before the run ---------------------------------------------------------------------
    def _check(
        self, requirements: list[tuple[Any, ResourceRequirement]], declared: dict[str, Any]
    ) -> None:
        for task, req in requirements:
            if req.resource_type is IOManager:  # an IO manager is named by its key, never by type
                found, value = req.key in declared, declared.get(req.key)
            else:
                found, value = find_resource(declared, req.key, req.resource_type)
            if not found:
                if not req.required:
                    continue
                known = ", ".join(sorted(declared)) or "none"
                param = f" (parameter {req.param!r})" if req.param else ""
                kind = f" of type {req.resource_type.__name__}" if req.resource_type else ""
                raise ResourceError(
                    f"{self.dag.label}: {_who(task)} needs resource {req.key!r}{kind}"
                    f"{param}, which nothing provides (this run's resources: {known}); provide "
                    f"it in Definitions(resources={{{req.key!r}: ...}}), "
                    f"@dag(resources=...), or resources= of materialize() / run_dag() / "
                    f"dag.test()"
                )
            expected = req.resource_type
            if expected is IOManager:
                if not _is_io_manager(value):
                    raise ResourceError(
                        f"{self.dag.label}: {_who(task)} uses resource {req.key!r} as an IO "
                        f"manager, but it is a {type(value).__name__} without handle_output / "
                        "load_input; give an IOManager subclass"
                    )
            elif expected is not None and not isinstance(value, expected):
                raise ResourceError(
                    f"{self.dag.label}: {_who(task)} expects resource {req.key!r} to be "
                    f"a {expected.__name__}, but it is a {type(value).__name__}"
                )

    def _configure(
        self, declared: dict[str, Any], overrides: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, Any]:
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise ResourceError(
                f"{self.dag.label}: run config configures resource(s) "
                f"{', '.join(map(repr, unknown))}, which the run does not have "
                f"(its resources: {', '.join(sorted(declared)) or 'none'})"
            )
        configured: dict[str, Any] = {}
        for key, value in declared.items():
            if isinstance(value, Resource):
                try:
                    value = value.resolved(overrides.get(key))
                except ResourceError as exc:
                    raise ResourceError(f"{self.dag.label}: resource {key!r}: {exc}") from None
            elif key in overrides:
                raise ResourceError(
                    f"{self.dag.label}: resource {key!r} is a {type(value).__name__}, "
                    "not a Resource with fields, so the run config cannot configure it"
                )
            configured[key] = value
        return configured

    @staticmethod
    def _needed(
        requirements: list[tuple[Any, ResourceRequirement]], configured: dict[str, Any]
    ) -> set[str]:
        needed: set[str] = set()
        for _, req in requirements:
            if req.key in configured:
                needed.add(req.key)
            elif req.resource_type is not None and req.resource_type is not IOManager:
                needed.update(k for k, v in configured.items() if isinstance(v, req.resource_type))
        return needed

    # -- the run ----------------------------------------------------------------------------
    def open(self) -> ResourcesView | None:
        """Enter the needed context-manager resources; the view tasks see (None: no resources)."""
        if not self.configured:
            return None
        stack = ExitStack()
        self._stack = stack
        try:
            for key, value in self.configured.items():
                if not is_context_manager(value):
                    self.values[key] = value
                elif key in self.needed:
                    try:
                        self.values[key] = stack.enter_context(value)
                    except Exception as exc:
                        raise ResourceError(
                            f"{self.dag.label}: resource {key!r} failed to open: "
                            f"{type(exc).__name__}: {exc}"
                        ) from exc
        except BaseException:
            self.close()
            raise
        return ResourcesView(self.values)

    def close(self) -> None:
        """Exit the opened resources, newest first (a teardown error is raised after all ran)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def __enter__(self) -> ResourcesView | None:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- after the run ----------------------------------------------------------------------
    def value_loader(self, run_id: str, partition_key: str | None = None) -> ValueLoader:
        """Loads an asset's or IO-managed task's value of run ``run_id`` (for ``RunResult``);
        a partitioned asset's value is that of the run's partition ``partition_key``
        (of a range ``FIRST...LAST``: ``{partition key: value}``)."""
        values = dict(self.values) or dict(self.configured)
        dag = self.dag

        def load(target: Any, key: str, map_index: int = -1) -> tuple[bool, Any]:
            if isinstance(target, str):
                task = dag.task_dict.get(target)
                if task is None:  # maybe an asset of a multi-asset task, by its key
                    try:
                        target = AssetKey.from_user_string(target)
                    except DefinitionError:
                        return False, None
                    if target not in dag.asset_tasks:
                        return False, None
                elif getattr(task, "asset_definition", None) is not None:
                    if task.asset_definition.is_multi:  # type: ignore[attr-defined]
                        return False, None
                    target = task.asset_definition.key  # type: ignore[attr-defined]
                else:
                    io_key = io_manager_key_of(task)
                    if io_key is None:
                        return False, None
                    out = OutputContext(dag.dag_id, run_id, target, key, map_index=map_index)
                    return _load(values, io_key, out)
            asset_key: AssetKey = as_asset_key(target)
            task_id = dag.asset_tasks.get(asset_key)
            if task_id is None:
                known = ", ".join(k.to_user_string() for k in dag.asset_tasks) or "none"
                raise PartitaError(
                    f"run {run_id!r} did not materialize asset {asset_key.to_user_string()!r}; "
                    f"its assets are: {known}"
                )
            definition = dag.task_dict[task_id].asset_definition  # type: ignore[attr-defined]
            spec = definition.spec(asset_key)
            partitioned = definition.partitions_def is not None
            keys = partition_keys_of_run(definition.partitions_def, partition_key)
            if partitioned and len(keys) > 1:  # a range run's: {partition key: value}
                found = {}
                for one in keys:
                    out = OutputContext(
                        dag.dag_id, run_id, task_id, spec.output_name, asset_key,
                        definition_metadata=spec.metadata, partition_key=one,
                    )  # fmt: skip
                    stored, found[one] = _load(values, spec.io_manager_key, out)
                    if not stored:
                        return False, None
                return True, found
            out = OutputContext(
                dag.dag_id, run_id, task_id, spec.output_name, asset_key,
                definition_metadata=spec.metadata,
                partition_key=partition_key if partitioned else None,
            )  # fmt: skip
            return _load(values, spec.io_manager_key, out)

        return load


def _load(values: Mapping[str, Any], io_key: str, out: OutputContext) -> tuple[bool, Any]:
    manager = values.get(io_key)
    if manager is None or not _is_io_manager(manager):
        return False, None
    request = InputContext(out, out.task_id, out.name or RETURN_KEY, out.dag_id, out.run_id)
    try:
        return True, manager.load_input(request)
    except (ValueNotFoundError, FileNotFoundError):
        return False, None


def io_aware_pull(
    dag: DAG, run_id: str, outputs: OutputAccess, resources: Mapping[str, Any] | None
) -> Callable[[str, int, str], tuple[bool, Any]]:
    """``pull(task_id, map_index, key)``: a task's output, from its IO manager if it has one.

    Used where the engine itself reads outputs (to expand a mapped task over
    them). A mapped task's whole output (``map_index`` -1) is every
    instance's value in order; the run's output store knows how many.
    """
    values: Mapping[str, Any] = resources or {}

    def pull(task_id: str, map_index: int, key: str) -> tuple[bool, Any]:
        io_key = io_manager_key_of(dag.task_dict[task_id])
        if io_key is None:
            return outputs.pull(task_id, map_index, key)
        if map_index == -1:
            stored = outputs.pull(task_id, -1, key)[1]
            if getattr(stored, "__partita_lazy_sequence__", False):  # a mapped task's instances
                return True, [pull(task_id, i, key)[1] for i in range(len(stored))]
        out = OutputContext(dag.dag_id, run_id, task_id, key, map_index=map_index)
        return _load(values, io_key, out)

    return pull


__all__ = ["RunResources", "ValueLoader", "default_io_manager", "io_aware_pull"]
