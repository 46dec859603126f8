"""Partitions definitions: their keys, windows, ranges, and the errors a wrong key gets."""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partita import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    PartitionKeyError,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from partita.exceptions import DefinitionError
from partita.storage.memory_partitions import MemoryDynamicPartitions

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def at(*args: int, zone: ZoneInfo | None = None) -> datetime:
    return datetime(*args, tzinfo=zone or UTC)  # type: ignore[misc]


# --- time windows -----------------------------------------------------------------------


def test_a_day_is_a_partition_only_once_it_has_ended() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    assert daily.get_partition_keys(at(2024, 1, 1, 23, 59)) == []
    assert daily.get_partition_keys(at(2024, 1, 2)) == ["2024-01-01"]
    keys = daily.get_partition_keys(at(2024, 3, 12, 12))
    assert (len(keys), keys[0], keys[-1]) == (71, "2024-01-01", "2024-03-11")
    assert daily.get_last_partition_key(at(2024, 3, 12, 12)) == "2024-03-11"


def test_end_offset_adds_or_removes_windows_after_the_last_ended_one() -> None:
    now = at(2024, 1, 10, 12)
    current = DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
    assert current.get_partition_keys(now)[-1] == "2024-01-10"
    earlier = DailyPartitionsDefinition(start_date="2024-01-01", end_offset=-2)
    assert earlier.get_partition_keys(now)[-1] == "2024-01-07"
    assert not current.has_partition_key("2024-01-11", now)


def test_end_date_stops_the_windows() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-04")
    assert daily.get_partition_keys(at(2030, 1, 1)) == ["2024-01-01", "2024-01-02", "2024-01-03"]


def test_a_day_in_berlin_across_the_spring_change_is_23_hours() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-03-30", timezone="Europe/Berlin")
    window = daily.time_window_for_partition_key("2024-03-31")
    assert window.start == at(2024, 3, 31, zone=BERLIN)
    assert window.end.astimezone(UTC) - window.start.astimezone(UTC) == timedelta(hours=23)
    assert daily.get_partition_keys(at(2024, 4, 1, 12)) == ["2024-03-30", "2024-03-31"]


def test_hourly_keys_in_new_york_count_the_autumn_hour_once_as_two_hours() -> None:
    hourly = HourlyPartitionsDefinition(start_date="2024-11-03-00:00", timezone="America/New_York")
    keys = hourly.get_partition_keys(at(2024, 11, 4, 5))  # midnight in New York (EST)
    assert len(keys) == len(set(keys)) == 24
    window = hourly.time_window_for_partition_key("2024-11-03-01:00")
    assert window.end.astimezone(UTC) - window.start.astimezone(UTC) == timedelta(hours=2)


def test_weekly_monthly_and_any_cron_string() -> None:
    now = at(2024, 3, 12)
    weekly = WeeklyPartitionsDefinition(start_date="2024-01-01")  # Sundays
    assert weekly.get_partition_keys(now)[:2] == ["2024-01-07", "2024-01-14"]
    monday = WeeklyPartitionsDefinition(start_date="2024-01-01", day_offset=1)
    assert monday.get_partition_keys(now)[0] == "2024-01-01"
    monthly = MonthlyPartitionsDefinition(start_date="2024-01-01")
    assert monthly.get_partition_keys(now) == ["2024-01-01", "2024-02-01"]
    six_hours = TimeWindowPartitionsDefinition(
        cron_schedule="0 */6 * * *", start="2024-01-01-00", fmt="%Y-%m-%d-%H"
    )
    assert six_hours.get_partition_keys(at(2024, 1, 1, 19)) == [
        "2024-01-01-00", "2024-01-01-06", "2024-01-01-12",
    ]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["0 0 * * *", "30 2 * * *", "0 * * * *", "15 3 * * 2", "0 4 5 * *"]),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
    st.integers(min_value=0, max_value=3000),
)
def test_the_fast_path_gives_the_fire_times_of_cron(cron: str, zone: str, days: int) -> None:
    definition = TimeWindowPartitionsDefinition(
        start="2020-01-01", fmt="%Y-%m-%dT%H:%M", cron_schedule=cron, timezone=zone
    )
    start = at(2020, 1, 1) + timedelta(days=days)
    end = start + timedelta(days=9)
    cadence = definition._cadence
    assert cadence.between(start, end) == list(cadence.schedule.between(start, end))
    moment = start + timedelta(hours=days % 50, minutes=7)
    assert cadence.next_after(moment) == cadence.schedule.next_after(moment)
    assert cadence.at_or_before(moment) == cadence.schedule.at_or_before(moment)


