"""``AssetCheckOperator``: the task that runs one asset check in an asset job.

It loads the checked asset's value through the asset's IO manager (when the
check function takes it), calls the function and reports what it returned,
an ``AssetCheckResult``, through ``ti.record_check_evaluation``; the engine
records it in the asset catalog with the run's other records.

The design decision: a check that fails does not fail its task, so the run
and the asset stay successful; only a *blocking* check failing with severity
``ERROR`` fails its task, after its result was reported, and the job builder
made every task downstream of the checked asset wait for it, so they end
``upstream_failed`` (Dagster's "the downstream assets won't execute").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from partita.definitions.asset_check import AssetChecksDefinition
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.context import Context
from partita.definitions.io_manager import IOManager
from partita.definitions.resources import ResourceRequirement
from partita.operators.asset import AssetInputPlan, input_plan, load_asset_input
from partita.operators.check_results import blocking_failure, evaluation_of
from partita.operators.python import DecoratedPythonOperator


class AssetCheckOperator(DecoratedPythonOperator):
    """Runs one ``AssetChecksDefinition`` and reports its result."""

    reads_own_generators = True

    ui_color = "#fef7e0"
    template_fields: ClassVar[Sequence[str]] = ()

    def __init__(
        self,
        *,
        check_definition: AssetChecksDefinition,
        asset_input: AssetInputPlan | None = None,
        **kwargs: Any,
    ) -> None:
        if asset_input is not None:
            kwargs.setdefault("op_kwargs", {asset_input.param: asset_input})
        super().__init__(**kwargs)
        self.check_definition = check_definition
        self.asset_input = asset_input
        self.output_check = None  # the result is checked below, not by annotation
        if asset_input is not None:
            self.resource_requirements = (
                *self.resource_requirements,
                ResourceRequirement(asset_input.io_manager_key, None, IOManager),
            )

    def describe(self) -> str:
        return self.check_definition.describe()

    def arguments(self, context: Context) -> tuple[list[Any], dict[str, Any]]:
        plan = self.asset_input
        if plan is None:
            return [], {}
        return [], {plan.param: load_asset_input(context, plan, self.task_id, self.describe())}

    def execute(self, context: Context) -> Any:
        returned = super().execute(context)
        spec = self.check_definition.spec
        evaluation = evaluation_of(returned, [spec], self.describe())
        context["ti"].record_check_evaluation(evaluation)
        failure = blocking_failure(self.describe(), [evaluation], [spec])
        if failure is not None:
            raise failure
        return None


def build_asset_check_task(check: AssetChecksDefinition, graph: AssetGraph) -> AssetCheckOperator:
    """The task of ``check`` in a DAG built over ``graph``."""
    plan = None
    if check.data_param is not None:
        plan = input_plan(check.data_param, check.asset_key, graph)
    return AssetCheckOperator(
        task_id=check.task_id(),
        python_callable=check.function,
        check_definition=check,
        asset_input=plan,
        required_resource_keys=check.required_resource_keys,
        doc_md=check.description,
        **check.task_kwargs,
    )


__all__ = ["AssetCheckOperator", "build_asset_check_task"]
