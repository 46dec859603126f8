"""``Param``: a DAG or task parameter with a default and a JSON-Schema rule (Airflow's ``Param``).

``params={"n": Param(5, type="integer", minimum=0), "name": "x"}`` declares
two params: ``n`` is checked against its schema, ``name`` is a plain value
with no rule. A run's conf overrides them by name. Validation uses the
``jsonschema`` library (the draft named by ``$schema``, else the newest),
with format checking, as Airflow does.

The design decision: a ``Param`` is checked twice and never later than the
run's start. Its schema is checked when it is defined (a misspelt ``type``
fails where the DAG is written), and its value when a run is prepared
(``engine/prepare.py``), so an invalid value stops the run before any task
starts. Tasks only ever see the resolved plain values (``context["params"]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from jsonschema import FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from partita.exceptions import DefinitionError, RunConfigError


class _NotSet:
    """The marker of a ``Param`` given no default."""

    _instance: _NotSet | None = None

    def __new__(cls) -> _NotSet:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOTSET"

    def __reduce__(self) -> str:
        return "NOTSET"


NOTSET: Final = _NotSet()
_FORMATS = FormatChecker()


class ParamValidationError(RunConfigError):
    """A param's value breaks its rule, or a required param was given no value."""


class Param:
    """A param value with an optional JSON-Schema rule: ``Param(5, type="integer", minimum=0)``.

    ``default`` may be left out; the run's conf must then supply the value.
    Every other keyword is a JSON-Schema keyword (``type``, ``minimum``,
    ``maximum``, ``enum``, ``pattern``, ``format``, ``items``...).
    """

    __slots__ = ("_validator", "description", "schema", "value")

    def __init__(
        self, default: Any = NOTSET, description: str | None = None, **schema: Any
    ) -> None:
        self.value = default
        self.description = description
        self.schema: dict[str, Any] = schema
        cls = validator_for(schema)
        try:
            cls.check_schema(schema)
        except SchemaError as exc:
            path = "".join(f"[{p!r}]" for p in exc.path)
            raise DefinitionError(
                f"{self!r}: its schema is invalid: {exc.message}"
                + (f" (at schema{path})" if path else "")
                + "; see https://json-schema.org/understanding-json-schema/ for the keywords"
            ) from None
        self._validator: Validator = cls(schema, format_checker=_FORMATS)

    @property
    def has_value(self) -> bool:
        """True when the param has a default (or was given a value)."""
        return self.value is not NOTSET

    def resolve(self, value: Any = NOTSET, *, name: str = "param") -> Any:
        """``value`` (or the default when not given), checked against the schema.

        Raises ``ParamValidationError`` naming ``name``, the value and the rule it breaks.
        """
        final = self.value if value is NOTSET else value
        if final is NOTSET:
            raise ParamValidationError(
                f"param {name!r} has no default and no value was given; pass one in the run "
                f"conf (--conf '{{\"{name}\": ...}}' or run_conf={{{name!r}: ...}})"
            )
        error = best_match(self._validator.iter_errors(final))
        if error is not None:
            raise ParamValidationError(_describe(name, final, error))
        return final

    def __repr__(self) -> str:
        parts = [] if self.value is NOTSET else [repr(self.value)]
        if self.description is not None:
            parts.append(f"description={self.description!r}")
        parts.extend(f"{k}={v!r}" for k, v in self.schema.items())
        return f"Param({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Param):
            return NotImplemented
        return (self.value, self.description, self.schema) == (
            other.value,
            other.description,
            other.schema,
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_param, (self.value, self.description, self.schema))


def _rebuild_param(value: Any, description: str | None, schema: dict[str, Any]) -> Param:
    return Param(value, description, **schema)


def _describe(name: str, value: Any, error: ValidationError) -> str:
    where = "".join(f"[{p!r}]" for p in error.absolute_path)
    rule = f"{error.validator}: {error.validator_value!r}"
    return (
        f"param {name!r} has the invalid value {value!r}: "
        + (f"at {name}{where}, " if where else "")
        + f"{error.message} (rule {rule})"
    )


def resolve_param_values(
    declared: Mapping[str, Any], supplied: Mapping[str, Any]
) -> dict[str, Any]:
    """Plain values of ``declared`` params, each overridden by ``supplied`` (the run conf).

    A ``Param`` is validated against its schema; a plain value is taken as it
    is. Keys of ``supplied`` that no param declares are not added here.
    """
    values: dict[str, Any] = {}
    for name, declared_value in declared.items():
        if isinstance(declared_value, Param):
            values[name] = declared_value.resolve(supplied.get(name, NOTSET), name=name)
        else:
            values[name] = supplied.get(name, declared_value)
    return values


__all__ = ["NOTSET", "Param", "ParamValidationError", "resolve_param_values"]
