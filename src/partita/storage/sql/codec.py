"""Driver-level values for the hot paths: what to bind for a datetime or JSON, and how to read it.

The design decision: the bulk writes and the big reads (task instances,
events) talk to the DB-API driver directly, so the conversions SQLAlchemy's
column types would do are done here instead, per dialect, by small functions
that produce and accept exactly what those types do. Rows written here read
back through SQLAlchemy and the other way round:

* SQLite: times are UTC wall-clock text ``YYYY-MM-DD HH:MM:SS.ffffff`` (the
  storage format of SQLAlchemy's SQLite ``DATETIME``, which ``UTCDateTime``
  uses), JSON is text.
* PostgreSQL: psycopg binds aware datetimes as ``timestamptz`` and returns
  aware ones; JSON is bound as text cast to ``jsonb`` and comes back decoded.

Naive datetimes are refused, as ``UTCDateTime`` refuses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Dialect

from partita.storage.values import UnstorableValueError, loads_json

#: Turns an aware datetime (or None) into what the driver binds.
TimeConverter = Callable[[datetime | None], Any]

_from_text = datetime.fromisoformat


def _naive(value: datetime) -> UnstorableValueError:
    return UnstorableValueError(
        f"naive datetime {value.isoformat()} cannot be stored: partita stores "
        f"timezone-aware times; use datetime.now(UTC) or attach a tzinfo"
    )


def sqlite_time(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite ``DATETIME`` stores for ``value``, in UTC."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None or value.utcoffset() is None:
            raise _naive(value)
        value = value.astimezone(UTC)
    # SQLAlchemy's format, verbatim; %-formatting is twice as fast as an f-string or
    # isoformat (which also formats the offset) here.
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


def load_sqlite_time(text: str | None) -> datetime | None:
    """The aware UTC datetime stored as ``text`` by ``sqlite_time`` (or SQLAlchemy)."""
    # Parsing the offset is far cheaper than datetime.replace(tzinfo=UTC) afterwards.
    return None if text is None else _from_text(text + "+00:00")


def postgres_time(value: datetime | None) -> datetime | None:
    """``value`` itself (psycopg binds aware datetimes as ``timestamptz``); naive ones refused."""
    if (
        value is not None
        and value.tzinfo is not UTC
        and (value.tzinfo is None or value.utcoffset() is None)
    ):
        raise _naive(value)
    return value


def load_postgres_time(value: datetime | None) -> datetime | None:
    """A ``timestamptz`` as psycopg returns it (in the session's zone), moved to UTC."""
    if value is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


def _load_json_text(text: str | None) -> Any:
    return None if text is None else loads_json(text)


def _loaded_json(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Codec:
    """The conversions of one dialect, and its parameter placeholder."""

    #: The positional parameter marker of the driver (``?`` or ``%s``).
    placeholder: str
    #: The marker for a JSON column (PostgreSQL casts the text to ``jsonb``).
    json_placeholder: str
    dump_time: TimeConverter
    load_time: Callable[[Any], datetime | None]
    #: JSON is bound as ``dumps_json`` text on both; what comes back differs.
    load_json: Callable[[Any], Any]


SQLITE = Codec("?", "?", sqlite_time, load_sqlite_time, _load_json_text)
POSTGRES = Codec("%s", "%s::jsonb", postgres_time, load_postgres_time, _loaded_json)


def codec_for(dialect: Dialect) -> Codec:
    """The codec of ``dialect``: ``sqlite`` or ``postgresql`` (psycopg 3)."""
    if dialect.name == "sqlite":
        return SQLITE
    if dialect.name == "postgresql":
        return POSTGRES
    raise ValueError(f"dialect {dialect.name!r} is not supported; use SQLite or PostgreSQL")


__all__ = [
    "POSTGRES",
    "SQLITE",
    "Codec",
    "TimeConverter",
    "codec_for",
    "load_postgres_time",
    "load_sqlite_time",
    "postgres_time",
    "sqlite_time",
]
