"""``macros``: helpers available in templates as ``{{ macros.ds_add(ds, 7) }}``.

The same names as Airflow's ``airflow.macros`` (``ds_add``, ``ds_format``,
``datetime``, ``timedelta``, ``time``, ``uuid``, ``json``, ``random``), so a
template ported from Airflow renders the same. The design decision: only the
standard library, so the module is cheap to import and safe in any process.
A task's context holds this module under the key ``macros``.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from random import random

_DS_FORMAT = "%Y-%m-%d"


def ds_add(ds: str, days: int) -> str:
    """``ds`` (``YYYY-MM-DD``) moved by ``days`` (negative goes back): ``ds_add('2015-01-01', 5)``.

    >>> ds_add("2015-01-01", 5)
    '2015-01-06'
    >>> ds_add("2015-01-06", -5)
    '2015-01-01'
    """
    if not days:
        return str(ds)
    moved = datetime.strptime(str(ds), _DS_FORMAT) + timedelta(days=days)
    return moved.strftime(_DS_FORMAT)


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """``ds`` parsed with ``input_format`` and written with ``output_format``.

    >>> ds_format("2015-01-01", "%Y-%m-%d", "%m-%d-%y")
    '01-01-15'
    """
    return datetime.strptime(str(ds), input_format).strftime(output_format)


__all__ = [
    "datetime",
    "ds_add",
    "ds_format",
    "json",
    "random",
    "time",
    "timedelta",
    "uuid",
]
