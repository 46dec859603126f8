"""The launchpad's run config: a scaffold of every task's ``Config`` and one field per simple field.

The design decision: the run config is edited as JSON (the shape ``partita
run --conf`` and the API take: ``{"tasks": {"<task>": {"config": {...}}}}``),
pre-filled with every Config-taking task's fields, defaults filled in and a
required field without a default written ``null`` (so a run sent as it is
fails naming that field). Each field whose JSON schema is a plain type gets
a generated input too; its value replaces the editor's value for that field.
The server never validates on its own: the merged conf goes to ``queue_run``,
which calls ``resolve_run_config`` as ``partita run`` and the API do; the
task's ``Config`` class only re-reads the refused conf to mark the fields.
A DAG whose config goes through a ``ConfigMapping`` gets the editor only,
scaffolded with the mapping's own fields (the conf's top-level keys).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from partita.definitions.config import TASKS_KEY, ConfigMapping, run_config_dict
from partita.engine.run_config import _merge
from partita.schemas import ParamModel

CONFIG_PREFIX = "config."
EDITOR = "run_config"


def config_tasks(dag: Any) -> dict[str, type[BaseModel]]:
    """The DAG's tasks that take a ``Config``, by task id (none when a ConfigMapping maps it)."""
    if isinstance(dag.config, ConfigMapping):
        return {}
    return {t.task_id: t.config_class for t in dag.task_dict.values() if t.config_class is not None}


def _plain(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A property's schema with ``$ref`` resolved and ``X | None`` read as ``X``."""
    if "$ref" in schema:
        schema = {**defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), **schema}
        schema.pop("$ref")
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        merged = {**schema, **_plain(options[0], defs)}
        merged.pop("anyOf")
        return merged
    return schema


def config_models(tasks: dict[str, type[BaseModel]]) -> dict[str, ParamModel]:
    """One model per Config field, named ``task.field``: required, default, JSON schema."""
    models = {}
    for task_id, config_class in tasks.items():
        schema = config_class.model_json_schema()
        defs = schema.get("$defs", {})
        for name, info in config_class.model_fields.items():
            prop = _plain(dict(schema.get("properties", {}).get(name, {})), defs)
            default = None if info.is_required() else info.get_default(call_default_factory=True)
            models[f"{task_id}.{name}"] = ParamModel(
                required=info.is_required(),
                default=_jsonable(default),
                description=info.description,
                json_schema=prop,
            )
    return models


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=str))
    except ValueError:
        return str(value)


def takes_config(dag: Any) -> bool:
    """Whether the launchpad shows a run-config editor: a task takes a Config, or a mapping."""
    return isinstance(dag.config, ConfigMapping) or bool(config_tasks(dag))


def _mapping_scaffold(dag: Any, mapping: ConfigMapping) -> str:
    """A ConfigMapping's own config (the run conf's top-level keys), defaults filled in."""
    schema = mapping.schema_class(dag.dag_id)
    fields = schema.model_fields if schema is not None else {}
    return json.dumps(
        {
            name: None
            if info.is_required()
            else _jsonable(info.get_default(call_default_factory=True))
            for name, info in fields.items()
        },
        indent=2,
    )


def scaffold(dag: Any, tasks: dict[str, type[BaseModel]], models: dict[str, ParamModel]) -> str:
    """The editor's first text: every task's config, defaults filled in, required as null."""
    if isinstance(dag.config, ConfigMapping):
        return _mapping_scaffold(dag, dag.config)
    configs: dict[str, dict[str, Any]] = {task_id: {} for task_id in tasks}
    for key, model in models.items():
        task_id, name = key.rsplit(".", 1)
        configs[task_id][name] = model.default
    run_config = {TASKS_KEY: {task_id: {"config": c} for task_id, c in configs.items()}}
    defaults = run_config_dict(dag.config) if dag.config is not None else None
    if isinstance(defaults, Mapping):
        run_config = _merge(run_config, defaults)
    return json.dumps(run_config, indent=2)


def read_editor(text: str) -> dict[str, Any]:
    """The editor's run config; ValueError saying what is wrong with it."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the run config is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"the run config must be a JSON object, got {type(value).__name__}")
    return value


def with_fields(run_config: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``run_config`` with each ``task.field`` value of the generated fields set in it."""
    for key, value in values.items():
        task_id, name = key.rsplit(".", 1)
        tasks = run_config.setdefault(TASKS_KEY, {})
        if not isinstance(tasks, dict):
            return run_config  # resolve_run_config names the bad key
        entry = tasks.setdefault(task_id, {})
        if isinstance(entry, dict):
            config = entry.setdefault("config", {})
            if isinstance(config, dict):
                config[name] = value
    return run_config


def field_errors(tasks: dict[str, type[BaseModel]], conf: Mapping[str, Any]) -> dict[str, str]:
    """The refused conf's errors by ``task.field``, read again with each task's Config class."""
    errors: dict[str, str] = {}
    entries = conf.get(TASKS_KEY)
    if not isinstance(entries, Mapping):
        return errors
    for task_id, config_class in tasks.items():
        entry = entries.get(task_id)
        config = entry.get("config") if isinstance(entry, Mapping) else None
        try:
            config_class.model_validate(config if isinstance(config, Mapping) else {})
        except ValidationError as exc:
            for error in exc.errors():
                if error["loc"]:
                    errors.setdefault(f"{task_id}.{error['loc'][0]}", error["msg"])
    return errors


__all__ = [
    "CONFIG_PREFIX",
    "EDITOR",
    "config_models",
    "config_tasks",
    "field_errors",
    "read_editor",
    "scaffold",
    "takes_config",
    "with_fields",
]
