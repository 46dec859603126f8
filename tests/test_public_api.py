"""The public API of ``partita``: exactly these names, each importable.

Adding or removing a public name is a decision; this test makes it a visible one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import partita
import partita.exceptions

PUBLIC_NAMES = [
    "AddDynamicPartitionsRequest",
    "AllPartitionMapping",
    "Asset",
    "AssetAccessControl",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetCheckOperator",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetCheckSpec",
    "AssetChecksDefinition",
    "AssetEvent",
    "AssetIn",
    "AssetKey",
    "AssetOperator",
    "AssetOrTimeSchedule",
    "AssetOut",
    "AssetSelection",
    "AssetsDefinition",
    "AutomationCondition",
    "BackfillModel",
    "BackfillPolicy",
    "BaseBranchOperator",
    "BaseHook",
    "BaseNotifier",
    "BaseOperator",
    "BaseSensorOperator",
    "BashOperator",
    "BashSensor",
    "BranchDateTimeOperator",
    "BranchDayOfWeekOperator",
    "BranchExternalPythonOperator",
    "BranchPythonOperator",
    "BranchPythonVirtualenvOperator",
    "CeleryHub",
    "Config",
    "ConfigMapping",
    "ConfigurableResource",
    "Connection",
    "ConnectionNotFoundError",
    "Context",
    "CronDataIntervalTimetable",
    "CronTriggerTimetable",
    "DAG",
    "DagIndex",
    "DagRunDetailModel",
    "DagRunInfo",
    "DagRunModel",
    "DagSummary",
    "DailyPartitionsDefinition",
    "DateTimeSensor",
    "DayOfWeekSensor",
    "DbApiHook",
    "DefaultScheduleStatus",
    "DefaultSensorStatus",
    "Definitions",
    "DeleteDynamicPartitionsRequest",
    "DeltaDataIntervalTimetable",
    "DeltaTriggerTimetable",
    "Discovery",
    "DummyOperator",
    "DynamicPartitionsDefinition",
    "EmailError",
    "EmailNotifier",
    "EmailOperator",
    "EmptyOperator",
    "EnvVar",
    "ExceptionRetryPolicy",
    "ExternalPythonOperator",
    "ExternalTaskMarker",
    "ExternalTaskSensor",
    "FailTask",
    "FileResult",
    "FileSensor",
    "FilesystemIOManager",
    "FsspecIOManager",
    "HourlyPartitionsDefinition",
    "HttpError",
    "HttpHook",
    "HttpOperator",
    "HttpSensor",
    "IOManager",
    "IdentityPartitionMapping",
    "ImportProblem",
    "Importer",
    "InMemoryIOManager",
    "InputContext",
    "Label",
    "LastPartitionMapping",
    "LatestOnlyOperator",
    "LocatedDag",
    "MaterializeResult",
    "Metadata",
    "MetadataValue",
    "MonthlyPartitionsDefinition",
    "MultiPartitionKey",
    "MultiPartitionsDefinition",
    "NotifierError",
    "NullTimetable",
    "OnceTimetable",
    "Output",
    "OutputContext",
    "Param",
    "ParquetIOManager",
    "PartitaError",
    "PartitaType",
    "PartitionKeyError",
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionsDefinition",
    "PokeReturnValue",
    "PriorityWeightStrategy",
    "PythonOperator",
    "PythonSensor",
    "PythonVirtualenvOperator",
    "RescheduleTask",
    "Resource",
    "ResourceParam",
    "RetryAction",
    "RetryDecision",
    "RetryPolicy",
    "RetryRule",
    "RetryTask",
    "Role",
    "RunConfig",
    "RunFailureSensorContext",
    "RunRequest",
    "RunResult",
    "RunState",
    "RunStatusSensorContext",
    "SQLExecuteQueryOperator",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorEvaluationError",
    "SensorResult",
    "SensorTimeout",
    "ServerConfig",
    "ShortCircuitOperator",
    "SignatureError",
    "SimpleHttpOperator",
    "SkipReason",
    "SkipTask",
    "SlackNotifier",
    "SmtpHook",
    "SmtpNotifier",
    "SqlError",
    "SqlHook",
    "SqlSensor",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "TaskGroup",
    "TaskInstanceModel",
    "TaskState",
    "TimeDeltaSensor",
    "TimeRestriction",
    "TimeSensor",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "Timetable",
    "TriggerDagRunOperator",
    "TriggerRule",
    "UPathIOManager",
    "Variable",
    "VariableNotFoundError",
    "WebhookNotifier",
    "WeekDay",
    "WeeklyPartitionsDefinition",
    "WorkerPool",
    "XComArg",
    "asset",
    "asset_check",
    "asset_sensor",
    "build_schedule_context",
    "build_schedule_from_partitioned_job",
    "build_sensor_context",
    "chain",
    "config_mapping",
    "create_app",
    "cross_downstream",
    "dag",
    "daily_schedule",
    "define_asset_job",
    "discover",
    "get_current_context",
    "locate_dag",
    "mask_secret",
    "materialize",
    "multi_asset",
    "open_store",
    "run_dag",
    "run_failure_sensor",
    "run_status_sensor",
    "schedule",
    "sensor",
    "setup",
    "task",
    "task_group",
    "teardown",
]


def test_all_is_pinned() -> None:
    assert sorted(partita.__all__) == PUBLIC_NAMES
    assert len(set(partita.__all__)) == len(partita.__all__), "a name is listed twice"


def test_every_public_name_resolves() -> None:
    for name in partita.__all__:
        assert getattr(partita, name) is not None, name


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from partita import *", namespace)
    namespace.pop("__builtins__")
    assert sorted(namespace) == PUBLIC_NAMES


def test_version_is_a_string() -> None:
    assert isinstance(partita.__version__, str) and partita.__version__


def test_exceptions_follow_the_documented_tree() -> None:
    exc = partita.exceptions
    for name in exc.__all__:
        cls = getattr(exc, name)
        assert issubclass(cls, (exc.PartitaError, exc.TaskSignal)), name
    assert issubclass(exc.CycleError, exc.DefinitionError)
    assert issubclass(exc.DuplicateTaskError, exc.DefinitionError)
    for signal in (
        exc.SkipTask,
        exc.FailTask,
        exc.RetryTask,
        exc.RescheduleTask,
        exc.SensorTimeout,
    ):
        # User code raises these; partita's own errors are never task signals.
        assert issubclass(signal, exc.TaskSignal)
        assert not issubclass(signal, exc.PartitaError)


def test_the_type_checking_imports_match_the_lazy_table() -> None:
    """Type checkers read the TYPE_CHECKING imports, the runtime reads ``_EXPORTS``."""
    tree = ast.parse(Path(partita.__file__).read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    )
    imported = {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported == partita._EXPORTS


def test_import_partita_imports_no_heavy_library() -> None:
    """``import partita`` (and the CLI's --help) must stay instant: no SQLAlchemy & co."""
    heavy = ["sqlalchemy", "alembic", "pydantic", "jinja2", "jsonschema", "yaml", "rich", "celery"]
    probe = (
        "import sys, partita, partita.cli.main; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"import partita pulled in: {loaded}"


def test_a_public_name_is_imported_on_first_use() -> None:
    probe = (
        "import sys, partita; before = 'pydantic' in sys.modules; "
        "from partita import Config; print(before, 'pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        partita.Nope  # noqa: B018
    assert "DAG" in dir(partita)
