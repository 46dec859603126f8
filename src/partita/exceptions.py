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
    │   ├── PartitionKeyError     a partition key that is not one of its definition's keys
    │   └── ResourceError         a resource is missing, misconfigured, or failed to open
    ├── TypeCheckError            a task's input or output is not of its annotated type
    ├── AssetNotMaterializedError an upstream asset's value was never stored
    ├── ConfigurationError        partita's own settings (partita.yaml, environment) are wrong
    │   └── SecretKeyError        a stored secret cannot be decrypted with the Fernet key(s)
    ├── ConnectionNotFoundError   no connection with that id (environment or metadata DB)
    ├── ConnectionURIError        a connection URI or JSON is malformed; names the bad part
    ├── VariableNotFoundError     no variable with that key (also a KeyError)
    ├── ScheduleEvaluationError   a schedule's function raised or returned something unusable
    ├── SensorEvaluationError     a sensor's function raised, returned something unusable, or hung
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
    │   └── SensorTimeout         a sensor passed its timeout (AirflowSensorTimeout)
    ├── RetryTask                 ask for a retry (Dagster's RetryRequested)
    └── RescheduleTask            run again later, same try (AirflowRescheduleException)

The design decision: user-facing errors carry a message that names the object
(DAG, task, file, run) and says what to do, so the CLI can print ``str(exc)``
as a one-line error and never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
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


class PartitionKeyError(RunConfigError):
    """A partition key outside its partitions definition (the message names the nearest keys)."""


class ResourceError(RunConfigError):
    """A resource a task needs is not provided, cannot be configured, or failed to open."""


class TypeCheckError(PartitaError):
    """A task's input or output is not of its annotated type (raised inside the task)."""


class AssetNotMaterializedError(PartitaError):
    """An asset needs an upstream asset whose value was never stored."""


class ConfigurationError(PartitaError):
    """partita's own configuration (partita.yaml, environment variables) is invalid."""


class SecretKeyError(ConfigurationError):
    """A stored secret cannot be decrypted with the Fernet key(s) (storage/fernet.py)."""


class ConnectionNotFoundError(PartitaError):
    """No connection with that id in the environment or in the metadata database."""


class ConnectionURIError(PartitaError):
    """A connection URI (or its JSON form) is malformed; the message names the bad part."""


class VariableNotFoundError(PartitaError, KeyError):
    """No variable with that key in the environment or in the metadata database."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ScheduleEvaluationError(PartitaError):
    """A schedule's function (or ``should_execute``) raised, or returned something unusable."""


class SensorEvaluationError(PartitaError):
    """A sensor's function raised, returned something unusable, or ran past its time limit."""


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


class SensorTimeout(FailTask):
    """A sensor did not succeed within its ``timeout``; it fails without retrying (Airflow's
    ``AirflowSensorTimeout``), or is skipped when the sensor has ``soft_fail=True``."""


class RescheduleTask(TaskSignal):
    """Raise inside a task to give its worker slot back and run again at ``reschedule_date``.

    The task instance waits as ``up_for_reschedule``; its next run is the same
    try (the try number does not grow), as a sensor in ``mode="reschedule"`` does.
    """

    def __init__(self, reschedule_date: datetime) -> None:
        if reschedule_date.tzinfo is None:
            raise ValueError(
                f"RescheduleTask needs an aware datetime, got naive {reschedule_date!r}; "
                "pass one with a tzinfo (e.g. datetime.now(UTC))"
            )
        super().__init__(f"rescheduled to {reschedule_date.isoformat()}")
        self.reschedule_date = reschedule_date


__all__ = [
    "AssetNotMaterializedError",
    "BackfillNotFoundError",
    "ConfigurationError",
    "ConnectionNotFoundError",
    "ConnectionURIError",
    "CycleError",
    "DagLoadError",
    "DagNotFoundError",
    "DefinitionError",
    "DuplicateTaskError",
    "FailTask",
    "PartitaError",
    "PartitionKeyError",
    "RescheduleTask",
    "ResourceError",
    "RetryTask",
    "RunConfigError",
    "RunNotFoundError",
    "ScheduleEvaluationError",
    "SecretKeyError",
    "SensorEvaluationError",
    "SensorTimeout",
    "SignatureError",
    "SkipTask",
    "StorageError",
    "TaskSignal",
    "TaskTimeoutError",
    "TypeCheckError",
    "ValueNotFoundError",
    "VariableNotFoundError",
]
