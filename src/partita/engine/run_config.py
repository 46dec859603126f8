"""Run config: validated against every task's ``Config`` before a run starts.

The run config is the run's conf (``run_conf``, ``--conf``): its ``"tasks"``
key gives each task's config, its ``"resources"`` key overrides resources'
fields::

    {"tasks": {"say_hello": {"config": {"word": "hi"}}},
     "resources": {"db": {"config": {"url": "sqlite://"}}}}

A task group's tasks may be given by their full id (``"add_n_times_m.add_n"``)
or nested as the group's own ``"tasks"``; an asset by its task id or its key
written ``schema/table``. A DAG with a ``ConfigMapping`` takes its own config
instead and maps it onto its tasks'; a DAG whose ``config`` is a dict (or a
``RunConfig``) uses it as defaults under the run's conf.

The design decision: everything is checked here, once, before any record of
the run is written: a missing required field, a wrong type, an unknown task
or field all raise ``RunConfigError`` naming the DAG, the task (or asset) and
the field, with the run config to write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from partita.definitions.config import RESOURCES_KEY, TASKS_KEY, ConfigMapping, run_config_dict
from partita.definitions.dag import DAG
from partita.exceptions import RunConfigError

_DAGSTER_KEYS = ("ops", "solids")


@dataclass
class ResolvedRunConfig:
    """The config of each task that takes one, and resource field overrides, by key."""

    tasks: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "<config>"
        parts.append(f"field {where!r}: {error['msg']}")
    return "; ".join(parts)


def _apply_mapping(dag: DAG, mapping: ConfigMapping, conf: Mapping[str, Any]) -> dict[str, Any]:
    schema = mapping.schema_class(dag.dag_id)
    outer: Any = dict(conf)
    if schema is not None:
        try:
            outer = schema.model_validate(conf)
        except ValidationError as exc:
            fields = ", ".join(schema.model_fields) or "none"
            raise RunConfigError(
                f"{dag.label}: its config is invalid: {_errors(exc)} (its config fields "
                f"are: {fields}; give them as the run conf, e.g. --conf '{{...}}')"
            ) from None
    try:
        mapped = mapping.config_fn(outer)
    except Exception as exc:
        raise RunConfigError(
            f"{dag.label}: its config mapping raised {type(exc).__name__}: {exc}"
        ) from exc
    mapped = run_config_dict(mapped)
    if not isinstance(mapped, Mapping):
        raise RunConfigError(
            f"{dag.label}: its config mapping must return a dict of task configs, got "
            f"{type(mapped).__name__}"
        )
    if TASKS_KEY in mapped or RESOURCES_KEY in mapped:
        return dict(mapped)
    return {TASKS_KEY: dict(mapped)}


def _flatten(tasks: Any, prefix: str, where: str) -> dict[str, Mapping[str, Any]]:
    if not isinstance(tasks, Mapping):
        raise RunConfigError(
            f"{where}: run config key {TASKS_KEY!r} must map task ids to "
            f"{{'config': {{...}}}}, got {type(tasks).__name__}"
        )
    flat: dict[str, Mapping[str, Any]] = {}
    for task_id, entry in tasks.items():
        full = f"{prefix}{task_id}"
        if not isinstance(entry, Mapping):
            raise RunConfigError(
                f"{where}: run config for task {full!r} must be {{'config': {{...}}}}, got "
                f"{entry!r}"
            )
        unknown = sorted(set(entry) - {"config", TASKS_KEY})
        if unknown:
            raise RunConfigError(
                f"{where}: run config for task {full!r} has unknown key(s) "
                f"{', '.join(map(repr, unknown))}; write {{'config': {{...}}}}"
            )
        if TASKS_KEY in entry:  # a task group's tasks, nested
            flat.update(_flatten(entry[TASKS_KEY], f"{full}.", where))
        if "config" in entry:
            flat[full] = entry
    return flat


def _task_entry(
    flat: dict[str, Mapping[str, Any]], task_id: str, asset_names: list[str]
) -> Mapping[str, Any] | None:
    for name in (task_id, *asset_names):
        if name in flat:
            return flat.pop(name)
    return None


def _asset_names(task: Any) -> list[str]:
    definition = getattr(task, "asset_definition", None)
    if definition is None:
        return []
    return [k.to_user_string() for k in definition.keys]


def resolve_run_config(dag: DAG, conf: Mapping[str, Any]) -> ResolvedRunConfig:
    """Validate the run config in ``conf`` against the DAG's tasks; ``RunConfigError`` if wrong."""
    where = dag.label
    config_tasks = [t for t in dag.task_dict.values() if t.config_class is not None]
    run_config: Mapping[str, Any] = conf
    if isinstance(dag.config, ConfigMapping):
        run_config = _apply_mapping(dag, dag.config, conf)
    elif dag.config is not None:
        defaults = run_config_dict(dag.config)
        if not isinstance(defaults, Mapping):
            raise RunConfigError(f"{where}: config must be a dict, a RunConfig or a ConfigMapping")
        run_config = _merge(defaults, conf)
    if TASKS_KEY not in run_config:
        for old in _DAGSTER_KEYS:
            if isinstance(run_config.get(old), Mapping):
                raise RunConfigError(
                    f"{where}: run config key {old!r} is Dagster's; partita calls it "
                    f"{TASKS_KEY!r}: {{'tasks': {{'<task id>': {{'config': {{...}}}}}}}}"
                )
    if not config_tasks and TASKS_KEY not in run_config and RESOURCES_KEY not in run_config:
        return ResolvedRunConfig()
    flat = _flatten(run_config.get(TASKS_KEY) or {}, "", where)
    resolved = ResolvedRunConfig()
    for task in config_tasks:
        entry = _task_entry(flat, task.task_id, _asset_names(task))
        raw = dict((entry or {}).get("config") or {})
        resolved.tasks[task.task_id] = _validate(where, task.task_id, task.config_class, raw)
    for task_id in flat:
        if task_id in dag.task_dict:
            raise RunConfigError(
                f"{where}: run config gives config to task {task_id!r}, which takes none; "
                "declare it with a Config-annotated parameter or config_schema=, or remove it"
            )
        with_config = ", ".join(t.task_id for t in config_tasks) or "none"
        raise RunConfigError(
            f"{where}: run config names task {task_id!r}, which the DAG does not have "
            f"(its tasks with config: {with_config})"
        )
    resolved.resources = _resource_overrides(where, run_config.get(RESOURCES_KEY) or {})
    return resolved


def _validate(where: str, task_id: str, config_class: Any, raw: dict[str, Any]) -> BaseModel:
    try:
        validated: BaseModel = config_class.model_validate(raw)
        return validated
    except ValidationError as exc:
        fields = ", ".join(config_class.model_fields) or "none"
        raise RunConfigError(
            f"{where}: task {task_id!r}: config is invalid: {_errors(exc)}; give it as "
            f"run config {{'tasks': {{{task_id!r}: {{'config': {{...}}}}}}}} (its fields: "
            f"{fields})"
        ) from None


def _resource_overrides(where: str, resources: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(resources, Mapping):
        raise RunConfigError(f"{where}: run config key 'resources' must be a dict")
    out: dict[str, dict[str, Any]] = {}
    for key, entry in resources.items():
        config = entry.get("config") if isinstance(entry, Mapping) else None
        if not isinstance(config, Mapping):
            raise RunConfigError(
                f"{where}: run config for resource {key!r} must be {{'config': {{...}}}}"
            )
        out[str(key)] = dict(config)
    return out


__all__ = ["ResolvedRunConfig", "resolve_run_config"]
