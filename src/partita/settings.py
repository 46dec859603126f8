"""partita's own settings: where its home is, which metadata database, where outputs go.

The design decision: settings are read once, by ``load_settings``, into a
frozen ``Settings`` object that is passed down; nothing else reads the
environment or ``partita.yaml``, and nothing is read at import time. For every
field the order is: environment variable, then ``$PARTITA_HOME/partita.yaml``,
then the default.

    PARTITA_HOME                 home folder (default ``./.partita``, relative to cwd)
    PARTITA_DATABASE_URL         ``database_url:``        (default ``sqlite:///<home>/partita.db``)
    PARTITA_STORAGE_DIR          ``storage_dir:``         (default ``<home>/storage``)
    PARTITA_INLINE_OUTPUT_LIMIT  ``inline_output_limit:`` (default 262144 bytes)
    PARTITA_DEFAULT_TIMEZONE     ``default_timezone:``    (default ``UTC``): the zone of naive
                                 dates and cron strings of DAGs that name no zone of their own
    PARTITA_DAGS_PAUSED_AT_CREATION ``dags_paused_at_creation:`` (default false): whether a DAG
                                 the scheduler sees for the first time starts paused (a DAG's
                                 own ``is_paused_upon_creation`` wins)
    PARTITA_IMPORT_TIMEOUT       ``import_timeout:``      (default 30 seconds per DAG file)
    PARTITA_WORKER_HEARTBEAT_INTERVAL ``worker_heartbeat_interval:`` (default 1 second): how
                                 often a busy worker of the local executor says it is alive
    PARTITA_WORKER_HEARTBEAT_TIMEOUT ``worker_heartbeat_timeout:`` (default 30 seconds): a busy
                                 worker silent for longer is killed and its tasks run again
    PARTITA_MAX_LOST_ATTEMPTS    ``max_lost_attempts:``   (default 3): tries of a task instance
                                 lost with their worker before it fails
    PARTITA_EXECUTOR             ``executor:`` (default ``local``): where the scheduler runs
                                 tasks: ``local`` (a pool of processes) or ``celery``
    PARTITA_CELERY_BROKER_URL    ``celery_broker_url:`` (default ``redis://127.0.0.1:6379/0``):
                                 the broker of the Celery executor (Redis or RabbitMQ)
    PARTITA_DATABASE_POOL_SIZE   ``database_pool_size:`` (default 5): connections a process keeps
                                 open to a PostgreSQL metadata database
    PARTITA_DATABASE_MAX_OVERFLOW ``database_max_overflow:`` (default 10): connections opened
                                 beyond the pool at busy moments (closed when returned)
    PARTITA_DATABASE_POOL_TIMEOUT ``database_pool_timeout:`` (default 30 seconds): how long a
                                 thread waits for a free connection before it fails
    PARTITA_DATABASE_CONNECT_TIMEOUT ``database_connect_timeout:`` (default 10 seconds): how
                                 long opening one connection to PostgreSQL may take
    PARTITA_MAX_CONCURRENT_RUNS  ``max_concurrent_runs:`` (default 16): runs a scheduler drives
                                 at once, across all DAGs
    PARTITA_SENSORS_DEFAULT_STATUS ``sensors_default_status:`` (default ``running``): whether a
                                 sensor that sets no ``default_status`` is evaluated as soon
                                 as it is loaded (``running``) or waits for ``partita sensors
                                 start`` (``stopped``)
    PARTITA_SENSOR_EVALUATION_TIMEOUT ``sensor_evaluation_timeout:`` (default 60 seconds): an
                                 evaluation of a sensor running longer fails its tick
    PARTITA_SCHEDULER_POLL_INTERVAL ``scheduler_poll_interval:`` (default 5 seconds): how often
                                 an idle scheduler looks at the database for changes no
                                 wake-up call told it of (another host's)
    (partita.yaml only)          ``code_locations:`` files, folders or modules the scheduler
                                 loads when ``partita scheduler`` / ``partita dev`` get no PATH
    (partita.yaml only)          ``run_tag_limits:`` tag -> the most runs of DAGs with that tag
                                 a scheduler runs at once
    (partita.yaml only)          ``retention:`` ``{older_than: 30d, keep_last: N, every: 1h,
                                 tables: [runs, ticks, ...]}``: the scheduler deletes
                                 what is older, every ``every`` (``partita db clean``'s rules)
    PARTITA_BASE_URL             ``base_url:``            (default ``http://localhost:8080``): where
                                 the web UI is reached; notifiers link to runs under it
    PARTITA_SCHEDULER_CLOCK      (environment only, a testing aid) ``<ISO start>:<speed>``: the
                                 scheduler's clock starts at that time and runs that much faster
    PARTITA_SECRET_KEY           (environment only) the key that signs stored pickles;
                                 default: ``<home>/secret.key`` (SQLite only)
    PARTITA_FERNET_KEY           (environment only) the Fernet key(s), comma-separated, newest
                                 first, that encrypt connections and variables;
                                 default: ``<home>/fernet.key`` (SQLite only)

Relative paths given in the environment are resolved against the working
directory; relative paths given in ``partita.yaml`` against the home folder.
``Settings`` is a plain frozen dataclass and ``partita.yaml`` is parsed (YAML,
pydantic) by ``settings_file`` only when it exists, so reading the settings
costs every command next to nothing (pydantic's ``SecretStr`` is imported only
when a secret key is set).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partita.definitions.timezones import TimezoneError, parse_timezone
from partita.exceptions import ConfigurationError

if TYPE_CHECKING:
    from pydantic import SecretStr

CONFIG_FILE_NAME = "partita.yaml"
DEFAULT_HOME = ".partita"
DEFAULT_INLINE_OUTPUT_LIMIT = 256 * 1024
DEFAULT_IMPORT_TIMEOUT = 30.0
DEFAULT_WORKER_HEARTBEAT_INTERVAL = 1.0
DEFAULT_WORKER_HEARTBEAT_TIMEOUT = 30.0
DEFAULT_MAX_LOST_ATTEMPTS = 3
DEFAULT_MAX_CONCURRENT_RUNS = 16
DEFAULT_SENSOR_EVALUATION_TIMEOUT = 60.0
DEFAULT_SCHEDULER_POLL_INTERVAL = 5.0
SENSOR_STATUSES = ("running", "stopped")
DEFAULT_BASE_URL = "http://localhost:8080"
EXECUTORS = ("local", "celery")
DEFAULT_CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DATABASE_POOL_SIZE = 5
DEFAULT_DATABASE_MAX_OVERFLOW = 10
DEFAULT_DATABASE_POOL_TIMEOUT = 30.0
DEFAULT_DATABASE_CONNECT_TIMEOUT = 10.0
DAG_INDEX_FILE_NAME = "dag_index.json"
SECRET_KEY_VARIABLE = "PARTITA_SECRET_KEY"
FERNET_KEY_VARIABLE = "PARTITA_FERNET_KEY"
MIN_SECRET_KEY_CHARS = 32


@dataclass(frozen=True)
class RetentionSettings:
    """``retention:`` of ``partita.yaml``: what the scheduler deletes, and how often."""

    older_than: timedelta
    keep_last: int = 0
    every: timedelta = timedelta(hours=1)
    #: Empty: every table ``partita db clean`` knows.
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """partita's resolved settings; build it with ``load_settings``."""

    home: Path
    database_url: str
    storage_dir: Path
    inline_output_limit: int = DEFAULT_INLINE_OUTPUT_LIMIT
    #: IANA name of the zone naive datetimes are read in, for DAGs with no zone of their own.
    default_timezone: str = "UTC"
    #: Whether new DAGs start paused when they do not say (``is_paused_upon_creation``).
    dags_paused_at_creation: bool = False
    #: Seconds one DAG file may take to import before it is stopped (its importer killed).
    import_timeout: float = DEFAULT_IMPORT_TIMEOUT
    #: ``PARTITA_SECRET_KEY``: the key that signs stored pickles (``storage/signing.py``).
    secret_key: SecretStr | None = None
    #: ``PARTITA_FERNET_KEY``: the keys that encrypt connections and variables (storage/fernet.py).
    fernet_key: SecretStr | None = None
    #: Seconds between the heartbeats of a busy worker process (local executor).
    worker_heartbeat_interval: float = DEFAULT_WORKER_HEARTBEAT_INTERVAL
    #: Seconds without a heartbeat after which a busy worker is killed and its tries are lost.
    worker_heartbeat_timeout: float = DEFAULT_WORKER_HEARTBEAT_TIMEOUT
    #: Tries of one task instance lost with their worker before the instance fails.
    max_lost_attempts: int = DEFAULT_MAX_LOST_ATTEMPTS
    #: What the scheduler loads when given no PATH (files, folders, modules).
    code_locations: tuple[str, ...] = ()
    #: Runs one scheduler drives at once, across all DAGs.
    max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS
    #: Tag -> the most runs of DAGs with that tag one scheduler runs at once.
    run_tag_limits: tuple[tuple[str, int], ...] = ()
    #: ``PARTITA_SCHEDULER_CLOCK`` (testing aid): ``<ISO start>:<speed>``; None: the real clock.
    scheduler_clock: str | None = None
    #: ``running`` or ``stopped``: the status of sensors that set no ``default_status``.
    sensors_default_status: str = "running"
    #: Seconds one evaluation of a sensor may take before its tick fails.
    sensor_evaluation_timeout: float = DEFAULT_SENSOR_EVALUATION_TIMEOUT
    #: Seconds between an idle scheduler's looks for changes it was not woken for.
    scheduler_poll_interval: float = DEFAULT_SCHEDULER_POLL_INTERVAL
    #: ``retention:`` of ``partita.yaml``; None: the scheduler deletes nothing.
    retention: RetentionSettings | None = None
    #: Where people reach the web UI; notifications link to runs under it.
    base_url: str = DEFAULT_BASE_URL
    #: Where the scheduler runs task instances: ``local`` (a process pool) or ``celery``.
    executor: str = "local"
    #: The Celery executor's broker (``redis://...`` or ``amqp://...``).
    celery_broker_url: str = DEFAULT_CELERY_BROKER_URL
    #: Connections a process keeps open to a PostgreSQL metadata database.
    database_pool_size: int = DEFAULT_DATABASE_POOL_SIZE
    #: Connections opened beyond the pool at busy moments.
    database_max_overflow: int = DEFAULT_DATABASE_MAX_OVERFLOW
    #: Seconds a thread waits for a free connection of the pool.
    database_pool_timeout: float = DEFAULT_DATABASE_POOL_TIMEOUT
    #: Seconds opening one connection to PostgreSQL may take.
    database_connect_timeout: float = DEFAULT_DATABASE_CONNECT_TIMEOUT

    def __post_init__(self) -> None:
        if self.database_pool_size < 1:
            raise ConfigurationError(
                f"database_pool_size must be a whole number >= 1, got {self.database_pool_size}; "
                "set PARTITA_DATABASE_POOL_SIZE or 'database_pool_size:' in partita.yaml"
            )
        if self.executor not in EXECUTORS:
            raise ConfigurationError(
                f"executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}; "
                f"set PARTITA_EXECUTOR or 'executor:' in partita.yaml"
            )
        if self.inline_output_limit < 0:
            raise ConfigurationError(
                f"inline_output_limit must be a number of bytes >= 0, "
                f"got {self.inline_output_limit}"
            )
        if self.max_concurrent_runs < 1:
            raise ConfigurationError(
                f"max_concurrent_runs must be a whole number >= 1, got {self.max_concurrent_runs}"
            )
        if not self.import_timeout > 0:
            raise ConfigurationError(
                f"import_timeout must be a number of seconds > 0, got {self.import_timeout}"
            )
        if not self.worker_heartbeat_timeout > self.worker_heartbeat_interval:
            raise ConfigurationError(
                f"worker_heartbeat_timeout ({self.worker_heartbeat_timeout:g}s) must be longer "
                f"than worker_heartbeat_interval ({self.worker_heartbeat_interval:g}s)"
            )
        if self.sensors_default_status not in SENSOR_STATUSES:
            raise ConfigurationError(
                f"sensors_default_status must be 'running' or 'stopped', "
                f"got {self.sensors_default_status!r}"
            )
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"base_url must be an http:// or https:// URL, got {self.base_url!r}"
            )
        if self.max_lost_attempts < 1:
            raise ConfigurationError(
                f"max_lost_attempts must be a whole number >= 1, got {self.max_lost_attempts}"
            )

    @property
    def config_file(self) -> Path:
        """Where ``partita.yaml`` is looked for."""
        return self.home / CONFIG_FILE_NAME

    @property
    def dag_index_file(self) -> Path:
        """Where the index of which DAG file defines which DAG is kept."""
        return self.home / DAG_INDEX_FILE_NAME


