"""``partition_keys_in_range``: the keys of a partitions definition from FIRST to LAST."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from partita.definitions.partition_range import (
    PartitionRangeError,
    partition_keys_in_range,
    split_partition_range,
)


class Days:
    """Any object with ``get_partition_keys`` will do (the partitions definitions have it)."""

    def __init__(self, count: int) -> None:
        self.keys = [f"2024-01-{day:02d}" for day in range(1, count + 1)]

    def get_partition_keys(self, current_time: datetime | None = None) -> Sequence[str]:
        return self.keys

    def __repr__(self) -> str:
        return "Days()"


def test_the_keys_between_first_and_last_in_the_definitions_order() -> None:
    days = Days(31)
    assert partition_keys_in_range(days, "2024-01-03", "2024-01-05") == [
        "2024-01-03", "2024-01-04", "2024-01-05",
    ]  # fmt: skip
    assert partition_keys_in_range(days, "2024-01-31", "2024-01-31") == ["2024-01-31"]
    assert (
        len(partition_keys_in_range(days, *split_partition_range("2024-01-01...2024-01-31"))) == 31
    )


def test_bad_ranges_name_the_nearest_keys_and_the_fix() -> None:
    days = Days(9)
    with pytest.raises(PartitionRangeError, match=r"'2024-01-10' is not one of the 9 keys of Days"):
        partition_keys_in_range(days, "2024-01-01", "2024-01-10")
    with pytest.raises(PartitionRangeError, match="nearest valid keys are: 2024-01-09"):
        partition_keys_in_range(days, "2024-01-01", "2024-01-10")
    with pytest.raises(PartitionRangeError, match=r"write the earlier key first \(2024-01-02"):
        partition_keys_in_range(days, "2024-01-05", "2024-01-02")
    with pytest.raises(PartitionRangeError, match="is not a partitions definition"):
        partition_keys_in_range(object(), "a", "b")
    assert split_partition_range(" a ... b ") == ("a", "b")
    assert split_partition_range("a") == ("a", "a")
    for bad in ("...b", "a...", "a...b...c", ""):
        with pytest.raises(PartitionRangeError, match=r"is not a range: write FIRST\.\.\.LAST"):
            split_partition_range(bad)
