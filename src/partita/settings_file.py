"""Read and validate ``partita.yaml``: YAML parsed by PyYAML, keys checked by pydantic.

The design decision: this is the only part of the settings that needs YAML
and pydantic, so it is a module of its own, imported by
``settings.FileSettings.read`` only when a ``partita.yaml`` exists; every
error names the file, the key and the fix.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from partita.definitions.durations import parse_duration
from partita.exceptions import ConfigurationError
from partita.storage.retention import check_tables


class _Retention(BaseModel):
    """``retention:``: ``older_than`` (required), ``keep_last``, ``every``, ``tables``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    older_than: timedelta
    keep_last: int = Field(default=0, ge=0)
    every: timedelta = timedelta(hours=1)
    tables: tuple[str, ...] = ()

    @field_validator("older_than", "every", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        if isinstance(value, timedelta):
            return value
        return parse_duration(str(value), "a duration")  # its ValueError names the fix

    @field_validator("tables")
    @classmethod
    def _tables(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            check_tables(value)
        except Exception as exc:
            raise ValueError(str(exc)) from None
        return value


class _FileSettings(BaseModel):
    """What ``partita.yaml`` may hold; every key is optional and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str | None = Field(default=None, min_length=1)
    storage_dir: Path | None = None
    inline_output_limit: int | None = Field(default=None, ge=0)
    default_timezone: str | None = Field(default=None, min_length=1)
    dags_paused_at_creation: bool | None = Field(default=None, strict=True)
    import_timeout: float | None = Field(default=None, gt=0)
    worker_heartbeat_interval: float | None = Field(default=None, gt=0)
    worker_heartbeat_timeout: float | None = Field(default=None, gt=0)
    max_lost_attempts: int | None = Field(default=None, ge=1)
    code_locations: tuple[str, ...] | None = None
    max_concurrent_runs: int | None = Field(default=None, ge=1)
    run_tag_limits: dict[str, Annotated[int, Field(ge=1)]] | None = None
    sensors_default_status: Literal["running", "stopped"] | None = None
    sensor_evaluation_timeout: float | None = Field(default=None, gt=0)
    scheduler_poll_interval: float | None = Field(default=None, gt=0)
    retention: _Retention | None = None
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    executor: Literal["local", "celery"] | None = None
    celery_broker_url: str | None = Field(default=None, min_length=1)
    database_pool_size: int | None = Field(default=None, ge=1)
    database_max_overflow: int | None = Field(default=None, ge=0)
    database_pool_timeout: float | None = Field(default=None, gt=0)
    database_connect_timeout: float | None = Field(default=None, gt=0)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings ``path`` sets, by name; raises ``ConfigurationError`` naming the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigurationError(
            f"{path}: cannot be read ({exc.strerror}); fix its permissions"
        ) from exc
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(
            f"{path}: is not valid YAML ({_first_line(exc)}); fix the syntax at that line"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path}: must be a mapping of settings such as 'database_url: ...', "
            f"not a {type(data).__name__}"
        )
    try:
        return _FileSettings.model_validate(data).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise ConfigurationError(_describe_errors(path, exc)) from None


def _describe_errors(path: Path, exc: ValidationError) -> str:
    known = ", ".join(_FileSettings.model_fields)
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "<top level>"
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown key {key!r} (known keys: {known}); remove or rename it")
        else:
            problems.append(f"key {key!r}: {error['msg']}; fix its value")
    return f"{path}: " + "; ".join(problems)


def _first_line(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem}, line {mark.line + 1} column {mark.column + 1}"
    return str(problem)


__all__ = ["read_config_file"]
