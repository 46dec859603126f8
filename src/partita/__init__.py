"""partita: workflows as DAGs of tasks or as data assets, on one fast engine.

The public API of the package is what this module exports (pinned by
``tests/test_public_api.py``).

The design decision: ``import partita`` imports nothing heavy. Each public
name is imported from its module the first time it is used (PEP 562
``__getattr__``), so ``from partita import Config`` costs what ``Config``
costs, and the CLI starts without SQLAlchemy, pydantic or Jinja2. To add a
public name, add one line to ``_EXPORTS`` (name -> module) and the same import
to the ``TYPE_CHECKING`` block, which is what type checkers read;
``tests/test_public_api.py`` checks that the two agree. The implementations
behind ``DAG.test()``, ``partial`` and asset jobs are registered on first use
by ``partita.bootstrap``, not here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module it is defined in. Kept sorted; one line per name.
_EXPORTS: dict[str, str] = {
    "AddDynamicPartitionsRequest": "partita.definitions.partitions",
    "AllPartitionMapping": "partita.definitions.partition_mapping",
    "Asset": "partita.definitions.asset_events",
    "AssetAccessControl": "partita.definitions.asset_access",
    "AssetAlias": "partita.definitions.asset_events",
    "AssetAll": "partita.definitions.asset_events",
    "AssetAny": "partita.definitions.asset_events",
    "AssetCheckOperator": "partita.operators.asset_check",
    "AssetCheckResult": "partita.definitions.asset_check",
    "AssetCheckSeverity": "partita.definitions.asset_check",
    "AssetCheckSpec": "partita.definitions.asset_check",
    "AssetChecksDefinition": "partita.definitions.asset_check",
    "AssetEvent": "partita.definitions.asset_events",
    "AssetIn": "partita.definitions.asset",
    "AssetKey": "partita.definitions.asset_key",
    "AssetOperator": "partita.operators.asset",
    "AssetOrTimeSchedule": "partita.definitions.asset_or_time",
    "AssetOut": "partita.definitions.asset",
    "AssetSelection": "partita.definitions.asset_selection",
    "AssetsDefinition": "partita.definitions.asset",
    "AutomationCondition": "partita.definitions.automation_condition",
    "BackfillModel": "partita.schemas",
    "BackfillPolicy": "partita.definitions.backfill_policy",
    "BaseBranchOperator": "partita.operators.branch",
    "BaseHook": "partita.hooks.base",
    "BaseNotifier": "partita.notifiers.base",
    "BaseOperator": "partita.definitions.baseoperator",
    "BaseSensorOperator": "partita.definitions.sensor_operator",
    "BashOperator": "partita.operators.bash",
    "BashSensor": "partita.sensors.bash",
    "BranchDateTimeOperator": "partita.operators.calendar_branch",
    "BranchDayOfWeekOperator": "partita.operators.calendar_branch",
    "BranchExternalPythonOperator": "partita.operators.virtualenv",
    "BranchPythonOperator": "partita.operators.branch",
    "BranchPythonVirtualenvOperator": "partita.operators.virtualenv",
    "CeleryHub": "partita.executors.celery_executor",
    "Config": "partita.definitions.config",
    "ConfigMapping": "partita.definitions.config",
    "ConfigurableResource": "partita.definitions.resources",
    "Connection": "partita.definitions.connection",
    "ConnectionNotFoundError": "partita.exceptions",
    "Context": "partita.definitions.context",
    "CronDataIntervalTimetable": "partita.definitions.timetables",
    "CronTriggerTimetable": "partita.definitions.timetables",
    "DAG": "partita.definitions.dag",
    "DagIndex": "partita.dag_index",
    "DagRunDetailModel": "partita.schemas",
    "DagRunInfo": "partita.definitions.timetables",
    "DagRunModel": "partita.schemas",
    "DagSummary": "partita.importer",
    "DailyPartitionsDefinition": "partita.definitions.time_partitions",
    "DateTimeSensor": "partita.sensors.date_time",
    "DayOfWeekSensor": "partita.sensors.calendar",
    "DbApiHook": "partita.hooks.sql",
    "DefaultScheduleStatus": "partita.definitions.schedules",
    "DefaultSensorStatus": "partita.definitions.sensors",
    "Definitions": "partita.definitions.definitions",
    "DeleteDynamicPartitionsRequest": "partita.definitions.partitions",
    "DeltaDataIntervalTimetable": "partita.definitions.timetables",
    "DeltaTriggerTimetable": "partita.definitions.timetables",
    "Discovery": "partita.discovery",
    "DummyOperator": "partita.operators.empty",
    "DynamicPartitionsDefinition": "partita.definitions.partitions",
    "EmailError": "partita.hooks.smtp",
    "EmailNotifier": "partita.notifiers.smtp",
    "EmailOperator": "partita.operators.email",
    "EmptyOperator": "partita.operators.empty",
    "EnvVar": "partita.definitions.resources",
    "ExceptionRetryPolicy": "partita.definitions.retry_policy",
    "ExternalPythonOperator": "partita.operators.virtualenv",
    "ExternalTaskMarker": "partita.operators.external_task_marker",
    "ExternalTaskSensor": "partita.sensors.external_task",
    "FailTask": "partita.exceptions",
    "FileResult": "partita.importer",
    "FileSensor": "partita.sensors.filesystem",
    "FilesystemIOManager": "partita.storage.io_managers",
    "FsspecIOManager": "partita.storage.object_io",
    "HourlyPartitionsDefinition": "partita.definitions.time_partitions",
    "HttpError": "partita.hooks.http",
    "HttpHook": "partita.hooks.http",
    "HttpOperator": "partita.operators.http",
    "HttpSensor": "partita.operators.http",
    "IOManager": "partita.definitions.io_manager",
    "IdentityPartitionMapping": "partita.definitions.partition_mapping",
    "ImportProblem": "partita.loader",
    "Importer": "partita.importer",
    "InMemoryIOManager": "partita.storage.io_managers",
    "InputContext": "partita.definitions.io_manager",
    "Label": "partita.definitions.dependencies",
    "LastPartitionMapping": "partita.definitions.partition_mapping",
    "LatestOnlyOperator": "partita.operators.latest_only",
    "LocatedDag": "partita.discovery",
    "MaterializeResult": "partita.definitions.asset",
    "Metadata": "partita.definitions.asset_metadata",
    "MetadataValue": "partita.definitions.metadata",
    "MonthlyPartitionsDefinition": "partita.definitions.time_partitions",
    "MultiPartitionKey": "partita.definitions.partitions",
    "MultiPartitionsDefinition": "partita.definitions.partitions",
    "NotifierError": "partita.notifiers.base",
    "NullTimetable": "partita.definitions.timetables",
    "OnceTimetable": "partita.definitions.timetables",
    "Output": "partita.definitions.asset",
    "OutputContext": "partita.definitions.io_manager",
    "Param": "partita.definitions.params",
    "ParquetIOManager": "partita.storage.parquet_io",
    "PartitaError": "partita.exceptions",
    "PartitaType": "partita.definitions.types",
    "PartitionKeyError": "partita.exceptions",
    "PartitionKeyRange": "partita.definitions.partitions",
    "PartitionMapping": "partita.definitions.partition_mapping",
    "PartitionsDefinition": "partita.definitions.partitions",
    "PokeReturnValue": "partita.definitions.sensor_operator",
    "PriorityWeightStrategy": "partita.definitions.priority_weight",
    "PythonOperator": "partita.operators.python",
    "PythonSensor": "partita.sensors.python",
    "PythonVirtualenvOperator": "partita.operators.virtualenv",
    "RescheduleTask": "partita.exceptions",
    "Resource": "partita.definitions.resources",
    "ResourceParam": "partita.definitions.resources",
    "RetryAction": "partita.definitions.retry_policy",
    "RetryDecision": "partita.definitions.retry_policy",
    "RetryPolicy": "partita.definitions.retry_policy",
    "RetryRule": "partita.definitions.retry_policy",
    "RetryTask": "partita.exceptions",
    "Role": "partita.storage.auth",
    "RunConfig": "partita.definitions.config",
    "RunFailureSensorContext": "partita.definitions.run_sensors",
    "RunRequest": "partita.definitions.schedules",
    "RunResult": "partita.engine.result",
    "RunState": "partita.definitions.states",
    "RunStatusSensorContext": "partita.definitions.run_sensors",
    "SQLExecuteQueryOperator": "partita.operators.sql",
    "ScheduleDefinition": "partita.definitions.schedules",
    "ScheduleEvaluationContext": "partita.definitions.schedules",
    "SensorDefinition": "partita.definitions.sensors",
    "SensorEvaluationContext": "partita.definitions.sensors",
    "SensorEvaluationError": "partita.exceptions",
    "SensorResult": "partita.definitions.sensor_result",
    "SensorTimeout": "partita.exceptions",
    "ServerConfig": "partita.server.config",
    "ShortCircuitOperator": "partita.operators.branch",
    "SignatureError": "partita.exceptions",
    "SimpleHttpOperator": "partita.operators.http",
    "SkipReason": "partita.definitions.schedules",
    "SkipTask": "partita.exceptions",
    "SlackNotifier": "partita.notifiers.webhook",
    "SmtpHook": "partita.hooks.smtp",
    "SmtpNotifier": "partita.notifiers.smtp",
    "SqlError": "partita.hooks.sql",
    "SqlHook": "partita.hooks.sql",
    "SqlSensor": "partita.operators.sql",
    "StaticPartitionMapping": "partita.definitions.partition_mapping",
    "StaticPartitionsDefinition": "partita.definitions.partitions",
    "TaskGroup": "partita.definitions.taskgroup",
    "TaskInstanceModel": "partita.schemas",
    "TaskState": "partita.definitions.states",
    "TimeDeltaSensor": "partita.sensors.date_time",
    "TimeRestriction": "partita.definitions.timetables",
    "TimeSensor": "partita.sensors.calendar",
    "TimeWindow": "partita.definitions.time_partitions",
    "TimeWindowPartitionMapping": "partita.definitions.partition_mapping",
    "TimeWindowPartitionsDefinition": "partita.definitions.time_partitions",
    "Timetable": "partita.definitions.timetables",
    "TriggerDagRunOperator": "partita.operators.trigger_dagrun",
    "TriggerRule": "partita.definitions.states",
    "UPathIOManager": "partita.storage.object_io",
    "Variable": "partita.definitions.variable",
    "VariableNotFoundError": "partita.exceptions",
    "WebhookNotifier": "partita.notifiers.webhook",
    "WeekDay": "partita.operators.calendar_branch",
    "WeeklyPartitionsDefinition": "partita.definitions.time_partitions",
    "WorkerPool": "partita.executors.local",
    "XComArg": "partita.definitions.xcom_arg",
    "asset": "partita.definitions.asset",
    "asset_check": "partita.definitions.asset_check",
    "asset_sensor": "partita.definitions.run_sensors",
    "build_schedule_context": "partita.definitions.schedules",
    "build_schedule_from_partitioned_job": "partita.definitions.partitioned_schedules",
    "build_sensor_context": "partita.definitions.sensors",
    "chain": "partita.definitions.dependencies",
    "config_mapping": "partita.definitions.config",
    "create_app": "partita.server.app",
    "cross_downstream": "partita.definitions.dependencies",
    "dag": "partita.definitions.dag",
    "daily_schedule": "partita.definitions.partitioned_schedules",
    "define_asset_job": "partita.definitions.asset_job",
    "discover": "partita.discovery",
    "get_current_context": "partita.definitions.context",
    "locate_dag": "partita.discovery",
    "mask_secret": "partita.masking",
    "materialize": "partita.executors.materialize",
    "multi_asset": "partita.definitions.asset",
    "open_store": "partita.storage.factory",
    "run_dag": "partita.executors.in_process",
    "run_failure_sensor": "partita.definitions.run_sensors",
    "run_status_sensor": "partita.definitions.run_sensors",
    "schedule": "partita.definitions.schedules",
    "sensor": "partita.definitions.sensors",
    "task": "partita.operators.taskflow",
    "setup": "partita.operators.setup_teardown",
    "teardown": "partita.operators.setup_teardown",
    "task_group": "partita.definitions.taskgroup",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from partita.dag_index import DagIndex as DagIndex
    from partita.definitions.asset import AssetIn as AssetIn
    from partita.definitions.asset import AssetOut as AssetOut
    from partita.definitions.asset import AssetsDefinition as AssetsDefinition
    from partita.definitions.asset import MaterializeResult as MaterializeResult
    from partita.definitions.asset import Output as Output
    from partita.definitions.asset import asset as asset
    from partita.definitions.asset import multi_asset as multi_asset
    from partita.definitions.asset_access import AssetAccessControl as AssetAccessControl
    from partita.definitions.asset_check import AssetCheckResult as AssetCheckResult
    from partita.definitions.asset_check import AssetChecksDefinition as AssetChecksDefinition
    from partita.definitions.asset_check import AssetCheckSeverity as AssetCheckSeverity
    from partita.definitions.asset_check import AssetCheckSpec as AssetCheckSpec
    from partita.definitions.asset_check import asset_check as asset_check
    from partita.definitions.asset_events import Asset as Asset
    from partita.definitions.asset_events import AssetAlias as AssetAlias
    from partita.definitions.asset_events import AssetAll as AssetAll
    from partita.definitions.asset_events import AssetAny as AssetAny
    from partita.definitions.asset_events import AssetEvent as AssetEvent
    from partita.definitions.asset_job import define_asset_job as define_asset_job
    from partita.definitions.asset_key import AssetKey as AssetKey
    from partita.definitions.asset_metadata import Metadata as Metadata
    from partita.definitions.asset_or_time import AssetOrTimeSchedule as AssetOrTimeSchedule
    from partita.definitions.asset_selection import AssetSelection as AssetSelection
    from partita.definitions.automation_condition import (
        AutomationCondition as AutomationCondition,
    )
    from partita.definitions.backfill_policy import BackfillPolicy as BackfillPolicy
    from partita.definitions.baseoperator import BaseOperator as BaseOperator
    from partita.definitions.config import Config as Config
    from partita.definitions.config import ConfigMapping as ConfigMapping
    from partita.definitions.config import RunConfig as RunConfig
    from partita.definitions.config import config_mapping as config_mapping
    from partita.definitions.connection import Connection as Connection
    from partita.definitions.context import Context as Context
    from partita.definitions.context import get_current_context as get_current_context
    from partita.definitions.dag import DAG as DAG
    from partita.definitions.dag import dag as dag
    from partita.definitions.definitions import Definitions as Definitions
    from partita.definitions.dependencies import Label as Label
    from partita.definitions.dependencies import chain as chain
    from partita.definitions.dependencies import cross_downstream as cross_downstream
    from partita.definitions.io_manager import InputContext as InputContext
    from partita.definitions.io_manager import IOManager as IOManager
    from partita.definitions.io_manager import OutputContext as OutputContext
    from partita.definitions.metadata import MetadataValue as MetadataValue
    from partita.definitions.params import Param as Param
    from partita.definitions.partition_mapping import AllPartitionMapping as AllPartitionMapping
    from partita.definitions.partition_mapping import (
        IdentityPartitionMapping as IdentityPartitionMapping,
    )
    from partita.definitions.partition_mapping import LastPartitionMapping as LastPartitionMapping
    from partita.definitions.partition_mapping import PartitionMapping as PartitionMapping
    from partita.definitions.partition_mapping import (
        StaticPartitionMapping as StaticPartitionMapping,
    )
    from partita.definitions.partition_mapping import (
        TimeWindowPartitionMapping as TimeWindowPartitionMapping,
    )
    from partita.definitions.partitioned_schedules import (
        build_schedule_from_partitioned_job as build_schedule_from_partitioned_job,
    )
    from partita.definitions.partitioned_schedules import daily_schedule as daily_schedule
    from partita.definitions.partitions import (
        AddDynamicPartitionsRequest as AddDynamicPartitionsRequest,
    )
    from partita.definitions.partitions import (
        DeleteDynamicPartitionsRequest as DeleteDynamicPartitionsRequest,
    )
    from partita.definitions.partitions import (
        DynamicPartitionsDefinition as DynamicPartitionsDefinition,
    )
    from partita.definitions.partitions import MultiPartitionKey as MultiPartitionKey
    from partita.definitions.partitions import (
        MultiPartitionsDefinition as MultiPartitionsDefinition,
    )
    from partita.definitions.partitions import PartitionKeyRange as PartitionKeyRange
    from partita.definitions.partitions import PartitionsDefinition as PartitionsDefinition
    from partita.definitions.partitions import (
        StaticPartitionsDefinition as StaticPartitionsDefinition,
    )
    from partita.definitions.priority_weight import PriorityWeightStrategy as PriorityWeightStrategy
    from partita.definitions.resources import ConfigurableResource as ConfigurableResource
    from partita.definitions.resources import EnvVar as EnvVar
    from partita.definitions.resources import Resource as Resource
    from partita.definitions.resources import ResourceParam as ResourceParam
    from partita.definitions.retry_policy import ExceptionRetryPolicy as ExceptionRetryPolicy
    from partita.definitions.retry_policy import RetryAction as RetryAction
    from partita.definitions.retry_policy import RetryDecision as RetryDecision
    from partita.definitions.retry_policy import RetryPolicy as RetryPolicy
    from partita.definitions.retry_policy import RetryRule as RetryRule
    from partita.definitions.run_sensors import RunFailureSensorContext as RunFailureSensorContext
    from partita.definitions.run_sensors import RunStatusSensorContext as RunStatusSensorContext
    from partita.definitions.run_sensors import asset_sensor as asset_sensor
    from partita.definitions.run_sensors import run_failure_sensor as run_failure_sensor
    from partita.definitions.run_sensors import run_status_sensor as run_status_sensor
    from partita.definitions.schedules import DefaultScheduleStatus as DefaultScheduleStatus
    from partita.definitions.schedules import RunRequest as RunRequest
    from partita.definitions.schedules import ScheduleDefinition as ScheduleDefinition
    from partita.definitions.schedules import ScheduleEvaluationContext as ScheduleEvaluationContext
    from partita.definitions.schedules import SkipReason as SkipReason
    from partita.definitions.schedules import build_schedule_context as build_schedule_context
    from partita.definitions.schedules import schedule as schedule
    from partita.definitions.sensor_operator import BaseSensorOperator as BaseSensorOperator
    from partita.definitions.sensor_operator import PokeReturnValue as PokeReturnValue
    from partita.definitions.sensor_result import SensorResult as SensorResult
    from partita.definitions.sensors import DefaultSensorStatus as DefaultSensorStatus
    from partita.definitions.sensors import SensorDefinition as SensorDefinition
    from partita.definitions.sensors import SensorEvaluationContext as SensorEvaluationContext
    from partita.definitions.sensors import build_sensor_context as build_sensor_context
    from partita.definitions.sensors import sensor as sensor
    from partita.definitions.states import RunState as RunState
    from partita.definitions.states import TaskState as TaskState
    from partita.definitions.states import TriggerRule as TriggerRule
    from partita.definitions.taskgroup import TaskGroup as TaskGroup
    from partita.definitions.taskgroup import task_group as task_group
    from partita.definitions.time_partitions import (
        DailyPartitionsDefinition as DailyPartitionsDefinition,
    )
    from partita.definitions.time_partitions import (
        HourlyPartitionsDefinition as HourlyPartitionsDefinition,
    )
    from partita.definitions.time_partitions import (
        MonthlyPartitionsDefinition as MonthlyPartitionsDefinition,
    )
    from partita.definitions.time_partitions import TimeWindow as TimeWindow
    from partita.definitions.time_partitions import (
        TimeWindowPartitionsDefinition as TimeWindowPartitionsDefinition,
    )
    from partita.definitions.time_partitions import (
        WeeklyPartitionsDefinition as WeeklyPartitionsDefinition,
    )
    from partita.definitions.timetables import (
        CronDataIntervalTimetable as CronDataIntervalTimetable,
    )
    from partita.definitions.timetables import CronTriggerTimetable as CronTriggerTimetable
    from partita.definitions.timetables import DagRunInfo as DagRunInfo
    from partita.definitions.timetables import (
        DeltaDataIntervalTimetable as DeltaDataIntervalTimetable,
    )
    from partita.definitions.timetables import DeltaTriggerTimetable as DeltaTriggerTimetable
    from partita.definitions.timetables import NullTimetable as NullTimetable
    from partita.definitions.timetables import OnceTimetable as OnceTimetable
    from partita.definitions.timetables import TimeRestriction as TimeRestriction
    from partita.definitions.timetables import Timetable as Timetable
    from partita.definitions.types import PartitaType as PartitaType
    from partita.definitions.variable import Variable as Variable
    from partita.definitions.xcom_arg import XComArg as XComArg
    from partita.discovery import Discovery as Discovery
    from partita.discovery import LocatedDag as LocatedDag
    from partita.discovery import discover as discover
    from partita.discovery import locate_dag as locate_dag
    from partita.engine.result import RunResult as RunResult
    from partita.exceptions import ConnectionNotFoundError as ConnectionNotFoundError
    from partita.exceptions import FailTask as FailTask
    from partita.exceptions import PartitaError as PartitaError
    from partita.exceptions import PartitionKeyError as PartitionKeyError
    from partita.exceptions import RescheduleTask as RescheduleTask
    from partita.exceptions import RetryTask as RetryTask
    from partita.exceptions import SensorEvaluationError as SensorEvaluationError
    from partita.exceptions import SensorTimeout as SensorTimeout
    from partita.exceptions import SignatureError as SignatureError
    from partita.exceptions import SkipTask as SkipTask
    from partita.exceptions import VariableNotFoundError as VariableNotFoundError
    from partita.executors.celery_executor import CeleryHub as CeleryHub
    from partita.executors.in_process import run_dag as run_dag
    from partita.executors.local import WorkerPool as WorkerPool
    from partita.executors.materialize import materialize as materialize
    from partita.hooks.base import BaseHook as BaseHook
    from partita.hooks.http import HttpError as HttpError
    from partita.hooks.http import HttpHook as HttpHook
    from partita.hooks.smtp import EmailError as EmailError
    from partita.hooks.smtp import SmtpHook as SmtpHook
    from partita.hooks.sql import DbApiHook as DbApiHook
    from partita.hooks.sql import SqlError as SqlError
    from partita.hooks.sql import SqlHook as SqlHook
    from partita.importer import DagSummary as DagSummary
    from partita.importer import FileResult as FileResult
    from partita.importer import Importer as Importer
    from partita.loader import ImportProblem as ImportProblem
    from partita.masking import mask_secret as mask_secret
    from partita.notifiers.base import BaseNotifier as BaseNotifier
    from partita.notifiers.base import NotifierError as NotifierError
    from partita.notifiers.smtp import EmailNotifier as EmailNotifier
    from partita.notifiers.smtp import SmtpNotifier as SmtpNotifier
    from partita.notifiers.webhook import SlackNotifier as SlackNotifier
    from partita.notifiers.webhook import WebhookNotifier as WebhookNotifier
    from partita.operators.asset import AssetOperator as AssetOperator
    from partita.operators.asset_check import AssetCheckOperator as AssetCheckOperator
    from partita.operators.bash import BashOperator as BashOperator
    from partita.operators.branch import BaseBranchOperator as BaseBranchOperator
    from partita.operators.branch import BranchPythonOperator as BranchPythonOperator
    from partita.operators.branch import ShortCircuitOperator as ShortCircuitOperator
    from partita.operators.calendar_branch import BranchDateTimeOperator as BranchDateTimeOperator
    from partita.operators.calendar_branch import (
        BranchDayOfWeekOperator as BranchDayOfWeekOperator,
    )
    from partita.operators.calendar_branch import WeekDay as WeekDay
    from partita.operators.email import EmailOperator as EmailOperator
    from partita.operators.empty import DummyOperator as DummyOperator
    from partita.operators.empty import EmptyOperator as EmptyOperator
    from partita.operators.external_task_marker import ExternalTaskMarker as ExternalTaskMarker
    from partita.operators.http import HttpOperator as HttpOperator
    from partita.operators.http import HttpSensor as HttpSensor
    from partita.operators.http import SimpleHttpOperator as SimpleHttpOperator
    from partita.operators.latest_only import LatestOnlyOperator as LatestOnlyOperator
    from partita.operators.python import PythonOperator as PythonOperator
    from partita.operators.setup_teardown import setup as setup
    from partita.operators.setup_teardown import teardown as teardown
    from partita.operators.sql import SQLExecuteQueryOperator as SQLExecuteQueryOperator
    from partita.operators.sql import SqlSensor as SqlSensor
    from partita.operators.taskflow import task as task
    from partita.operators.trigger_dagrun import TriggerDagRunOperator as TriggerDagRunOperator
    from partita.operators.virtualenv import (
        BranchExternalPythonOperator as BranchExternalPythonOperator,
    )
    from partita.operators.virtualenv import (
        BranchPythonVirtualenvOperator as BranchPythonVirtualenvOperator,
    )
    from partita.operators.virtualenv import ExternalPythonOperator as ExternalPythonOperator
    from partita.operators.virtualenv import PythonVirtualenvOperator as PythonVirtualenvOperator
    from partita.schemas import BackfillModel as BackfillModel
    from partita.schemas import DagRunDetailModel as DagRunDetailModel
    from partita.schemas import DagRunModel as DagRunModel
    from partita.schemas import TaskInstanceModel as TaskInstanceModel
    from partita.sensors.bash import BashSensor as BashSensor
    from partita.sensors.calendar import DayOfWeekSensor as DayOfWeekSensor
    from partita.sensors.calendar import TimeSensor as TimeSensor
    from partita.sensors.date_time import DateTimeSensor as DateTimeSensor
    from partita.sensors.date_time import TimeDeltaSensor as TimeDeltaSensor
    from partita.sensors.external_task import ExternalTaskSensor as ExternalTaskSensor
    from partita.sensors.filesystem import FileSensor as FileSensor
    from partita.sensors.python import PythonSensor as PythonSensor
    from partita.server.app import create_app as create_app
    from partita.server.config import ServerConfig as ServerConfig
    from partita.storage.auth import Role as Role
    from partita.storage.factory import open_store as open_store
    from partita.storage.io_managers import FilesystemIOManager as FilesystemIOManager
    from partita.storage.io_managers import InMemoryIOManager as InMemoryIOManager
    from partita.storage.object_io import FsspecIOManager as FsspecIOManager
    from partita.storage.object_io import UPathIOManager as UPathIOManager
    from partita.storage.parquet_io import ParquetIOManager as ParquetIOManager


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'partita' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
