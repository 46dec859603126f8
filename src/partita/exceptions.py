"""Every exception partita raises or understands, in one documented tree.

    PartitaError                  base of everything partita raises
    ├── DefinitionError           a DAG or task is built wrongly (raised when it is defined)
    │   ├── CycleError            the dependencies form a cycle
    │   └── DuplicateTaskError    two tasks share an id in one DAG
    ├── DagLoadError              a DAG file, module or folder cannot be loaded
    ├── DagNotFoundError          no DAG with that id in what was loaded
    ├── RunNotFoundError          no run with that id in the metadata database
    ├── BackfillNotFoundError     no backfill with that id in the metadata database
    ├── RunConfigError            run conf, params or config are invalid; raised before a run
    │   ├── ParamValidationError  a param's value breaks its rule (definitions/params.py)
    │   └── ResourceError         a resource is missing, misconfigured, or failed to open
    ├── TypeCheckError            a task's input or output is not of its annotated type
    ├── AssetNotMaterializedError an upstream asset's value was never stored
    ├── ConfigurationError        partita's own settings (partita.yaml, environment) are wrong
    ├── ScheduleEvaluationError   a schedule's function raised or returned something unusable
    ├── StorageError              the metadata database or an output store failed
    │   ├── ValueNotFoundError    an IO manager has nothing stored under that asset or output
    │   └── SignatureError        a stored pickle is unsigned or fails its signature check
    ├── TaskTimeoutError          a task ran past its execution_timeout
    ├── TemplateRenderError       a task's template failed to render (engine/templating.py)
    ├── BranchChoiceError         a branch chose a task it cannot follow (operators/branch.py)
    ├── BashCommandError          a bash command exited non-zero (operators/bash.py)
    ├── ProjectInitError          ``partita init`` cannot write a project there (cli/init.py)
    └── MapInputError             a mapped task's input cannot be expanded (definitions/mapping.py)

    TaskSignal                    raised *by user code* inside a task to steer it
    ├── SkipTask                  mark the task skipped (Airflow's AirflowSkipException)
    ├── FailTask                  fail now, without retrying (AirflowFailException, Dagster Failure)
    └── RetryTask                 ask for a retry (Dagster's RetryRequested)

The design decision: user-facing errors carry a message that names the object
(DAG, task, file, run) and says what to do, so the CLI can print ``str(exc)``
as a one-line error and never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class PartitaError(Exception):
    """Base class of every error partita raises."""


class DefinitionError(PartitaError):
    """A DAG, task or dependency was defined wrongly."""


class CycleError(DefinitionError):
    """The dependencies of a DAG contain a cycle.

    ``site`` is ``(file, line)`` of the user's code that drew the edge closing
    the cycle (the ``>>`` line), when known; ``None`` otherwise.
    """

    def __init__(self, message: str, *, site: tuple[str, int] | None = None) -> None:
        super().__init__(message)
        self.site = site


class DuplicateTaskError(DefinitionError):
    """Two tasks in one DAG have the same task id."""


class DagLoadError(PartitaError):
    """A file, module or folder of DAGs could not be loaded."""


class DagNotFoundError(PartitaError):
    """A DAG id was asked for that the loaded code does not define.

    ``details``: lines that show where a failed import went wrong (the user's
    ``File "...", line N`` frames), printed after the one-line error; or "".
    """

    def __init__(self, message: str, *, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class RunNotFoundError(PartitaError):
    """A run id was asked for that the metadata database does not hold."""


class BackfillNotFoundError(PartitaError):
    """A backfill id was asked for that the metadata database does not hold."""


class RunConfigError(PartitaError):
    """The run conf or the DAG's params are invalid for this run."""


class ResourceError(RunConfigError):
    """A resource a task needs is not provided, cannot be configured, or failed to open."""


class TypeCheckError(PartitaError):
    """A task's input or output is not of its annotated type (raised inside the task)."""


class AssetNotMaterializedError(PartitaError):
    """An asset needs an upstream asset whose value was never stored."""


class ConfigurationError(PartitaError):
    """partita's own configuration (partita.yaml, environment variables) is invalid."""


class ScheduleEvaluationError(PartitaError):
    """A schedule's function (or ``should_execute``) raised, or returned something unusable."""


class StorageError(PartitaError):
    """The metadata database or an output store could not do what was asked."""


class ValueNotFoundError(StorageError):
    """An IO manager has no value stored under the asset or output asked for."""


class SignatureError(StorageError):
    """A stored pickle is not signed with partita's key, so it is not loaded (storage/signing)."""


class TaskTimeoutError(PartitaError):
    """A task ran longer than its execution_timeout and was stopped."""


class TaskSignal(Exception):
    """Base of the exceptions user code raises to steer its own task instance."""


class SkipTask(TaskSignal):
    """Raise inside a task to mark it skipped; downstream tasks follow their trigger rules."""


class FailTask(TaskSignal):
    """Raise inside a task to fail it at once, without using its remaining retries.

    ``metadata`` is stored with the failure and shown by ``partita runs show``.
    """

    def __init__(self, description: str = "", metadata: Mapping[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.metadata = dict(metadata or {})


class RetryTask(TaskSignal):
    """Raise inside a task to ask for a retry.

    ``max_retries`` overrides the task's ``retries`` for this decision;
    ``seconds_to_wait`` overrides its ``retry_delay``.
    """

    def __init__(
        self,
        description: str = "",
        *,
        max_retries: int | None = None,
        seconds_to_wait: float | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.max_retries = max_retries
        self.seconds_to_wait = seconds_to_wait


__all__ = [
    "AssetNotMaterializedError",
    "BackfillNotFoundError",
    "ConfigurationError",
    "CycleError",
    "DagLoadError",
    "DagNotFoundError",
    "DefinitionError",
    "DuplicateTaskError",
    "FailTask",
    "PartitaError",
    "ResourceError",
    "RetryTask",
    "RunConfigError",
    "RunNotFoundError",
    "ScheduleEvaluationError",
    "SignatureError",
    "SkipTask",
    "StorageError",
    "TaskSignal",
    "TaskTimeoutError",
    "TypeCheckError",
    "ValueNotFoundError",
]
