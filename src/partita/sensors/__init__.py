"""Sensor tasks (Airflow style): tasks that wait for a condition by poking until it holds.

``BaseSensorOperator`` (``partita.definitions.sensor_operator``) is the base;
the built-in sensors live here and are importable from here as Airflow users
write them (``from partita.sensors import FileSensor``). They are loaded
lazily (PEP 562 ``__getattr__``), as ``partita.operators`` is: naming a
sensor imports only the module that defines it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from partita.definitions.sensor_operator import BaseSensorOperator, PokeReturnValue
    from partita.operators.http import HttpSensor
    from partita.operators.sql import SqlSensor
    from partita.sensors.bash import BashSensor
    from partita.sensors.calendar import DayOfWeekSensor, TimeSensor
    from partita.sensors.date_time import DateTimeSensor, TimeDeltaSensor
    from partita.sensors.external_task import ExternalTaskSensor
    from partita.sensors.filesystem import FileSensor
    from partita.sensors.python import PythonSensor

#: Public name -> the module that defines it.
_HOMES: dict[str, str] = {
    "TimeSensor": "partita.sensors.calendar",
    "DayOfWeekSensor": "partita.sensors.calendar",
    "BashSensor": "partita.sensors.bash",
    "BaseSensorOperator": "partita.definitions.sensor_operator",
    "DateTimeSensor": "partita.sensors.date_time",
    "ExternalTaskSensor": "partita.sensors.external_task",
    "FileSensor": "partita.sensors.filesystem",
    "HttpSensor": "partita.operators.http",
    "PokeReturnValue": "partita.definitions.sensor_operator",
    "PythonSensor": "partita.sensors.python",
    "SqlSensor": "partita.operators.sql",
    "TimeDeltaSensor": "partita.sensors.date_time",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(
            f"module 'partita.sensors' has no attribute {name!r}; the sensors it holds are "
            + ", ".join(sorted(_HOMES))
        )
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


__all__ = [
    "BaseSensorOperator",
    "BashSensor",
    "DateTimeSensor",
    "DayOfWeekSensor",
    "ExternalTaskSensor",
    "FileSensor",
    "HttpSensor",
    "PokeReturnValue",
    "PythonSensor",
    "SqlSensor",
    "TimeDeltaSensor",
    "TimeSensor",
]
