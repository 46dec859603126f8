"""Resources: the connections and clients tasks use (databases, object stores, APIs).

A resource is a ``Resource`` subclass whose pydantic fields are its config::

    class Database(Resource):
        url: str
        def __enter__(self): self._conn = connect(self.url); return self
        def __exit__(self, *exc): self._conn.close()

    Definitions(assets=[...], resources={"db": Database(url=EnvVar("DB_URL"))})

Any object can be a resource (``resources={"client": MyClient()}``); a
``Resource`` adds typed config and ``EnvVar`` fields. A task gets a resource
by a parameter annotated with its type (``db: Database``), by a parameter
named like its key (``@task`` functions), or as ``context.resources.db``.

The design decision: a resource that is a context manager is entered once per
run, before the first task, and exited when the run ends, failed or not (the
engine's ``RunResources``); tasks receive what ``__enter__`` returned.
``EnvVar`` fields are read from the environment when the run starts, never
when the resource is defined, so a definition can be imported where the
secret is not set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from partita.exceptions import ResourceError

T = TypeVar("T")


class EnvVar(str):
    """A resource field read from the environment when a run starts: ``EnvVar("DB_URL")``."""

    __slots__ = ()

    @property
    def env_var_name(self) -> str:
        return str.__str__(self)

    def get_value(self, default: str | None = None) -> str | None:
        return os.environ.get(self.env_var_name, default)

    def __repr__(self) -> str:
        return f"EnvVar({self.env_var_name!r})"


class Resource(BaseModel):
    """Base class of a configurable resource; its pydantic fields are its config.

    Fields may be given as ``EnvVar("NAME")``: the value is read from the
    environment when a run starts (and validated then). Define
    ``__enter__``/``__exit__`` for setup and teardown once per run.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    _partita_env: dict[str, EnvVar] = PrivateAttr(default_factory=dict)

    def __init__(self, **data: Any) -> None:
        env = {k: v for k, v in data.items() if isinstance(v, EnvVar)}
        if not env:
            super().__init__(**data)
            return
        # Validation waits until the run starts, when the environment is read.
        built = type(self).model_construct(**data)
        for name in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__"):
            object.__setattr__(self, name, getattr(built, name))
        object.__setattr__(self, "__pydantic_private__", built.__pydantic_private__)
        self._partita_env = env

    def env_vars(self) -> dict[str, EnvVar]:
        """Fields given as ``EnvVar``: field name -> variable."""
        return dict(self._partita_env)

    def resolved(
        self, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Resource:
        """A copy with ``EnvVar`` fields read from ``environ`` and ``overrides`` applied, validated.

        Returns ``self`` when there is nothing to resolve. Raises ``ResourceError``
        naming the field and the variable.
        """
        env = self.env_vars()
        if not env and not overrides:
            return self
        environ = os.environ if environ is None else environ
        values = {name: self.__dict__[name] for name in self.model_fields_set}
        for field_name, var in env.items():
            value = environ.get(var.env_var_name)
            if value is None:
                raise ResourceError(
                    f"resource {type(self).__name__}: field {field_name!r} reads environment "
                    f"variable {var.env_var_name}, which is not set; set it before the run "
                    f"(export {var.env_var_name}=...)"
                )
            values[field_name] = value
        values.update(overrides or {})
        try:
            return type(self).model_validate(values)
        except ValidationError as exc:
            raise ResourceError(
                f"resource {type(self).__name__}: {_validation_summary(exc)}"
            ) from None


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "<value>"
        parts.append(f"field {where!r}: {error['msg']}")
    return "; ".join(parts)


#: Dagster's name for a configurable resource.
ConfigurableResource = Resource


class _ResourceMarker:
    """Marks an ``Annotated`` parameter as a resource (``ResourceParam[MyClient]``)."""

    def __repr__(self) -> str:
        return "ResourceParam"


RESOURCE_MARKER = _ResourceMarker()


class _ResourceParamFactory:
    """``ResourceParam[MyClient]``: a parameter that receives a resource of any class."""

    def __getitem__(self, item: type[T]) -> Any:
        return Annotated[item, RESOURCE_MARKER]


ResourceParam = _ResourceParamFactory()


@dataclass(frozen=True, slots=True)
class ResourceRequirement:
    """A resource one task needs: its key, the parameter it fills, the type it must have."""

    key: str
    param: str | None = None
    resource_type: type | None = None
    #: False for a parameter with a default: the resource is used when provided.
    required: bool = True


def find_resource(resources: Mapping[str, Any], key: str, cls: type | None) -> tuple[bool, Any]:
    """The resource ``key``, or else the only resource that is an instance of ``cls``."""
    if key in resources:
        return True, resources[key]
    if cls is not None:
        matches = [r for r in resources.values() if isinstance(r, cls)]
        if len(matches) == 1:
            return True, matches[0]
    return False, None


def is_context_manager(value: Any) -> bool:
    """Whether a resource has setup and teardown (``__enter__`` / ``__exit__``)."""
    cls = type(value)
    return hasattr(cls, "__enter__") and hasattr(cls, "__exit__")


class ResourcesView(Mapping[str, Any]):
    """``context.resources``: the run's resources by key, as attributes or items."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            known = ", ".join(sorted(self._values)) or "none"
            raise AttributeError(
                f"no resource {key!r} in this run (its resources are: {known}); provide it in "
                f"Definitions(resources=...), @dag(resources=...) or materialize(resources=...)"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"ResourcesView({sorted(self._values)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ResourcesView, (self._values,))


__all__ = [
    "RESOURCE_MARKER",
    "ConfigurableResource",
    "EnvVar",
    "Resource",
    "ResourceParam",
    "ResourceRequirement",
    "ResourcesView",
    "find_resource",
    "is_context_manager",
]
