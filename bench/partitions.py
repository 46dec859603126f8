"""CPU time of listing and ranging partition keys, and of ``assets partitions``' summary.

Usage: ``python bench/partitions.py [REPEAT]`` (default 7). Reports the best
process time of REPEAT tries for: every key of a daily definition over
10,000 days (in a zone with daylight saving time), the keys of a
10,000-day ``PartitionKeyRange`` (what a backfill plans), the same through the
generic ``croniter`` path (a cron string the fast path does not take), the
key of a window and its time window, and the status summary of 10,000
partitions.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from partita import (
    AssetKey,
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    PartitionKeyRange,
    TimeWindowPartitionsDefinition,
)
from partita.engine.partition_status import summarize_partitions
from partita.storage.records import AssetPartitionStatus, AssetPartitionStatusRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def best(repeat: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        began = time.process_time()
        work()
        times.append(time.process_time() - began)
    return min(times)


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    daily = DailyPartitionsDefinition(start_date="1998-08-16", timezone="Europe/Berlin")
    keys = daily.get_partition_keys(NOW)
    span = PartitionKeyRange("1998-08-16", keys[9_999])
    generic = TimeWindowPartitionsDefinition(  # "*/1" keeps it off the fast path
        start="1998-08-16", fmt="%Y-%m-%d", cron_schedule="0 0 */1 * *", timezone="Europe/Berlin"
    )
    hourly = HourlyPartitionsDefinition(start_date="2024-11-01-00:00", timezone="America/New_York")
    statuses = {
        k: AssetPartitionStatusRecord(
            AssetKey("events"), k, AssetPartitionStatus.MATERIALIZED, "run", NOW
        )
        for k in keys[:9_000]
        if not k.endswith("-13")
    }
    cases: list[tuple[str, Callable[[], Any]]] = [
        (f"daily keys, {len(keys)} days (Europe/Berlin)", lambda: daily.get_partition_keys(NOW)),
        ("daily range of 10,000 keys (a backfill's plan)",
         lambda: daily.get_partition_keys_in_range(span, NOW)),
        ("the same range through croniter (generic cron)",
         lambda: generic.get_partition_keys_in_range(span, NOW)),
        ("hourly keys, 14 months (America/New_York)", lambda: hourly.get_partition_keys(NOW)),
        ("1,000 x validate a key and get its time window",
         lambda: [daily.time_window_for_partition_key(daily.validate_partition_key(k, NOW))
                  for k in keys[:1000]]),
        ("status summary of 10,000 partitions", lambda: summarize_partitions(keys, statuses)),
    ]  # fmt: skip
    for label, work in cases:
        print(f"{label:<52} {best(repeat, work) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
