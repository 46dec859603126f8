"""The public API of ``partita``: exactly these names, each importable.

Adding or removing a public name is a decision; this test makes it a visible one.
"""

from __future__ import annotations

import partita
import partita.exceptions

PUBLIC_NAMES = [
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
    "DAG",
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
    for signal in (exc.SkipTask, exc.FailTask, exc.RetryTask):
        # User code raises these; partita's own errors are never task signals.
        assert issubclass(signal, exc.TaskSignal)
        assert not issubclass(signal, exc.PartitaError)
