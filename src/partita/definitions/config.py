"""Config: typed settings of a task or asset, given per run (Dagster's config_schema, run config).

A task takes config by a parameter annotated with a ``Config`` subclass (a
pydantic model), or with ``config_schema={"n": int}`` and ``context.config``.
A run gives it in its run config::

    {"tasks": {"say_hello": {"config": {"word": "hi"}}}}
    RunConfig(tasks={"say_hello": SayHelloConfig(word="hi")})

A DAG can map a simpler run-level config onto its tasks' config with
``ConfigMapping`` (a job whose one setting feeds several tasks, as Dagster's
``config_mapping`` does).

The design decision: the run config of a run is its ``conf`` (the same JSON
object that overrides params), so it is stored with the run, shown by
``partita runs show`` and given on the command line with ``--conf``; the
engine validates it against every task's ``Config`` before the run starts
(``engine/run_config.py``).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from partita.exceptions import DefinitionError

#: Top-level keys of a run config that partita reads; everything else is plain run conf.
TASKS_KEY = "tasks"
RESOURCES_KEY = "resources"


class Config(BaseModel):
    """Base class of a task's or asset's config: declare fields as on a pydantic model.

    ``config["n"]`` reads a field as well as ``config.n`` does (for code
    written against Dagster's ``context.op_config["n"]``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __getitem__(self, name: str) -> Any:
        if name not in type(self).model_fields:
            raise KeyError(name)
        return getattr(self, name)

    def __reduce__(self) -> Any:
        """A class made from ``config_schema`` has no importable name: pickle how to remake it.

        So the validated config of a task crosses to a worker process.
        """
        recipe = type(self).__dict__.get("_partita_schema_recipe")
        if recipe is None:
            module = sys.modules.get(type(self).__module__)
            path = getattr(module, "__file__", None)
            if type(self).__module__.startswith("partita_dagfile_") and path:
                # A class of a DAG file: a worker has not imported that file when it reads it.
                return (_config_of_dag_file, (path, type(self).__qualname__, self.model_dump()))
            return super().__reduce__()
        return (_remade_config, (recipe, self.model_dump()))


#: Classes made from a ``config_schema`` in this process, by how they were made.
_MADE: dict[Any, type[Config]] = {}


def _made_from_schema(recipe: tuple[str, tuple[tuple[str, Any], ...]]) -> type[Config]:
    """The ``Config`` class of ``recipe`` (model name, fields), made once per process."""
    made = _MADE.get(recipe)
    if made is None:
        name, fields = recipe
        made = create_model(name, __base__=Config, **dict(fields))
        made._partita_schema_recipe = recipe  # type: ignore[attr-defined]
        _MADE[recipe] = made
    return made


def _remade_config(recipe: tuple[str, tuple[tuple[str, Any], ...]], values: Any) -> Config:
    return _made_from_schema(recipe).model_validate(values)


def _config_of_dag_file(path: str, qualname: str, values: Any) -> Config:
    """A config of a class defined in the DAG file ``path``, that file imported if it was not."""
    from pathlib import Path

    from partita.loader import load_dags, module_name_for

    name = module_name_for(Path(path))
    if name not in sys.modules:
        load_dags(path)
    found: Any = sys.modules[name]
    for part in qualname.split("."):
        found = getattr(found, part)
    config: Config = found.model_validate(values)
    return config


def config_class_from_schema(schema: Any, name: str) -> type[Config]:
    """A ``Config`` subclass from ``config_schema``: a Config class, or ``{"field": type}``.

    A field's value may be a type (required) or ``(type, default)``.
    """
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        if issubclass(schema, Config):
            return schema
        bases: Any = (Config, schema)
        return create_model(f"{name}_config", __base__=bases)
    if not isinstance(schema, Mapping):
        raise DefinitionError(
            f"{name}: config_schema must be a Config class or a dict of field name to type, "
            f"e.g. {{'n': int}}; got {schema!r}"
        )
    fields: dict[str, Any] = {}
    for field_name, spec in schema.items():
        if isinstance(spec, tuple) and len(spec) == 2:
            fields[str(field_name)] = spec
        else:
            fields[str(field_name)] = (spec, ...)
    model_name = "".join(p.title() for p in str(name).replace(".", "_").split("_")) + "Config"
    recipe: tuple[str, tuple[tuple[str, Any], ...]] | None = (model_name, tuple(fields.items()))
    try:
        hash(recipe)
    except TypeError:  # a field type that cannot be a dict key: made, not remade in a worker
        recipe = None
    try:
        if recipe is not None:
            return _made_from_schema(recipe)
        return create_model(model_name, __base__=Config, **fields)
    except Exception as exc:
        raise DefinitionError(f"{name}: config_schema {schema!r} is invalid: {exc}") from None


def _plain_config(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


@dataclass
class RunConfig:
    """A run config built from objects: ``RunConfig(tasks={"t": TConfig(...)})``.

    ``tasks`` maps a task id (or an asset key's ``a/b`` form) to its ``Config``
    object or a dict of field values; ``resources`` maps a resource key to
    field values that override the resource's own.
    """

    tasks: Mapping[str, Any] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The plain JSON-compatible run config (what is stored as the run's conf)."""
        out: dict[str, Any] = {}
        if self.tasks:
            out[TASKS_KEY] = {str(task_id): _entry(value) for task_id, value in self.tasks.items()}
        if self.resources:
            out[RESOURCES_KEY] = {str(key): _entry(value) for key, value in self.resources.items()}
        return out


def _entry(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping) and set(value) <= {"config", TASKS_KEY}:
        return {k: _plain_config(v) for k, v in value.items()}
    return {"config": _plain_config(value)}


def run_config_dict(value: Any) -> Any:
    """A ``RunConfig`` as its dict; anything else as it is."""
    return value.to_dict() if isinstance(value, RunConfig) else value


@dataclass(frozen=True)
class ConfigMapping:
    """Maps a DAG's own (simpler) config onto its tasks' config.

    ``config_fn`` receives the validated DAG-level config (a ``Config``
    object; ``cfg["greeting_word"]`` and ``cfg.greeting_word`` both work) and
    returns the tasks' run config: ``{"say_hello": {"config": {...}}}`` (or
    the same under a ``"tasks"`` key).
    """

    config_fn: Callable[[Any], Mapping[str, Any]]
    config_schema: Any = None

    def schema_class(self, dag_id: str) -> type[Config] | None:
        schema = self.config_schema
        if schema is None:
            annotation = _first_annotation(self.config_fn)
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                schema = annotation
        return None if schema is None else config_class_from_schema(schema, dag_id)


def _first_annotation(fn: Callable[..., Any]) -> Any:
    try:
        params = list(inspect.signature(fn, eval_str=True).parameters.values())
    except Exception:
        return None
    return params[0].annotation if params else None


def config_mapping(
    config_fn: Callable[[Any], Mapping[str, Any]] | None = None, *, config_schema: Any = None
) -> Any:
    """``@config_mapping`` on a function of the DAG-level config, or ``config_mapping(fn)``."""
    if config_fn is not None:
        return ConfigMapping(config_fn, config_schema)
    return lambda fn: ConfigMapping(fn, config_schema)


__all__ = [
    "RESOURCES_KEY",
    "TASKS_KEY",
    "Config",
    "ConfigMapping",
    "RunConfig",
    "config_class_from_schema",
    "config_mapping",
    "run_config_dict",
]
