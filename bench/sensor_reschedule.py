"""CPU cost of reschedule-mode sensors in one in-process run: per poke, and while waiting.

Usage: ``python bench/sensor_reschedule.py [SENSORS] [POKES] [REPEAT]`` (defaults 200, 5, 5).

Part 1: SENSORS sensors in one run, each done on its POKES-th poke with
``poke_interval=0``, so every poke but the last is a reschedule (a try ended
``up_for_reschedule``, recorded, queued again as the same try). It reports
the best process time of REPEAT runs per reschedule, on the memory store.

Part 2: one sensor with ``poke_interval=1`` and 3 pokes: the run takes about
2 s of wall time; the CPU time it uses shows the driver sleeps while it waits
(it does not spin).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from partita import DAG, BaseSensorOperator
from partita.definitions.context import Context


class CountingSensor(BaseSensorOperator):
    def __init__(self, *, done_at: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.done_at = done_at

    def poke(self, context: Context) -> bool:
        return bool(context["ti"].task_reschedule_count + 1 >= self.done_at)


def sensors_dag(count: int, pokes: int, interval: float) -> DAG:
    with DAG("sensors", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
        for index in range(count):
            CountingSensor(
                task_id=f"s{index}", done_at=pokes, mode="reschedule", poke_interval=interval
            )
    return dag


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    pokes = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    best = float("inf")
    for _ in range(repeat):
        dag = sensors_dag(count, pokes, 0.0)
        started = time.process_time()
        result = dag.test(verbose=False)
        best = min(best, time.process_time() - started)
        assert result.success
    reschedules = count * (pokes - 1)
    print(
        f"{count} sensors x {pokes} pokes ({reschedules} reschedules): best {best:.3f} s CPU, "
        f"{best / reschedules * 1e6:.0f} us CPU per reschedule (memory store)"
    )
    dag = sensors_dag(1, 3, 1.0)
    wall, cpu = time.monotonic(), time.process_time()
    assert dag.test(verbose=False).success
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    print(f"one sensor, 2 reschedules of 1 s: {wall:.2f} s wall, {cpu:.3f} s CPU while waiting")


if __name__ == "__main__":
    main()
