"""``PythonSensor`` and the operator of ``@task.sensor``: a Python function is the poke.

The function returns a bool (any truthy value means done, as in Airflow) or a
``PokeReturnValue(is_done, xcom_value)``, whose value becomes the task's
output once it is done.

The design decision: both are a Python operator and a sensor at once; the
operator's ``execute`` (arguments, templates, injected config and resources,
type checks) becomes the sensor's ``poke``, and the sensor's loop is the
task's ``execute``, so neither machinery is written twice.
"""

from __future__ import annotations

from typing import Any

from partita.definitions.context import Context
from partita.definitions.sensor_operator import BaseSensorOperator, PokeReturnValue
from partita.exceptions import DefinitionError
from partita.operators.python import DecoratedPythonOperator, PythonOperator


class PythonSensor(PythonOperator, BaseSensorOperator):
    """Pokes by calling ``python_callable(*op_args, **op_kwargs)`` until it returns true."""

    ui_color = BaseSensorOperator.ui_color

    def poke(self, context: Context) -> bool | PokeReturnValue:
        result = PythonOperator.execute(self, context)
        return result if isinstance(result, PokeReturnValue) else bool(result)

    def execute(self, context: Context) -> Any:
        return BaseSensorOperator.execute(self, context)


class DecoratedSensorOperator(DecoratedPythonOperator, BaseSensorOperator):
    """The operator of ``@task.sensor``: the decorated function is the poke."""

    ui_color = BaseSensorOperator.ui_color

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("io_manager_key") is not None:
            raise DefinitionError(
                f"@task.sensor {kwargs.get('task_id')!r}: io_manager_key is not supported on a "
                "sensor (each poke would store its result); return "
                "PokeReturnValue(True, value) and read the value downstream instead"
            )
        super().__init__(**kwargs)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        result = DecoratedPythonOperator.execute(self, context)
        return result if isinstance(result, PokeReturnValue) else bool(result)

    def execute(self, context: Context) -> Any:
        return BaseSensorOperator.execute(self, context)


__all__ = ["DecoratedSensorOperator", "PythonSensor"]
