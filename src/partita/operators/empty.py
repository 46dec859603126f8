"""``EmptyOperator``: a task that does nothing, for joins and markers in a graph.

``DummyOperator`` is kept as another name for it, because many Airflow 1 DAGs
and tutorials use it.
"""

from __future__ import annotations

from typing import Any

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.context import Context


class EmptyOperator(BaseOperator):
    """Does nothing and succeeds."""

    ui_color = "#e8f7e4"

    def execute(self, context: Context) -> Any:
        return None


DummyOperator = EmptyOperator

__all__ = ["DummyOperator", "EmptyOperator"]
