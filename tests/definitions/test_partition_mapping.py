"""Partition mappings: which upstream partitions a downstream partition reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from partita import (
    AllPartitionMapping,
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    LastPartitionMapping,
    PartitionKeyError,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
)
from partita.definitions.partition_mapping import default_partition_mapping

NOW = datetime(2024, 1, 10, tzinfo=UTC)
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")


def upstream_of(mapping: object, key: str | None, down: object, up: object) -> list[str]:
    return mapping.get_upstream_partition_keys(key, down, up, NOW)  # type: ignore[attr-defined]


def test_time_window_mapping_with_offsets() -> None:
    assert upstream_of(TimeWindowPartitionMapping(), "2024-01-05", DAILY, DAILY) == ["2024-01-05"]
    two_days = TimeWindowPartitionMapping(start_offset=-1)
    assert upstream_of(two_days, "2024-01-05", DAILY, DAILY) == ["2024-01-04", "2024-01-05"]
    yesterday = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    assert upstream_of(yesterday, "2024-01-05", DAILY, DAILY) == ["2024-01-04"]


def test_the_window_before_the_first_is_an_error_unless_allowed() -> None:
    with pytest.raises(PartitionKeyError, match=r"2023-12-31 .* not partitions"):
        upstream_of(TimeWindowPartitionMapping(start_offset=-1), "2024-01-01", DAILY, DAILY)
    allowed = TimeWindowPartitionMapping(
        start_offset=-1, allow_nonexistent_upstream_partitions=True
    )
    assert upstream_of(allowed, "2024-01-01", DAILY, DAILY) == ["2024-01-01"]


def test_a_day_reads_its_24_hours() -> None:
    hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
    keys = upstream_of(TimeWindowPartitionMapping(), "2024-01-02", DAILY, hourly)
    assert (len(keys), keys[0], keys[-1]) == (24, "2024-01-02-00:00", "2024-01-02-23:00")


def test_identity_all_last_and_static_mappings() -> None:
    regions = StaticPartitionsDefinition(["eu", "us"])
    assert upstream_of(IdentityPartitionMapping(), "eu", regions, regions) == ["eu"]
    with pytest.raises(PartitionKeyError, match="the upstream has no partition 'apac'"):
        upstream_of(
            IdentityPartitionMapping(), "apac", StaticPartitionsDefinition(["apac"]), regions
        )
    assert upstream_of(AllPartitionMapping(), None, None, regions) == ["eu", "us"]
    assert upstream_of(LastPartitionMapping(), None, None, DAILY) == ["2024-01-09"]
    continents = StaticPartitionsDefinition(["europe", "america"])
    static = StaticPartitionMapping({"eu": "europe", "us": {"america"}, "ca": ["america"]})
    assert upstream_of(static, "america", continents, regions) == ["us", "ca"]


def test_the_default_mapping() -> None:
    regions = StaticPartitionsDefinition(["eu"])
    assert default_partition_mapping(None, DAILY) is None
    assert isinstance(default_partition_mapping(DAILY, None), AllPartitionMapping)
    assert isinstance(default_partition_mapping(DAILY, DAILY), TimeWindowPartitionMapping)
    assert isinstance(default_partition_mapping(regions, regions), IdentityPartitionMapping)
