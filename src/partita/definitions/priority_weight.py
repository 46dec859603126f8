"""Priority weight strategies: a task's priority computed by a class of your own.

``weight_rule=`` takes ``"downstream"`` (the default), ``"upstream"`` or
``"absolute"`` (``engine/admission.py``), or a ``PriorityWeightStrategy``:
an instance, or the dotted path of its class (``"pkg.module.MyStrategy"``).
As in Airflow, the strategy's ``get_weight(ti)`` gives the task instance's
whole priority (``priority_weight`` is not added), and it is asked once, when
the task's instances are created: ``ti`` is a ``WeightedInstance`` with
``try_number`` 0 and ``map_index`` -1 (a mapped task's instances share it).
A strategy class is registered by its dotted path when it is defined, so the
string form finds any strategy whose module has been imported (Airflow finds
the ones its plugins register); a path not yet registered is imported.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from partita.exceptions import DefinitionError

#: The rules ``engine/admission.py`` computes itself.
BUILT_IN_RULES = ("downstream", "upstream", "absolute")


@dataclass(frozen=True)
class WeightedInstance:
    """What a strategy's ``get_weight`` sees of the task instance being created."""

    task: Any
    dag_id: str
    task_id: str
    map_index: int = -1
    try_number: int = 0


class PriorityWeightStrategy(ABC):
    """Subclass and implement ``get_weight(ti)``: the priority of a task instance."""

    _registry: ClassVar[dict[str, type[PriorityWeightStrategy]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        PriorityWeightStrategy._registry[f"{cls.__module__}.{cls.__qualname__}"] = cls

    @abstractmethod
    def get_weight(self, ti: Any) -> int:
        """The priority of ``ti`` (higher starts first when slots are short)."""

    def serialize(self) -> dict[str, Any]:
        """The strategy's settings (none by default)."""
        return {}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> PriorityWeightStrategy:
        """The strategy ``serialize`` described."""
        return cls(**data)


def weight_rule_of(value: Any, where: str) -> str | PriorityWeightStrategy:
    """A task's ``weight_rule=`` checked: a built-in rule name or a strategy instance."""
    if isinstance(value, PriorityWeightStrategy):
        return value
    if isinstance(value, type) and issubclass(value, PriorityWeightStrategy):
        return value()
    if isinstance(value, str) and value in BUILT_IN_RULES:
        return value
    if isinstance(value, str) and "." in value:
        cls = PriorityWeightStrategy._registry.get(value) or _import(value)
        if cls is not None:
            return cls()
    raise DefinitionError(
        f"{where}: unknown weight_rule {value!r}; use downstream, upstream or absolute, a "
        "PriorityWeightStrategy instance, or the dotted path of a PriorityWeightStrategy class"
    )


def _import(path: str) -> type[PriorityWeightStrategy] | None:
    module, _, name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    if isinstance(found, type) and issubclass(found, PriorityWeightStrategy):
        return found
    return None


__all__ = ["PriorityWeightStrategy", "WeightedInstance", "weight_rule_of"]
