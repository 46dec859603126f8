"""``ExternalTaskMarker``: marks that a task of another DAG depends on this one (Airflow's).

In Airflow the marker does nothing when it runs; it tells "clear with
downstream" to go on into ``external_dag_id``: clearing the marker also
clears ``external_task_id`` (and what is downstream of it) in that DAG's run
at ``logical_date`` (the marker's own run's logical date by default; a
template), at most ``recursion_depth`` DAGs deep. The DAG that waits for it
uses an ``ExternalTaskSensor``.

Here the marker runs as an empty task and keeps its arguments (checked, and
shown by ``partita dags show``); ``partita tasks clear --downstream`` does not
follow it into the other DAG yet (docs/airflow.md says so).
"""

from __future__ import annotations

from typing import Any, ClassVar

from partita.definitions.context import Context
from partita.exceptions import DefinitionError
from partita.operators.empty import EmptyOperator


class ExternalTaskMarker(EmptyOperator):
    """Names the task of another DAG (``external_dag_id``, ``external_task_id``) waiting for it."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "external_dag_id",
        "external_task_id",
        "logical_date",
    )
    ui_color = "#4db7db"

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str,
        logical_date: str | None = None,
        recursion_depth: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for name, value in (
            ("external_dag_id", external_dag_id),
            ("external_task_id", external_task_id),
        ):
            if not isinstance(value, str) or not value:
                raise DefinitionError(
                    f"{self._where()}: {name} must be a non-empty string, got {value!r}"
                )
        if not isinstance(recursion_depth, int) or recursion_depth <= 0:
            raise DefinitionError(
                f"{self._where()}: recursion_depth must be a positive whole number, "
                f"got {recursion_depth!r}"
            )
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.logical_date = logical_date
        self.recursion_depth = recursion_depth

    def execute(self, context: Context) -> Any:
        at = self.logical_date or context.get("logical_date")
        context["log"].info(
            "marks %s.%s (run at %s) as depending on this task",
            self.external_dag_id, self.external_task_id, at,
        )  # fmt: skip
        return None


__all__ = ["ExternalTaskMarker"]