def test_the_keys_between_two_keys_for_a_backfill() -> None:
    daily = DailyPartitionsDefinition(start_date="1990-01-01", timezone="Europe/Berlin")
    began = clock.perf_counter()
    keys = daily.get_partition_keys_in_range(PartitionKeyRange("1995-01-01", "2022-05-18"))
    took = clock.perf_counter() - began
    assert (len(keys), keys[0], keys[-1]) == (10000, "1995-01-01", "2022-05-18")
    assert keys == sorted(set(keys))
    print(f"10,000 daily keys in {took * 1000:.1f} ms")  # timing: bench/, never asserted
    assert daily.get_partition_keys_in_range(PartitionKeyRange("2020-02-29", "2020-02-29")) == [
        "2020-02-29"
    ]
    assert PartitionKeyRange.parse("2020-01-01...2020-02-01") == PartitionKeyRange(
        "2020-01-01", "2020-02-01"
    )
    assert PartitionKeyRange.parse("eu") == PartitionKeyRange("eu", "eu")
    with pytest.raises(PartitionKeyError, match=r"is not FIRST\.\.\.LAST"):
        PartitionKeyRange.parse("2020-01-01...")
    with pytest.raises(PartitionKeyError, match="is backwards: '2020-03-01' comes after"):
        daily.get_partition_keys_in_range(PartitionKeyRange("2020-03-01", "2020-02-01"))


# --- wrong keys -------------------------------------------------------------------------


def test_a_day_outside_the_definition_names_the_nearest_days() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    now = at(2024, 3, 12)
    with pytest.raises(PartitionKeyError) as late:
        daily.validate_partition_key("2024-04-01", now)
    assert "nearest valid keys: 2024-03-10, 2024-03-11" in str(late.value)
    assert "from 2024-01-01 to 2024-03-11" in str(late.value)
    with pytest.raises(PartitionKeyError, match="nearest valid keys: 2024-01-01, 2024-01-02"):
        daily.validate_partition_key("2023-12-25", now)
    with pytest.raises(PartitionKeyError, match="nearest valid keys: 2024-02-14, 2024-02-15"):
        daily.validate_partition_key("2024-02-15T00:00", now)  # wrong format, near a key
    assert daily.validate_partition_key("2024-02-15", now) == "2024-02-15"
    with pytest.raises(PartitionKeyError, match="has no partitions yet"):
        daily.validate_partition_key("2024-01-01", at(2023, 1, 1))
    with pytest.raises(PartitionKeyError, match="a partition key is a string, got int"):
        daily.validate_partition_key(20240101, now)


def test_a_wrong_static_or_multi_key_names_the_nearest_keys() -> None:
    regions = StaticPartitionsDefinition(["eu", "us", "apac"])
    with pytest.raises(
        PartitionKeyError, match=r"'usa' is not a partition .* nearest valid keys: us"
    ):
        regions.validate_partition_key("usa")
    multi = MultiPartitionsDefinition(
        {"region": regions, "date": DailyPartitionsDefinition(start_date="2024-01-01")}
    )
    now = at(2024, 1, 3)
    keys = multi.get_partition_keys(now)
    assert keys[:3] == ["2024-01-01|eu", "2024-01-01|us", "2024-01-01|apac"]
    assert isinstance(keys[0], MultiPartitionKey)
    assert keys[0].keys_by_dimension == {"date": "2024-01-01", "region": "eu"}
    assert multi.has_partition_key("2024-01-02|apac", now)
    with pytest.raises(PartitionKeyError, match="nearest valid keys: 2024-01-02\\|us"):
        multi.validate_partition_key("2024-01-02|usa", now)


