"""What ``TriggerDagRunOperator`` needs from the engine: queue a run, read a run's state.

The design decision: as for connections (``definitions/secrets.py``), the
definitions layer declares the small ``DagRunTrigger`` protocol and an
extension point; ``partita.bootstrap`` registers the engine's
implementation, which writes to the run queue of the metadata store the
running task uses, the queue a scheduler reads. Task code never opens the
database itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from partita.definitions.extensions import ExtensionPoint


class DagRunTrigger(Protocol):
    """Queues runs of other DAGs and tells their state."""

    def trigger(
        self,
        dag_id: str,
        *,
        run_id: str | None,
        conf: dict[str, Any],
        logical_date: datetime | None,
        reset: bool,
    ) -> str:
        """Queue a run of ``dag_id`` (or, with ``reset``, run an existing one again); its id."""
        ...

    def run_state(self, run_id: str) -> str:
        """The run's state (``queued``, ``running``, ``success``, ``failed``...)."""
        ...


#: The implementation ``TriggerDagRunOperator`` uses (the engine's, by default).
DAG_RUN_TRIGGER: ExtensionPoint[DagRunTrigger] = ExtensionPoint("the DAG run trigger")

__all__ = ["DAG_RUN_TRIGGER", "DagRunTrigger"]
