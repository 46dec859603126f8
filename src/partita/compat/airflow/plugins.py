"""``airflow.plugins_manager.AirflowPlugin``: the parts of an Airflow plugin partita runs.

An Airflow plugin is a class listing extensions. partita takes the two a DAG
file's own behaviour depends on: ``timetables`` (custom timetables, which
must subclass Airflow's ``Timetable``, i.e. ``AirflowTimetable``) and
``priority_weight_strategies`` (``PriorityWeightStrategy`` subclasses). Both
are registered when their classes are defined, so the plugin checks them and
keeps them in ``AirflowPlugin.registered``. A plugin that sets anything else
(web views, macros, listeners, operator links...) is refused when its class is
defined, naming the attribute: partita would otherwise ignore it silently.
"""

from __future__ import annotations

from typing import Any, ClassVar

from partita.compat.airflow.timetable import AirflowTimetable
from partita.definitions.priority_weight import PriorityWeightStrategy

#: What a plugin may list, and the class each entry must subclass.
_SUPPORTED: dict[str, type] = {
    "timetables": AirflowTimetable,
    "priority_weight_strategies": PriorityWeightStrategy,
}
_IGNORED = {"name", "registered"}


class AirflowPlugin:
    """Subclass with ``name`` and ``timetables`` / ``priority_weight_strategies`` lists."""

    name: ClassVar[str] = ""
    timetables: ClassVar[list[type]] = []
    priority_weight_strategies: ClassVar[list[type]] = []
    #: Plugin name -> the plugin class, for every plugin defined in this process.
    registered: ClassVar[dict[str, type[AirflowPlugin]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        where = f"Airflow plugin {cls.__qualname__}"
        if not isinstance(cls.name, str) or not cls.name:
            raise TypeError(f"{where}: set name = '...' (a non-empty string)")
        for attribute, value in vars(cls).items():
            if attribute.startswith("_") or attribute in _IGNORED or callable(value):
                continue
            base = _SUPPORTED.get(attribute)
            if base is None:
                raise TypeError(
                    f"{where}: {attribute} is not supported by partita; a plugin may list "
                    "timetables and priority_weight_strategies (see docs/airflow.md)"
                )
            for item in value:
                if not (isinstance(item, type) and issubclass(item, base)):
                    raise TypeError(
                        f"{where}: {attribute} must list {base.__name__} subclasses, got {item!r}"
                    )
        AirflowPlugin.registered[cls.name] = cls


__all__ = ["AirflowPlugin"]
