"""``partita.macros``: Airflow's template helpers, by the same names."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid

import pytest

from partita import macros


def test_ds_add_moves_a_date_string_by_days() -> None:
    assert macros.ds_add("2015-01-01", 5) == "2015-01-06"
    assert macros.ds_add("2015-01-06", -5) == "2015-01-01"
    assert macros.ds_add("2024-02-28", 1) == "2024-02-29"
    assert macros.ds_add("2024-02-28", 0) == "2024-02-28"


def test_ds_format_reformats_a_date_string() -> None:
    assert macros.ds_format("2015-01-01", "%Y-%m-%d", "%m-%d-%y") == "01-01-15"
    assert macros.ds_format("1/5/2015", "%m/%d/%Y", "%Y-%m-%d") == "2015-01-05"
    with pytest.raises(ValueError):
        macros.ds_format("2015-01-01", "%d/%m/%Y", "%Y")


def test_the_standard_library_names_airflow_exposes() -> None:
    assert macros.datetime is dt.datetime
    assert macros.timedelta is dt.timedelta
    assert macros.json is json and macros.time is time and macros.uuid is uuid
    assert macros.random is random.random
