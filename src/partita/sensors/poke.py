"""``PokeSensor``: a task that calls ``poke(context)`` every ``poke_interval`` seconds until true.

The design decision: a small poke loop with the constructor of Airflow's
sensors (``poke_interval``, ``timeout``, ``mode``, only ``"poke"``), so the
HTTP and SQL sensors can be written now; it is meant to be replaced by
partita's ``BaseSensorOperator`` (built elsewhere), whose constructor it shares.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.context import Context
from partita.exceptions import DefinitionError, TaskTimeoutError


class PokeSensor(BaseOperator):
    """Wait for ``poke(context)`` to be true; fail after ``timeout`` seconds."""

    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        poke_interval: timedelta | float = 60.0,
        timeout: timedelta | float = 7 * 24 * 3600.0,
        mode: str = "poke",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if mode != "poke":
            raise DefinitionError(
                f"task {self.task_id!r}: {type(self).__name__} supports mode='poke' only, "
                f"got {mode!r}"
            )
        self.poke_interval = _seconds(poke_interval)
        self.timeout = _seconds(timeout)
        self.mode = mode

    def poke(self, context: Context) -> bool:
        """Whether the condition holds now."""
        raise NotImplementedError(f"{type(self).__name__} does not implement poke()")

    def execute(self, context: Context) -> None:
        began = time.monotonic()
        while not self.poke(context):
            if time.monotonic() - began + self.poke_interval > self.timeout:
                raise TaskTimeoutError(
                    f"sensor {self.task_id!r} timed out after {self.timeout:g}s; raise "
                    "timeout= or check what it waits for"
                )
            context["log"].info("condition not met; next poke in %gs", self.poke_interval)
            time.sleep(self.poke_interval)


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


__all__ = ["PokeSensor"]
