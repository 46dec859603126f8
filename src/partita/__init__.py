"""partita: workflows as DAGs of tasks or as data assets, on one fast engine.

The public API of the package is what this module exports (pinned by
``tests/test_public_api.py``). Importing it also installs the in-process
runner behind ``DAG.test()``, which keeps the definitions layer free of
engine imports.
"""

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.context import Context, get_current_context
from partita.definitions.dag import DAG, dag, set_test_runner
from partita.definitions.dependencies import chain, cross_downstream
from partita.definitions.params import Param
from partita.definitions.states import RunState, TaskState, TriggerRule
from partita.definitions.taskgroup import TaskGroup, task_group
from partita.definitions.xcom_arg import XComArg
from partita.engine.result import RunResult
from partita.exceptions import (
    FailTask,
    PartitaError,
    RetryTask,
    SkipTask,
)
from partita.executors.in_process import run_dag, test_runner
from partita.operators.bash import BashOperator
from partita.operators.branch import BaseBranchOperator, BranchPythonOperator, ShortCircuitOperator
from partita.operators.empty import DummyOperator, EmptyOperator
from partita.operators.latest_only import LatestOnlyOperator
from partita.operators.python import PythonOperator
from partita.operators.taskflow import task

set_test_runner(test_runner)

__version__ = "0.1.0"

__all__ = [
    "DAG",
    "BaseBranchOperator",
    "BaseOperator",
    "BashOperator",
    "BranchPythonOperator",
    "Context",
    "DummyOperator",
    "EmptyOperator",
    "FailTask",
    "LatestOnlyOperator",
    "Param",
    "PartitaError",
    "PythonOperator",
    "RetryTask",
    "RunResult",
    "RunState",
    "ShortCircuitOperator",
    "SkipTask",
    "TaskGroup",
    "TaskState",
    "TriggerRule",
    "XComArg",
    "chain",
    "cross_downstream",
    "dag",
    "get_current_context",
    "run_dag",
    "task",
    "task_group",
]
