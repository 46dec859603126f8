"""The few Airflow helpers that have no partita object of their own to map to.

Airflow's ``timezone`` helpers, ``days_ago``, ``conf`` and ``AirflowException``
are part of how DAG files are written, not of what partita does, so they live
here rather than in partita's public API. Design decision: each behaves as
Airflow documents it for DAG files, on the standard library only (``zoneinfo``,
``os.environ``), with UTC as Airflow's default zone.
"""

from __future__ import annotations

import os
from datetime import UTC, tzinfo
from datetime import datetime as _datetime
from datetime import timedelta as _timedelta
from typing import Any

from partita.exceptions import PartitaError
from partita.operators.taskflow import task as _partita_task

utc = UTC


class AirflowException(PartitaError):
    """Airflow's base exception: raising it in a task fails the task (retries apply)."""


class AirflowConfigException(AirflowException):
    """A configuration option asked of ``conf`` is not set."""


def datetime(*args: Any, **kwargs: Any) -> _datetime:
    """A ``datetime`` in UTC unless ``tzinfo=`` says otherwise (Airflow's ``timezone.datetime``)."""
    kwargs.setdefault("tzinfo", UTC)
    return _datetime(*args, **kwargs)


def utcnow() -> _datetime:
    """The current time, aware, in UTC."""
    return _datetime.now(UTC)


def make_aware(value: _datetime, timezone: tzinfo | None = None) -> _datetime:
    """``value`` with ``timezone`` (UTC by default) when it has no zone; unchanged otherwise."""
    if value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone or UTC)


def convert_to_utc(value: _datetime) -> _datetime:
    """``value`` as UTC (a naive value is taken to be UTC already)."""
    return make_aware(value).astimezone(UTC)


def parse(text: str, timezone: tzinfo | None = None) -> _datetime:
    """An ISO 8601 string as an aware ``datetime`` (UTC when the string names no offset)."""
    return make_aware(_datetime.fromisoformat(text), timezone)


def days_ago(n: int, hour: int = 0, minute: int = 0, second: int = 0) -> _datetime:
    """Midnight UTC ``n`` days ago (Airflow 2's ``airflow.utils.dates.days_ago``)."""
    today = utcnow().replace(hour=hour, minute=minute, second=second, microsecond=0)
    return today - _timedelta(days=n)


#: Options of Airflow's default configuration that DAG files read, with Airflow's defaults.
CONF_DEFAULTS: dict[tuple[str, str], str] = {
    ("kubernetes_executor", "worker_container_repository"): "",
    ("kubernetes_executor", "worker_container_tag"): "",
    ("kubernetes_executor", "namespace"): "default",
    ("core", "default_timezone"): "utc",
    ("core", "load_examples"): "False",
}


class _Conf:
    """Airflow's ``conf``: options read from ``AIRFLOW__<SECTION>__<KEY>`` environment variables.

    An option that is not set has its Airflow default when ``CONF_DEFAULTS`` holds
    one (the value Airflow's own default configuration gives it).
    """

    _MISSING = object()

    def get(self, section: str, key: str, fallback: Any = _MISSING, **_: Any) -> Any:
        name = f"AIRFLOW__{section.upper()}__{key.upper()}"
        if name in os.environ:
            return os.environ[name]
        if fallback is not self._MISSING:
            return fallback
        default = CONF_DEFAULTS.get((section.lower(), key.lower()))
        if default is not None:
            return default
        raise AirflowConfigException(
            f"Airflow option [{section}] {key} is not set: partita has no airflow.cfg, "
            f"set the environment variable {name}"
        )

    def getboolean(self, section: str, key: str, fallback: Any = _MISSING, **_: Any) -> bool:
        value = self.get(section, key, fallback)
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "t")

    def has_option(self, section: str, key: str) -> bool:
        name = f"AIRFLOW__{section.upper()}__{key.upper()}"
        return name in os.environ or (section.lower(), key.lower()) in CONF_DEFAULTS


conf = _Conf()


class _AirflowTask:
    """Airflow's ``task``: partita's ``task``; a variant partita lacks fails with its name."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _partita_task(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return getattr(_partita_task, name)
        except AttributeError:
            from partita.compat.airflow import AirflowNameNotSupported

            raise AirflowNameNotSupported(
                f"@task.{name} is not supported by partita yet; see docs/airflow.md", name=name
            ) from None


task = _AirflowTask()

__all__ = [
    "AirflowConfigException",
    "AirflowException",
    "conf",
    "convert_to_utc",
    "datetime",
    "days_ago",
    "make_aware",
    "parse",
    "task",
    "utc",
    "utcnow",
]
