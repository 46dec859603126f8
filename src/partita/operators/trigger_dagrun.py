"""``TriggerDagRunOperator``: queue a run of another DAG, and maybe wait for its end.

The run goes to the run queue a scheduler reads (as ``partita trigger``
does), with ``conf`` (templated) and ``logical_date``; the operator's output
is the new run's id. ``wait_for_completion`` polls its state every
``poke_interval`` seconds until it is in ``allowed_states`` (the task
succeeds) or ``failed_states`` (the task fails). ``reset_dag_run`` runs an
existing run of ``trigger_run_id`` again instead of failing.

The design decision: the operator uses only the definitions layer's
``DAG_RUN_TRIGGER`` extension point; the engine decides where runs are
queued, so the operator works the same in every process.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.context import Context
from partita.definitions.dag_run_trigger import DAG_RUN_TRIGGER
from partita.definitions.states import RunState
from partita.exceptions import DefinitionError, PartitaError


def _states(values: Iterable[str | RunState], what: str, task_id: str) -> frozenset[RunState]:
    try:
        return frozenset(RunState(str(v)) for v in values)
    except ValueError:
        raise DefinitionError(
            f"task {task_id!r}: {what} must be run states: " + ", ".join(s.value for s in RunState)
        ) from None


class TriggerDagRunOperator(BaseOperator):
    """Queue a run of ``trigger_dag_id``; the output is its run id."""

    template_fields = ("trigger_dag_id", "trigger_run_id", "conf", "logical_date")
    ui_color = "#ffefeb"

    def __init__(
        self,
        *,
        trigger_dag_id: str,
        trigger_run_id: str | None = None,
        conf: Mapping[str, Any] | None = None,
        logical_date: str | datetime | None = None,
        reset_dag_run: bool = False,
        wait_for_completion: bool = False,
        poke_interval: float = 60.0,
        allowed_states: Iterable[str | RunState] = (RunState.SUCCESS,),
        failed_states: Iterable[str | RunState] = (RunState.FAILED,),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(trigger_dag_id, str) or not trigger_dag_id:
            raise DefinitionError(f"task {self.task_id!r}: trigger_dag_id must be a DAG id")
        if conf is not None and not isinstance(conf, Mapping):
            raise DefinitionError(f"task {self.task_id!r}: conf must be a dict (a JSON object)")
        self.trigger_dag_id = trigger_dag_id
        self.trigger_run_id = trigger_run_id
        self.conf = dict(conf or {})
        self.logical_date = logical_date
        self.reset_dag_run = reset_dag_run
        self.wait_for_completion = wait_for_completion
        self.poke_interval = float(poke_interval)
        self.allowed_states = _states(allowed_states, "allowed_states", self.task_id)
        self.failed_states = _states(failed_states, "failed_states", self.task_id)

    def _logical_date(self) -> datetime | None:
        value = self.logical_date
        if value is None or isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value))
        except ValueError:
            raise PartitaError(
                f"task {self.task_id!r}: logical_date {value!r} is not an ISO 8601 date"
            ) from None

    def execute(self, context: Context) -> str:
        trigger = DAG_RUN_TRIGGER.get()
        run_id = trigger.trigger(
            self.trigger_dag_id, run_id=self.trigger_run_id, conf=self.conf,
            logical_date=self._logical_date(), reset=self.reset_dag_run,
        )  # fmt: skip
        log = context["log"]
        log.info("queued run %s of DAG %s", run_id, self.trigger_dag_id)
        if not self.wait_for_completion:
            return run_id
        while True:
            state = RunState(trigger.run_state(run_id))
            if state in self.failed_states:
                raise PartitaError(f"run {run_id!r} of DAG {self.trigger_dag_id!r} ended {state}")
            if state in self.allowed_states:
                log.info("run %s of DAG %s is %s", run_id, self.trigger_dag_id, state)
                return run_id
            log.info("run %s is %s; next check in %gs", run_id, state, self.poke_interval)
            time.sleep(self.poke_interval)


__all__ = ["TriggerDagRunOperator"]