def load_settings(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Read the environment (default ``os.environ``) and ``partita.yaml`` into ``Settings``.

    Raises ``ConfigurationError`` naming the file or variable and the fix when
    either holds something partita cannot use.
    """
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    home = (cwd / Path(env.get("PARTITA_HOME") or DEFAULT_HOME).expanduser()).resolve()
    from_file = FileSettings.read(home / CONFIG_FILE_NAME)

    database_url = env.get("PARTITA_DATABASE_URL") or from_file.database_url
    storage_dir = _path_setting(env, "PARTITA_STORAGE_DIR", cwd, from_file.storage_dir, home)
    return Settings(
        home=home,
        database_url=database_url or f"sqlite:///{home / 'partita.db'}",
        storage_dir=storage_dir or home / "storage",
        inline_output_limit=_int_setting(
            env, "PARTITA_INLINE_OUTPUT_LIMIT", from_file.inline_output_limit
        ),
        default_timezone=_timezone_setting(env, home / CONFIG_FILE_NAME, from_file),
        dags_paused_at_creation=_bool_setting(
            env, "PARTITA_DAGS_PAUSED_AT_CREATION", from_file.dags_paused_at_creation
        ),
        import_timeout=_seconds_setting(env, "PARTITA_IMPORT_TIMEOUT", from_file.import_timeout),
        secret_key=_secret_key(env),
        fernet_key=_fernet_key(env),
        worker_heartbeat_interval=_seconds_setting(
            env,
            "PARTITA_WORKER_HEARTBEAT_INTERVAL",
            from_file.worker_heartbeat_interval,
            DEFAULT_WORKER_HEARTBEAT_INTERVAL,
        ),
        worker_heartbeat_timeout=_seconds_setting(
            env,
            "PARTITA_WORKER_HEARTBEAT_TIMEOUT",
            from_file.worker_heartbeat_timeout,
            DEFAULT_WORKER_HEARTBEAT_TIMEOUT,
        ),
        max_lost_attempts=_int_setting(
            env,
            "PARTITA_MAX_LOST_ATTEMPTS",
            from_file.max_lost_attempts,
            DEFAULT_MAX_LOST_ATTEMPTS,
            "a whole number of attempts",
        ),
        code_locations=tuple(
            str(home / loc) if (home / loc).exists() else loc
            for loc in from_file.code_locations or ()
        ),
        max_concurrent_runs=_count_setting(
            env, "PARTITA_MAX_CONCURRENT_RUNS", from_file.max_concurrent_runs
        ),
        run_tag_limits=tuple(sorted((from_file.run_tag_limits or {}).items())),
        scheduler_clock=env.get("PARTITA_SCHEDULER_CLOCK") or None,
        sensors_default_status=_sensor_status_setting(env, from_file.sensors_default_status),
        sensor_evaluation_timeout=_seconds_setting(
            env,
            "PARTITA_SENSOR_EVALUATION_TIMEOUT",
            from_file.sensor_evaluation_timeout,
            DEFAULT_SENSOR_EVALUATION_TIMEOUT,
        ),
        scheduler_poll_interval=_seconds_setting(
            env,
            "PARTITA_SCHEDULER_POLL_INTERVAL",
            from_file.scheduler_poll_interval,
            DEFAULT_SCHEDULER_POLL_INTERVAL,
        ),
        retention=RetentionSettings(**from_file.retention) if from_file.retention else None,
        base_url=env.get("PARTITA_BASE_URL") or from_file.base_url or DEFAULT_BASE_URL,
        executor=env.get("PARTITA_EXECUTOR") or from_file.executor or "local",
        celery_broker_url=env.get("PARTITA_CELERY_BROKER_URL")
        or from_file.celery_broker_url
        or DEFAULT_CELERY_BROKER_URL,
        **_database_pool_settings(env, from_file),
    )


def _database_pool_settings(env: Mapping[str, str], from_file: FileSettings) -> dict[str, Any]:
    """The ``database_*`` pool settings (environment, then ``partita.yaml``, then default)."""
    connections = "a whole number of connections"
    return {
        "database_pool_size": _int_setting(
            env, "PARTITA_DATABASE_POOL_SIZE", from_file.database_pool_size,
            DEFAULT_DATABASE_POOL_SIZE, connections,
        ),
        "database_max_overflow": _int_setting(
            env, "PARTITA_DATABASE_MAX_OVERFLOW", from_file.database_max_overflow,
            DEFAULT_DATABASE_MAX_OVERFLOW, connections,
        ),
        "database_pool_timeout": _seconds_setting(
            env, "PARTITA_DATABASE_POOL_TIMEOUT", from_file.database_pool_timeout,
            DEFAULT_DATABASE_POOL_TIMEOUT,
        ),
        "database_connect_timeout": _seconds_setting(
            env, "PARTITA_DATABASE_CONNECT_TIMEOUT", from_file.database_connect_timeout,
            DEFAULT_DATABASE_CONNECT_TIMEOUT,
        ),
    }  # fmt: skip


@dataclass(frozen=True)
class FileSettings:
    """What ``partita.yaml`` set (None: not set); ``read`` validates the file."""

    database_url: str | None = None
    storage_dir: Path | None = None
    inline_output_limit: int | None = None
    default_timezone: str | None = None
    dags_paused_at_creation: bool | None = None
    import_timeout: float | None = None
    worker_heartbeat_interval: float | None = None
    worker_heartbeat_timeout: float | None = None
    max_lost_attempts: int | None = None
    code_locations: tuple[str, ...] | None = None
    max_concurrent_runs: int | None = None
    base_url: str | None = None
    run_tag_limits: dict[str, int] | None = None
    sensors_default_status: str | None = None
    sensor_evaluation_timeout: float | None = None
    scheduler_poll_interval: float | None = None
    retention: dict[str, Any] | None = None
    executor: str | None = None
    celery_broker_url: str | None = None
    database_pool_size: int | None = None
    database_max_overflow: int | None = None
    database_pool_timeout: float | None = None
    database_connect_timeout: float | None = None

    @classmethod
    def read(cls, path: Path) -> FileSettings:
        """The settings in ``path``; all None when there is no such file."""
        if not path.exists():
            return cls()
        # Only now: YAML and pydantic cost more than the rest of a command's start.
        from partita.settings_file import read_config_file

        return cls(**read_config_file(path))


def _timezone_setting(env: Mapping[str, str], config_file: Path, from_file: FileSettings) -> str:
    name = "PARTITA_DEFAULT_TIMEZONE"
    value, where = env.get(name), f"environment variable {name}"
    if not value:
        value, where = from_file.default_timezone, f"{config_file}: key 'default_timezone'"
    if not value:
        return "UTC"
    try:
        parse_timezone(value)
    except TimezoneError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    return value.strip()


def _sensor_status_setting(env: Mapping[str, str], from_file: str | None) -> str:
    name = "PARTITA_SENSORS_DEFAULT_STATUS"
    raw = env.get(name)
    if not raw:
        return from_file or "running"
    value = raw.strip().lower()
    if value not in SENSOR_STATUSES:
        raise ConfigurationError(
            f"environment variable {name}={raw!r} is not a sensor status; set it to running or "
            "stopped or unset it"
        )
    return value


def _secret_key(env: Mapping[str, str]) -> SecretStr | None:
    raw = env.get(SECRET_KEY_VARIABLE)
    if not raw:
        return None
    if len(raw) < MIN_SECRET_KEY_CHARS:
        raise ConfigurationError(
            f"environment variable {SECRET_KEY_VARIABLE} is too short ({len(raw)} characters); "
            f"use a random secret of at least {MIN_SECRET_KEY_CHARS} characters, e.g. from: "
            "python3 -c 'import secrets; print(secrets.token_hex(32))'"
        )
    from pydantic import SecretStr  # only when a key is set: pydantic is not cheap to import

    return SecretStr(raw)


def _fernet_key(env: Mapping[str, str]) -> SecretStr | None:
    raw = env.get(FERNET_KEY_VARIABLE, "").strip()
    if not raw:
        return None
    from pydantic import SecretStr  # only when a key is set: pydantic is not cheap to import

    return SecretStr(raw)


def _path_setting(
    env: Mapping[str, str], name: str, cwd: Path, from_file: Path | None, home: Path
) -> Path | None:
    if env.get(name):
        return (cwd / Path(env[name]).expanduser()).resolve()
    if from_file is not None:
        return (home / from_file.expanduser()).resolve()
    return None


def _int_setting(
    env: Mapping[str, str],
    name: str,
    from_file: int | None,
    default: int = DEFAULT_INLINE_OUTPUT_LIMIT,
    what: str = "a number of bytes",
) -> int:
    raw = env.get(name)
    if not raw:
        return default if from_file is None else from_file
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigurationError(
            f"environment variable {name}={raw!r} is not {what}; "
            f"set it to a whole number >= 0 or unset it"
        )
    return value


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _bool_setting(env: Mapping[str, str], name: str, from_file: bool | None) -> bool:
    raw = env.get(name)
    if not raw:
        return bool(from_file)
    value = raw.strip().lower()
    if value not in _TRUE + _FALSE:
        raise ConfigurationError(
            f"environment variable {name}={raw!r} is not a boolean; set it to true or false "
            f"or unset it"
        )
    return value in _TRUE


def _count_setting(env: Mapping[str, str], name: str, from_file: int | None) -> int:
    raw = env.get(name)
    if not raw:
        return DEFAULT_MAX_CONCURRENT_RUNS if from_file is None else from_file
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(
            f"environment variable {name}={raw!r} is not a whole number >= 1; "
            "set it to e.g. 16 or unset it"
        )
    return value


def _seconds_setting(
    env: Mapping[str, str],
    name: str,
    from_file: float | None,
    default: float = DEFAULT_IMPORT_TIMEOUT,
) -> float:
    raw = env.get(name)
    if not raw:
        return default if from_file is None else from_file
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ConfigurationError(
            f"environment variable {name}={raw!r} is not a number of seconds; "
            "set it to a number > 0 (such as 30 or 2.5) or unset it"
        )
    return value


__all__ = [
    "CONFIG_FILE_NAME",
    "FERNET_KEY_VARIABLE",
    "SECRET_KEY_VARIABLE",
    "RetentionSettings",
    "Settings",
    "load_settings",
]
