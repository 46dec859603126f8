"""Which Airflow module serves which names, and the partita object behind each name.

The table is data: Airflow module path -> {Airflow name: target}. A target is
``"module:attribute"``, resolved only when a DAG file asks for that name, so an
entry may name something that does not exist yet (a name another part of
partita adds later): importing it then fails with "not supported by partita
yet" instead of breaking the whole table. Most targets are partita's public
names (``"partita:SkipTask"``); the few Airflow-only helpers live in
``partita.compat.airflow.shims``.

Every target resolves today (sensors, integrations, notifiers and assets are
part of partita); a test keeps it so.
"""

from __future__ import annotations

SHIMS = "partita.compat.airflow.shims"


def _public(*names: str) -> dict[str, str]:
    return {name: f"partita:{name}" for name in names}


_EXCEPTIONS = {
    "AirflowException": f"{SHIMS}:AirflowException",
    "AirflowSkipException": "partita:SkipTask",
    "AirflowFailException": "partita:FailTask",
    "AirflowTaskTimeout": "partita.exceptions:TaskTimeoutError",
    "AirflowSensorTimeout": "partita:SensorTimeout",
    "AirflowRescheduleException": "partita:RescheduleTask",
    "AirflowNotFoundException": "partita:ConnectionNotFoundError",
}

_AUTHORING = {
    **_public("DAG", "dag", "task_group", "TaskGroup", "chain", "cross_downstream"),
    "task": f"{SHIMS}:task",
    **_public("BaseOperator", "Param", "XComArg", "TriggerRule", "get_current_context", "Label"),
    **_public("Context", "CronTriggerTimetable", "CronDataIntervalTimetable"),
    **_public("DeltaDataIntervalTimetable", "DeltaTriggerTimetable", "Timetable"),
    "DagRunState": "partita:RunState",
    "TaskInstanceState": "partita:TaskState",
    **_public("setup", "teardown"),  # setup and teardown tasks (definitions/setup_teardown.py)
}

_SENSORS = _public(
    "BaseSensorOperator",
    "BashSensor",
    "TimeSensor",
    "DayOfWeekSensor",
    "PokeReturnValue",
    "PythonSensor",
    "FileSensor",
    "TimeDeltaSensor",
    "DateTimeSensor",
    "ExternalTaskSensor",
)

_INTEGRATIONS = _public(
    "BaseHook",
    "Connection",
    "Variable",
    "BaseNotifier",
    "TriggerDagRunOperator",
    "Asset",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetOrTimeSchedule",
    "Metadata",
    "AssetAccessControl",
)
_RETRY_POLICY = _public(
    "ExceptionRetryPolicy", "RetryAction", "RetryDecision", "RetryPolicy", "RetryRule"
)

_PYTHON_OPERATORS = _public(
    "PythonOperator",
    "BranchPythonOperator",
    "ShortCircuitOperator",
    # Issue 14 item 2 (compat): functions run in another interpreter.
    "PythonVirtualenvOperator",
    "ExternalPythonOperator",
    "BranchPythonVirtualenvOperator",
    "BranchExternalPythonOperator",
)
_EXTERNAL_TASK = _public("ExternalTaskSensor", "ExternalTaskMarker")
_BRANCH = _public("BaseBranchOperator")
_EMPTY = _public("EmptyOperator", "DummyOperator")
_TIMEZONE = {
    name: f"{SHIMS}:{name}"
    for name in ("datetime", "utcnow", "utc", "make_aware", "parse", "convert_to_utc")
}

_WEEKDAY = _public("WeekDay")
_DAY_OF_WEEK = _public("BranchDayOfWeekOperator")
_DATETIME = _public("BranchDateTimeOperator")

