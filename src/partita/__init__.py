"""partita: workflows as DAGs of tasks or as data assets, on one fast engine.

The public API of the package is what this module exports (pinned by
``tests/test_public_api.py``). Importing it also installs the in-process
runner behind ``DAG.test()`` and the tasks of an asset and of an asset check
in asset jobs (``operators/asset.py``, ``operators/asset_check.py``), which
keeps the definitions layer free of engine and operator imports.
"""

from partita.dag_index import DagIndex
from partita.definitions.asset import (
    AssetIn,
    AssetOut,
    AssetsDefinition,
    MaterializeResult,
    Output,
    asset,
    multi_asset,
)
from partita.definitions.asset_check import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    asset_check,
)
from partita.definitions.asset_job import define_asset_job
from partita.definitions.asset_key import AssetKey
from partita.definitions.asset_selection import AssetSelection
from partita.definitions.baseoperator import BaseOperator
from partita.definitions.config import Config, ConfigMapping, RunConfig, config_mapping
from partita.definitions.context import Context, get_current_context
from partita.definitions.dag import DAG, dag, set_test_runner
from partita.definitions.definitions import Definitions
from partita.definitions.dependencies import chain, cross_downstream
from partita.definitions.io_manager import InputContext, IOManager, OutputContext
from partita.definitions.metadata import MetadataValue
from partita.definitions.params import Param
from partita.definitions.resources import ConfigurableResource, EnvVar, Resource, ResourceParam
from partita.definitions.schedules import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    build_schedule_context,
    schedule,
)
from partita.definitions.states import RunState, TaskState, TriggerRule
from partita.definitions.taskgroup import TaskGroup, task_group
from partita.definitions.timetables import (
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DagRunInfo,
    DeltaDataIntervalTimetable,
    DeltaTriggerTimetable,
    NullTimetable,
    OnceTimetable,
    TimeRestriction,
    Timetable,
)
from partita.definitions.types import PartitaType
from partita.definitions.xcom_arg import XComArg
from partita.discovery import Discovery, LocatedDag, discover, locate_dag
from partita.engine.result import RunResult
from partita.exceptions import (
    FailTask,
    PartitaError,
    RetryTask,
    SignatureError,
    SkipTask,
)
from partita.executors.in_process import run_dag, test_runner
from partita.executors.materialize import materialize
from partita.importer import DagSummary, FileResult, Importer
from partita.loader import ImportProblem
from partita.operators.asset import AssetOperator
from partita.operators.asset_check import AssetCheckOperator
from partita.operators.bash import BashOperator
from partita.operators.branch import BaseBranchOperator, BranchPythonOperator, ShortCircuitOperator
from partita.operators.empty import DummyOperator, EmptyOperator
from partita.operators.latest_only import LatestOnlyOperator
from partita.operators.python import PythonOperator
from partita.operators.taskflow import task
from partita.storage.io_managers import FilesystemIOManager, InMemoryIOManager

set_test_runner(test_runner)

__version__ = "0.1.0"

__all__ = [
    "DAG",
    "AssetCheckOperator",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetCheckSpec",
    "AssetChecksDefinition",
    "AssetIn",
    "AssetKey",
    "AssetOperator",
    "AssetOut",
    "AssetSelection",
    "AssetsDefinition",
    "BaseBranchOperator",
    "BaseOperator",
    "BashOperator",
    "BranchPythonOperator",
    "Config",
    "ConfigMapping",
    "ConfigurableResource",
    "Context",
    "CronDataIntervalTimetable",
    "CronTriggerTimetable",
    "DagIndex",
    "DagRunInfo",
    "DagSummary",
    "DefaultScheduleStatus",
    "Definitions",
    "DeltaDataIntervalTimetable",
    "DeltaTriggerTimetable",
    "Discovery",
    "DummyOperator",
    "EmptyOperator",
    "EnvVar",
    "FailTask",
    "FileResult",
    "FilesystemIOManager",
    "IOManager",
    "ImportProblem",
    "Importer",
    "InMemoryIOManager",
    "InputContext",
    "LatestOnlyOperator",
    "LocatedDag",
    "MaterializeResult",
    "MetadataValue",
    "NullTimetable",
    "OnceTimetable",
    "Output",
    "OutputContext",
    "Param",
    "PartitaError",
    "PartitaType",
    "PythonOperator",
    "Resource",
    "ResourceParam",
    "RetryTask",
    "RunConfig",
    "RunRequest",
    "RunResult",
    "RunState",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "ShortCircuitOperator",
    "SignatureError",
    "SkipReason",
    "SkipTask",
    "TaskGroup",
    "TaskState",
    "TimeRestriction",
    "Timetable",
    "TriggerRule",
    "XComArg",
    "asset",
    "asset_check",
    "build_schedule_context",
    "chain",
    "config_mapping",
    "cross_downstream",
    "dag",
    "define_asset_job",
    "discover",
    "get_current_context",
    "locate_dag",
    "materialize",
    "multi_asset",
    "run_dag",
    "schedule",
    "task",
    "task_group",
]
