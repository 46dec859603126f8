"""What every backend stores alike: clean text, strict JSON and ids that fit their columns.

The design decision: values are made storable once, here, by rules every
backend applies (memory, SQLite, PostgreSQL), so that they all accept
exactly the same inputs and read back the same thing:

* text is valid UTF-8 without NUL: a lone surrogate (what ``os.listdir``
  returns for a name that is not UTF-8) becomes its backslash escape
  (``\\udcff``), a NUL character becomes ``\\x00`` (PostgreSQL refuses NUL in
  text and in ``jsonb``);
* JSON is strict: ``NaN`` and ``Infinity`` are refused with an error naming
  where the value was (they are not JSON; PostgreSQL refuses them, and fast
  encoders silently write ``null``);
* ids are at most ``ID_LENGTH`` characters, the width of the id columns.

JSON is written by orjson; the slower path (cleaning, checking) runs only
when orjson's output or failure says it is needed, so a clean payload costs
one orjson call.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import is_dataclass
from datetime import date, datetime
from enum import Enum
from operator import attrgetter
from typing import Any

import orjson

from partita.definitions.ids import MAX_ID_LENGTH
from partita.storage.records import WriteBatch

#: The width of the id columns (run, DAG and task ids, output keys).
ID_LENGTH = MAX_ID_LENGTH
#: The longest partition key a store holds (a multi-partition key holds one per dimension).
PARTITION_KEY_LENGTH = 512

_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)
_NUL_ESCAPE = "\\x00"
_orjson_dumps = orjson.dumps


class UnstorableValueError(ValueError):
    """A record holds a value no backend can store (a naive datetime, NaN, an id too long)."""


def clean_text(text: str) -> str:
    """``text`` as valid UTF-8 without NUL: lone surrogates and NUL become backslash escapes."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if "\0" in text:
        text = text.replace("\0", _NUL_ESCAPE)
    return text


def clean_json(value: Any, where: str) -> Any:
    """``value`` with every string cleaned (``clean_text``); refuses NaN and Infinity.

    The result is what the value reads back as from any backend, apart from
    the conversions of ``dumps_json`` (datetimes to ISO text, tuples to lists).
    """
    return _clean(value, where, set())


def _clean(value: Any, path: str, seen: set[int]) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnstorableValueError(
                f"{path} is {value!r}, which JSON cannot hold and no backend stores; "
                f"use None or a string such as 'nan' instead"
            )
        return value
    if isinstance(value, dict | list | tuple):
        if id(value) in seen:
            raise UnstorableValueError(f"{path}: Circular reference detected")
        seen.add(id(value))
        try:
            if isinstance(value, dict):
                return {_clean_key(k): _clean(v, f"{path}[{k!r}]", seen) for k, v in value.items()}
            return [_clean(v, f"{path}[{i}]", seen) for i, v in enumerate(value)]
        finally:
            seen.discard(id(value))
    return value


def _clean_key(key: Any) -> Any:
    return clean_text(key) if isinstance(key, str) else key


def dumps_json(value: Any, where: str = "a JSON value") -> str:
    """``value`` as JSON text, for event payloads, run conf and metadata.

    Datetimes become ISO 8601 text, enums their value, sets and tuples lists,
    other objects ``str()``; strings are cleaned (``clean_text``). NaN and
    Infinity raise ``UnstorableValueError`` naming ``where`` and the path.
    """
    data = _fast_json(value)
    if data is None:
        return _dumps_checked(value, where)
    return data.decode("utf-8")


def storable_json(value: Any, where: str = "a JSON value") -> Any:
    """``value`` as a SQL store reads it back, for stores that keep objects (the memory one).

    ``value`` itself when it needs nothing; a cleaned copy when a string had to
    be escaped; ``UnstorableValueError`` for NaN and Infinity, as ``dumps_json``.
    """
    if type(value) is dict and _flat_and_plain(value):
        return value
    return value if _fast_json(value) is not None else clean_json(value, where)


def _flat_and_plain(mapping: dict[Any, Any]) -> bool:
    """Whether every key is ASCII text and every value a finite number, None or ASCII text.

    Such a mapping (the engine's own state payloads) is stored as it is by every
    backend, so it needs no encoding to be checked; ASCII text holds no lone
    surrogate, and a NUL is looked for directly.
    """
    for key, value in mapping.items():
        if type(key) is not str or not key.isascii():
            return False
        kind = type(value)
        if kind is str:
            if not value.isascii() or "\x00" in value:
                return False
        elif kind is float:
            if not math.isfinite(value):
                return False
        elif kind is not int and kind is not bool and value is not None:
            return False
    return True