def test_bad_definitions_are_refused_where_they_are_made() -> None:
    with pytest.raises(DefinitionError, match="'eu' appear more than once"):
        StaticPartitionsDefinition(["eu", "eu"])
    with pytest.raises(DefinitionError, match="matches neither the format '%Y-%m-%d'"):
        DailyPartitionsDefinition(start_date="first of january")
    with pytest.raises(DefinitionError, match="hour_offset must be an integer from 0 to 23"):
        DailyPartitionsDefinition(start_date="2024-01-01", hour_offset=24)
    with pytest.raises(DefinitionError, match="not a known IANA time zone"):
        DailyPartitionsDefinition(start_date="2024-01-01", timezone="Mars/Olympus")
    with pytest.raises(DefinitionError, match="two or more dimensions"):
        MultiPartitionsDefinition({"a": StaticPartitionsDefinition(["x"])})
    with pytest.raises(DefinitionError, match="cannot hold '\\|'"):
        MultiPartitionsDefinition(
            {"a": StaticPartitionsDefinition(["x|y"]), "b": StaticPartitionsDefinition(["z"])}
        )
    with pytest.raises(DefinitionError, match="needs a name"):
        DynamicPartitionsDefinition(name="")


def test_dynamic_keys_come_from_the_store() -> None:
    files = DynamicPartitionsDefinition(name="files")
    store = MemoryDynamicPartitions()
    with pytest.raises(DefinitionError, match=r"dynamic_partitions_store=storage\.partitions"):
        files.get_partition_keys()
    store.add_partitions("files", ["a.csv", "b.csv"])
    assert files.get_partition_keys(dynamic_partitions_store=store) == ["a.csv", "b.csv"]
    with pytest.raises(PartitionKeyError, match=r"nearest valid keys: a\.csv"):
        files.validate_partition_key("a.cvs", dynamic_partitions_store=store)
    request = files.build_add_request(["c.csv"])
    assert (request.partitions_def_name, request.partition_keys) == ("files", ("c.csv",))


def test_definitions_compare_by_value() -> None:
    assert DailyPartitionsDefinition("2024-01-01") == DailyPartitionsDefinition("2024-01-01")
    assert DailyPartitionsDefinition("2024-01-01") != DailyPartitionsDefinition("2024-01-02")
    assert DailyPartitionsDefinition("2024-01-01") == TimeWindowPartitionsDefinition(
        "2024-01-01", "%Y-%m-%d", cron_schedule="0 0 * * *"
    )
    assert len({StaticPartitionsDefinition(["a"]), StaticPartitionsDefinition(["a"])}) == 1


@pytest.mark.parametrize(
    ("definition", "first", "last"),
    [
        (DailyPartitionsDefinition(start_date="2024-01-01"), "2024-01-30", "2024-03-02"),
        (HourlyPartitionsDefinition(start_date="2024-10-26-00:00", timezone="Europe/Berlin"),
         "2024-10-26-22:00", "2024-10-27-05:00"),  # the autumn hour: one key, two hours
        (MonthlyPartitionsDefinition(start_date="2023-11-01"), "2023-11-01", "2024-03-01"),
    ],
)  # fmt: skip
def test_time_windows_between_match_each_keys_own_window(
    definition: Any, first: str, last: str
) -> None:
    keys = definition.get_partition_keys_in_range(PartitionKeyRange(first, last))
    windows = definition.time_windows_between(first, last)
    assert windows == [definition.time_window_for_partition_key(k) for k in keys]
