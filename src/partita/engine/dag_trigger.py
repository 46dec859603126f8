"""The engine's ``DagRunTrigger``: queue runs of other DAGs in the store the running task uses.

A run queued here is exactly what ``partita trigger`` writes
(``RunQueue.enqueue``): any live scheduler on that database starts it. The
target DAG must be in the DAG registry (a scheduler that loads its file
puts it there); its data interval is ``[logical_date, logical_date]``, the
interval of a manual run of a cron DAG. With ``reset`` an existing run of
that id is cleared (``engine.control.reset_run``) and so queued again.

The design decision: the store is the one ``engine/secrets.py`` gives task
code (the run's own store, or in ``dag.test()`` the settings' database), so
a trigger from a worker process goes to the same database as its run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from partita.definitions.states import RunState
from partita.engine.control import reset_run
from partita.engine.prepare import new_run_id
from partita.engine.secrets import STORE_SECRETS
from partita.exceptions import PartitaError, RunNotFoundError
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord
from partita.wakeups import wake_schedulers_of_settings


class StoreDagRunTrigger:
    """A ``DagRunTrigger`` over the store task code uses."""

    def _store(self) -> Storage:
        return STORE_SECRETS.store()

    def trigger(
        self,
        dag_id: str,
        *,
        run_id: str | None,
        conf: dict[str, Any],
        logical_date: datetime | None,
        reset: bool,
    ) -> str:
        storage = self._store()
        record = storage.registry.get_dag(dag_id)
        if record is None or not record.is_active:
            raise PartitaError(
                f"DAG {dag_id!r} is not in the DAG registry of this database; a scheduler "
                "records it when it loads the file that defines it (check trigger_dag_id)"
            )
        when = (logical_date or datetime.now(UTC)).astimezone(UTC)
        run_id = run_id or new_run_id("manual", when)
        if _exists(storage, run_id):
            if not reset:
                raise PartitaError(
                    f"DAG {dag_id!r} already has a run {run_id!r}; pass reset_dag_run=True to "
                    "run it again, or leave trigger_run_id unset for a new run"
                )
            reset_run(storage, run_id)
            wake_schedulers_of_settings()
            return run_id
        run = DagRunRecord(
            run_id=run_id, dag_id=dag_id, dag_version="", state=RunState.QUEUED,
            run_type="manual", logical_date=when, data_interval_start=when,
            data_interval_end=when, conf=dict(conf), queued_at=datetime.now(UTC),
        )  # fmt: skip
        storage.queue.enqueue([run])
        wake_schedulers_of_settings()
        return run_id

    def run_state(self, run_id: str) -> str:
        return str(self._store().runs.get_run(run_id).state)


def _exists(storage: Storage, run_id: str) -> bool:
    try:
        storage.runs.get_run(run_id)
    except RunNotFoundError:
        return False
    return True


STORE_DAG_RUN_TRIGGER = StoreDagRunTrigger()

__all__ = ["STORE_DAG_RUN_TRIGGER", "StoreDagRunTrigger"]