def _fast_json(value: Any) -> bytes | None:
    """orjson's text of ``value``; None when the slow path must clean it or name an error.

    orjson refuses lone surrogates, writes NUL as an escape PostgreSQL refuses,
    and NaN and Infinity as ``null``; so when ``null`` appears the value is
    checked again by the standard library's C encoder, which refuses them.
    """
    try:
        data = _orjson_dumps(value, default=_json_default, option=_ORJSON_OPTIONS)
    except TypeError:  # a lone surrogate, an int beyond 64 bits, a cycle
        return None
    if b"\\u0000" in data:
        return None
    if b"null" in data:
        try:
            _STRICT_ENCODER.encode(value)
        except ValueError:  # NaN or Infinity: the slow path says where
            return None
    return data


def _dumps_checked(value: Any, where: str) -> str:
    cleaned = clean_json(value, where)
    return json.dumps(
        cleaned, default=_json_default, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )


def loads_json(text: str | bytes) -> Any:
    """The value of JSON text written by ``dumps_json``."""
    return orjson.loads(text)


def _json_default(value: object) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if is_dataclass(value):
        return str(value)
    return clean_text(str(value))


_STRICT_ENCODER = json.JSONEncoder(default=_json_default, ensure_ascii=False, allow_nan=False)


def check_id(value: str, what: str, fix: str = "use a shorter one") -> None:
    """Raise ``UnstorableValueError`` when ``value`` (``what``, e.g. "task id") is too long."""
    if len(value) > ID_LENGTH:
        raise UnstorableValueError(
            f"{what} {value[:40]!r}... is too long: {len(value)} characters, and ids are "
            f"stored in columns of {ID_LENGTH}; {fix}"
        )


def check_partition_key(value: object, what: str = "partition key") -> str:
    """``value`` if a store can hold it as a partition key; else ``UnstorableValueError``."""
    if not isinstance(value, str) or not value or "\x00" in value:
        raise UnstorableValueError(
            f"{what} {value!r} must be a non-empty string without NUL characters"
        )
    if len(value) > PARTITION_KEY_LENGTH:
        raise UnstorableValueError(
            f"{what} {value[:40]!r}... is too long: {len(value)} characters, and partition "
            f"keys are stored in columns of {PARTITION_KEY_LENGTH}; use a shorter key"
        )
    return value


def check_batch_ids(batch: WriteBatch) -> None:
    """Raise ``UnstorableValueError`` when an id or key of ``batch`` is wider than its column."""
    limit = ID_LENGTH
    for run in batch.runs:
        if len(run.run_id) > limit or len(run.dag_id) > limit:
            check_id(run.run_id, "run id")
            check_id(run.dag_id, "DAG id")
        if run.partition_key is not None:
            check_partition_key(run.partition_key, f"run {run.run_id!r}: partition key")
    for version in batch.dag_versions:
        check_id(version.dag_id, "DAG id")
    # A task instance's run id is the id of a recorded run (a foreign key): already checked.
    _check_task_ids(batch.task_instances, check_runs=False)
    _check_task_ids(batch.events)
    _check_task_ids(batch.log_lines)
    _check_task_ids(batch.materializations)
    _check_task_ids(batch.check_evaluations)
    for evaluation in batch.check_evaluations:
        check_id(evaluation.check_name, f"asset check name (task {evaluation.task_id!r})")
    for output in batch.outputs:
        check_id(output.run_id, "run id")
        check_id(output.task_id, "task id")
        check_id(output.key, f"output key (task {output.task_id!r})")


def _check_task_ids(records: Sequence[Any], *, check_runs: bool = True) -> None:
    if not records:
        return
    # The distinct ids (few, in a batch of thousands of rows) collected at C speed.
    for run_id in set(map(_RUN_ID, records)) if check_runs else ():
        check_id(run_id, "run id")
    for task_id in set(map(_TASK_ID, records)):
        if task_id is not None:
            check_id(task_id, "task id")


_RUN_ID = attrgetter("run_id")
_TASK_ID = attrgetter("task_id")


__all__ = [
    "ID_LENGTH",
    "PARTITION_KEY_LENGTH",
    "UnstorableValueError",
    "check_batch_ids",
    "check_id",
    "check_partition_key",
    "clean_json",
    "clean_text",
    "dumps_json",
    "loads_json",
    "storable_json",
]
