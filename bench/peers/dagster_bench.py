"""The benchmark workloads written for Dagster, run with ``execute_in_process()``.

Run with the Dagster venv's python: ``python dagster_bench.py WORKLOAD`` prints
one JSON line (run seconds measured inside the process, op count, peak RSS),
like ``bench/workloads.py`` does for partita. The job is built before the
clock starts, as partita's DAG is; ``execute_in_process()`` uses Dagster's
ephemeral in-memory instance and in-memory I/O manager, its test-run defaults.

Design decision: ops and jobs, not assets: an op is Dagster's unit that
matches a task, and dependencies without data are ``In(Nothing)`` inputs,
the documented way to order ops that pass nothing.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from dagster import DynamicOut, DynamicOutput, In, JobDefinition, Nothing, job, op

W4_MIB = 50
W4L_ITEMS = W4_MIB * 1024 * 1024 // 8  # the list's pointer array alone is 50 MiB


@op(ins={"after": In(Nothing)})
def noop() -> None:
    return None


def w1_chain() -> JobDefinition:
    @job(name="bench_w1_chain")
    def chain() -> None:
        prev = noop.alias("t0")()
        for i in range(1, 100):
            prev = noop.alias(f"t{i}")(after=prev)

    return chain


def w2_fan() -> JobDefinition:
    @op
    def root() -> None:
        return None

    @op(ins={"after": In(Nothing)})
    def join() -> None:
        return None

    @job(name="bench_w2_fan")
    def fan() -> None:
        start = root()
        join(after=[noop.alias(f"t{i}")(after=start) for i in range(500)])

    return fan


def w3_map() -> JobDefinition:
    @op(out=DynamicOut(int))
    def numbers():  # type: ignore[no-untyped-def]
        for i in list(range(1000)):
            yield DynamicOutput(i, mapping_key=str(i))

    @op
    def double(x: int) -> int:
        return 2 * x

    @op
    def total(values: list[int]) -> int:
        result = sum(values)
        if result != 999000:
            raise ValueError(f"sum is {result}, expected 999000")
        return result

    @job(name="bench_w3_map")
    def mapped() -> None:
        total(numbers().map(double).collect())

    return mapped


def w4_data() -> JobDefinition:
    @op
    def make() -> bytes:
        return bytes(W4_MIB * 1024 * 1024)

    @op
    def passthrough(blob: bytes) -> bytes:
        return blob

    @job(name="bench_w4_data")
    def data() -> None:
        value = make()
        for i in range(4):
            value = passthrough.alias(f"passthrough_{i}")(value)

    return data


def w4l_data_list(annotated: bool) -> JobDefinition:
    if annotated:  # Dagster type-checks a list[int] element by element

        @op(name="make")
        def make() -> list[int]:
            return list(range(W4L_ITEMS))

        @op(name="passthrough")
        def passthrough(blob: list[int]) -> list[int]:
            return blob

    else:

        @op(name="make")
        def make():  # type: ignore[no-untyped-def]
            return list(range(W4L_ITEMS))

        @op(name="passthrough")
        def passthrough(blob):  # type: ignore[no-untyped-def]
            return blob

    @job(name="bench_w4l_data_list")
    def data() -> None:
        value = make()
        for i in range(4):
            value = passthrough.alias(f"passthrough_{i}")(value)

    return data


def w5a_independent() -> JobDefinition:
    @job(name="bench_w5a_independent")
    def independent() -> None:
        for i in range(10_000):
            noop.alias(f"t{i}")()

    return independent


def w5b_map() -> JobDefinition:
    @op(out=DynamicOut(int))
    def items():  # type: ignore[no-untyped-def]
        for i in range(100_000):
            yield DynamicOutput(i, mapping_key=str(i))

    @op
    def each(x: int) -> None:
        return None

    @job(name="bench_w5b_map")
    def mapped() -> None:
        items().map(each)

    return mapped


WORKLOADS: dict[str, tuple[Callable[[], JobDefinition], int]] = {
    "W1": (w1_chain, 100),
    "W2": (w2_fan, 502),
    "W3": (w3_map, 1002),
    "W4": (w4_data, 5),
    "W4L": (lambda: w4l_data_list(annotated=False), 5),
    "W4L-annotated": (lambda: w4l_data_list(annotated=True), 5),
    "W5a": (w5a_independent, 10_000),
    "W5b": (w5b_map, 100_001),
}


def main(name: str) -> None:
    build, instances = WORKLOADS[name]
    definition = build()
    start = time.perf_counter()
    result: Any = definition.execute_in_process(raise_on_error=False)
    seconds = time.perf_counter() - start
    if not result.success:
        failed = [e.message for e in result.all_events if e.is_failure]
        raise SystemExit(f"dagster {name} failed: {failed[:1]}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"run_s": seconds, "instances": instances, "peak_mb": peak_mb}))


if __name__ == "__main__":
    main(sys.argv[1])
