"""Durations written by people: ``30d``, ``12h``, ``1h30m``, ``90s``, ``2w``.

Used by ``partita db clean --older-than`` and the ``retention:`` settings of
``partita.yaml``. The design decision: one small grammar (whole or decimal
numbers, each followed by a unit s, m, h, d or w, largest first or not) with
one error message that says what was wrong and shows valid examples, rather
than accepting bare numbers whose unit a reader would have to guess.
"""

from __future__ import annotations

import re
from datetime import timedelta

from partita.exceptions import PartitaError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
EXAMPLES = "e.g. 30d, 12h, 1h30m, 90s or 2w"


class DurationError(PartitaError, ValueError):
    """A duration that cannot be read; the message names it and shows valid ones."""


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """The ``timedelta`` ``text`` writes; ``DurationError`` naming ``what`` when it is not one."""
    cleaned = str(text).strip().lower().replace(" ", "")
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(number + unit for number, unit in parts) != cleaned:
        raise DurationError(
            f"{what} {text!r} is not a duration: write a number followed by a unit "
            f"(s, m, h, d or w), {EXAMPLES}"
        )
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise DurationError(f"{what} {text!r} must be longer than zero, {EXAMPLES}")
    return timedelta(seconds=seconds)


def format_duration_spec(value: timedelta) -> str:
    """A short spelling of ``value`` that ``parse_duration`` reads back (``30d``, ``1h30m``)."""
    seconds = int(value.total_seconds())
    parts: list[str] = []
    for unit in ("d", "h", "m", "s"):
        size = int(_UNITS[unit])
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


__all__ = ["DurationError", "format_duration_spec", "parse_duration"]
