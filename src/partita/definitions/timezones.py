"""Time zones of schedules: parse a name or ``tzinfo``, name it back, make datetimes aware.

The design decision: a zone is an IANA ``zoneinfo.ZoneInfo`` (or a fixed
offset such as ``datetime.UTC``) and is written down by its name, so that a
serialized DAG says ``"Europe/Berlin"`` and reads back the same zone. Which
zone a naive datetime means is the caller's choice (the DAG's zone, else
``default_timezone`` from the settings, else UTC); nothing here reads settings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


class TimezoneError(ValueError):
    """A value that names no time zone."""


def parse_timezone(value: str | tzinfo) -> tzinfo:
    """The zone ``value`` names: an IANA name, ``UTC``, ``+05:30``, or a ``tzinfo`` as is."""
    if isinstance(value, tzinfo):
        return value
    if not isinstance(value, str):
        raise TimezoneError(
            f"a time zone must be a name like 'Europe/Berlin' or a tzinfo, "
            f"not {type(value).__name__}"
        )
    name = value.strip()
    if name.upper() in ("UTC", "Z"):
        return UTC
    offset = _OFFSET.match(name)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimezoneError(
            f"time zone {value!r} is not a known IANA time zone; use a name like "
            "'Europe/Berlin', 'America/New_York' or 'UTC'"
        ) from None


def timezone_name(zone: tzinfo) -> str:
    """The name ``parse_timezone`` reads back as ``zone``."""
    if isinstance(zone, ZoneInfo):
        return zone.key
    offset = zone.utcoffset(None)
    if offset is None:
        raise TimezoneError(f"time zone {zone!r} has no fixed offset and no IANA name")
    if offset == timedelta(0):
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def make_aware(value: datetime, zone: tzinfo) -> datetime:
    """``value`` itself when aware; a naive value is read as wall time in ``zone``."""
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


__all__ = ["TimezoneError", "make_aware", "parse_timezone", "timezone_name"]