#: Airflow 3 paths first (airflow.sdk and the standard provider), then Airflow 2 paths.
MODULES: dict[str, dict[str, str]] = {
    "airflow": {**_public("DAG"), **_public("Asset", "XComArg")},
    "airflow.sdk": {
        **_AUTHORING,
        **_SENSORS,
        **_INTEGRATIONS,
        **_RETRY_POLICY,
        **_public("SkipTask"),
    },
    "airflow.sdk.definitions.retry_policy": _RETRY_POLICY,
    "airflow.sdk.definitions.dag": _public("DAG", "dag"),
    "airflow.sdk.definitions.taskgroup": _public("TaskGroup"),
    "airflow.sdk.definitions.param": _public("Param"),
    "airflow.sdk.bases.operator": {**_public("BaseOperator", "chain", "cross_downstream")},
    "airflow.sdk.bases.sensor": _public("BaseSensorOperator", "PokeReturnValue"),
    "airflow.sdk.bases.hook": _public("BaseHook"),
    "airflow.sdk.bases.notifier": _public("BaseNotifier"),
    "airflow.sdk.exceptions": _EXCEPTIONS,
    "airflow.sdk.timezone": _TIMEZONE,
    "airflow.exceptions": _EXCEPTIONS,
    "airflow.providers.common.compat.sdk": {**_AUTHORING, **_EXCEPTIONS, "timezone": SHIMS},
    "airflow.providers.standard.operators.python": _PYTHON_OPERATORS,
    "airflow.providers.standard.operators.bash": _public("BashOperator"),
    "airflow.providers.standard.operators.empty": _EMPTY,
    "airflow.providers.standard.operators.branch": _BRANCH,
    "airflow.providers.standard.operators.latest_only": _public("LatestOnlyOperator"),
    "airflow.providers.standard.operators.trigger_dagrun": _public("TriggerDagRunOperator"),
    "airflow.providers.standard.operators.weekday": _DAY_OF_WEEK,
    "airflow.providers.standard.operators.datetime": _DATETIME,
    "airflow.providers.standard.utils.weekday": _WEEKDAY,
    "airflow.providers.standard.sensors.python": _public("PythonSensor"),
    "airflow.providers.standard.sensors.filesystem": _public("FileSensor"),
    "airflow.providers.standard.sensors.time_delta": _public("TimeDeltaSensor"),
    "airflow.providers.standard.sensors.date_time": _public("DateTimeSensor"),
    "airflow.providers.standard.sensors.external_task": _EXTERNAL_TASK,
    "airflow.providers.standard.sensors.bash": _public("BashSensor"),
    "airflow.providers.standard.sensors.time": _public("TimeSensor"),
    "airflow.providers.standard.sensors.weekday": _public("DayOfWeekSensor"),
    "airflow.providers.standard.decorators": {"task": f"{SHIMS}:task"},
    "airflow.operators.python": _PYTHON_OPERATORS,
    "airflow.operators.python_operator": _PYTHON_OPERATORS,
    "airflow.operators.bash": _public("BashOperator"),
    "airflow.operators.bash_operator": _public("BashOperator"),
    "airflow.operators.empty": _EMPTY,
    "airflow.operators.dummy": _EMPTY,
    "airflow.operators.dummy_operator": _EMPTY,
    "airflow.operators.branch": _BRANCH,
    "airflow.operators.latest_only": _public("LatestOnlyOperator"),
    "airflow.operators.trigger_dagrun": _public("TriggerDagRunOperator"),
    "airflow.operators.weekday": _DAY_OF_WEEK,
    "airflow.operators.datetime": _DATETIME,
    "airflow.utils.weekday": _WEEKDAY,
    "airflow.sensors.python": _public("PythonSensor"),
    "airflow.sensors.filesystem": _public("FileSensor"),
    "airflow.sensors.time_delta": _public("TimeDeltaSensor"),
    "airflow.sensors.date_time": _public("DateTimeSensor"),
    "airflow.sensors.external_task": _EXTERNAL_TASK,
    "airflow.sensors.bash": _public("BashSensor"),
    "airflow.sensors.time_sensor": _public("TimeSensor"),
    "airflow.sensors.weekday": _public("DayOfWeekSensor"),
    "airflow.sensors.base": _public("BaseSensorOperator", "PokeReturnValue"),
    "airflow.decorators": {
        **_public("dag", "task_group", "setup", "teardown"),
        "task": f"{SHIMS}:task",
    },
    "airflow.models": {**_public("DAG", "BaseOperator", "Param", "Variable", "Connection")},
    "airflow.models.dag": _public("DAG"),
    "airflow.models.baseoperator": _public("BaseOperator", "chain", "cross_downstream"),
    "airflow.models.param": _public("Param"),
    "airflow.models.variable": _public("Variable"),
    "airflow.models.connection": _public("Connection"),
    "airflow.models.xcom_arg": _public("XComArg"),
    "airflow.hooks.base": _public("BaseHook"),
    "airflow.utils.task_group": _public("TaskGroup"),
    "airflow.utils.trigger_rule": _public("TriggerRule"),
    "airflow.utils.edgemodifier": _public("Label"),
    "airflow.utils.state": {
        "DagRunState": "partita:RunState",
        "TaskInstanceState": "partita:TaskState",
    },
    "airflow.utils.helpers": _public("chain", "cross_downstream"),
    "airflow.utils.timezone": _TIMEZONE,
    "airflow.utils.dates": {"days_ago": f"{SHIMS}:days_ago"},
    "airflow.timetables.trigger": _public("CronTriggerTimetable", "DeltaTriggerTimetable"),
    "airflow.timetables.interval": _public(
        "CronDataIntervalTimetable", "DeltaDataIntervalTimetable"
    ),
    # A timetable class written for Airflow, and the plugins that register them (compat).
    "airflow.timetables.base": {
        "Timetable": "partita.compat.airflow.timetable:AirflowTimetable",
        "DataInterval": "partita.compat.airflow.timetable:DataInterval",
        **_public("DagRunInfo", "TimeRestriction"),
    },
    "airflow.plugins_manager": {"AirflowPlugin": "partita.compat.airflow.plugins:AirflowPlugin"},
    "airflow.task.priority_strategy": _public("PriorityWeightStrategy"),
    "airflow.timetables.assets": _public("AssetOrTimeSchedule"),
    "airflow.configuration": {"conf": f"{SHIMS}:conf"},
    # Provider packages of the integrations (connections, hooks, operators, notifiers).
    "airflow.providers.common.sql.hooks.sql": _public("DbApiHook"),
    "airflow.providers.common.sql.operators.sql": _public("SQLExecuteQueryOperator"),
    "airflow.providers.common.sql.sensors.sql": _public("SqlSensor"),
    "airflow.hooks.dbapi": _public("DbApiHook"),
    "airflow.hooks.dbapi_hook": _public("DbApiHook"),
    "airflow.providers.http.hooks.http": _public("HttpHook"),
    "airflow.providers.http.operators.http": _public("HttpOperator", "SimpleHttpOperator"),
    "airflow.providers.http.sensors.http": _public("HttpSensor"),
    "airflow.providers.smtp.hooks.smtp": _public("SmtpHook"),
    "airflow.providers.smtp.notifications.smtp": _public("SmtpNotifier"),
    "airflow.providers.smtp.operators.smtp": _public("EmailOperator"),
    "airflow.operators.email": _public("EmailOperator"),
}
