"""Register partita's own implementations of the definitions layer's extension points.

``install()`` is the one place that says which code stands behind
``DAG.test()``, ``BaseOperator.partial``, the tasks of assets and asset
checks in an asset job, the secrets backend of ``Connection.get`` and
``Variable``, the email of ``email_on_failure`` and the run queue of
``TriggerDagRunOperator`` (see ``definitions/extensions.py``). It runs on the
first use of any of them (this module is imported then, by name), not when ``partita`` is
imported, so importing ``partita`` stays cheap and the order of imports never
matters. Implementations registered earlier (by a test, or a program
embedding partita) are kept.
"""

from __future__ import annotations

from partita.definitions.asset_job import ASSET_CHECK_TASK_FACTORY, ASSET_TASK_FACTORY
from partita.definitions.baseoperator import PARTIAL_FACTORY
from partita.definitions.dag import TEST_RUNNER
from partita.definitions.dag_run_trigger import DAG_RUN_TRIGGER
from partita.definitions.email_alerts import EMAIL_ALERT
from partita.definitions.mapping import OperatorPartial
from partita.definitions.secrets import SECRETS
from partita.engine.dag_trigger import STORE_DAG_RUN_TRIGGER
from partita.engine.secrets import STORE_SECRETS
from partita.executors.in_process import test_runner
from partita.notifiers.smtp import failure_email
from partita.operators.asset import build_asset_task
from partita.operators.asset_check import build_asset_check_task


def install() -> None:
    """Fill every extension point that has no implementation yet."""
    TEST_RUNNER.register(test_runner, replace=False)
    PARTIAL_FACTORY.register(OperatorPartial, replace=False)
    ASSET_TASK_FACTORY.register(build_asset_task, replace=False)
    ASSET_CHECK_TASK_FACTORY.register(build_asset_check_task, replace=False)
    SECRETS.register(STORE_SECRETS, replace=False)
    EMAIL_ALERT.register(failure_email, replace=False)
    DAG_RUN_TRIGGER.register(STORE_DAG_RUN_TRIGGER, replace=False)


__all__ = ["install"]
