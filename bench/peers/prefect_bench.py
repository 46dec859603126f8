"""The benchmark workloads written for Prefect, run by calling the flow.

Run with the Prefect venv's python: ``python prefect_bench.py WORKLOAD [--warm]``
prints one JSON line (run seconds measured inside the process, task count,
peak RSS), like ``bench/workloads.py`` does for partita.

Prefect's first flow call in a process starts a temporary local API server.
Without ``--warm`` the timed call is that first call, so it includes the
server's start; with ``--warm`` a trivial flow runs first, untimed, and the
timed call finds the server already up (``server_s`` reports what the warm-up
took).

Each run gets its own PREFECT_HOME holding a copy of the database that
``bench/setup_peers.py`` migrated once, so no run pays for rows an earlier
run left (partita's runs start with an empty store too).

Design decision: each workload is written the way Prefect's docs write it:
a chain is plain sequential task calls, a fan-out is ``.submit()`` on the
default thread-pool task runner with ``wait_for``, a map is ``.map()``, and
W4L also runs with the large list wrapped in ``quote()``, the docs' advice for
large collections (without it Prefect visits every element of the argument).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # before prefect is imported: it reads PREFECT_HOME once
    _TEMPLATE = Path(os.environ["PREFECT_HOME"])
    _RUN_HOME = _TEMPLATE / "runs" / str(os.getpid())
    shutil.rmtree(_RUN_HOME, ignore_errors=True)
    _RUN_HOME.mkdir(parents=True)
    shutil.copy(_TEMPLATE / "prefect.db", _RUN_HOME / "prefect.db")
    os.environ["PREFECT_HOME"] = str(_RUN_HOME)

from prefect import flow, task
from prefect.utilities.annotations import quote

W4_MIB = 50
W4L_ITEMS = W4_MIB * 1024 * 1024 // 8  # the list's pointer array alone is 50 MiB


@task
def noop() -> None:
    return None


@task
def noop_item(x: int) -> None:
    return None


@flow
def w1_chain() -> None:
    for _ in range(100):
        noop()


@flow
def w2_fan() -> None:
    root = noop.submit()
    futures = [noop.submit(wait_for=[root]) for _ in range(500)]
    noop.submit(wait_for=futures).result()


@task
def numbers() -> list[int]:
    return list(range(1000))


@task
def double(x: int) -> int:
    return 2 * x


@task
def total(values: list[int]) -> int:
    return sum(values)


@flow
def w3_map() -> None:
    result = total(double.map(numbers()))
    if result != 999000:
        raise ValueError(f"sum is {result}, expected 999000")


@task
def make_bytes() -> bytes:
    return bytes(W4_MIB * 1024 * 1024)


@task
def make_list() -> list[int]:
    return list(range(W4L_ITEMS))


@task
def passthrough(blob: Any) -> Any:
    return blob


@flow
def w4_data() -> None:
    value = make_bytes()
    for _ in range(4):
        value = passthrough(value)


@flow
def w4l_data_list() -> None:
    value = make_list()
    for _ in range(4):
        value = passthrough(value)


@flow
def w4l_data_list_quoted() -> None:
    # quote() is Prefect's documented way to pass a large collection: it skips
    # visiting every element to look for futures and states.
    value = make_list()
    for _ in range(4):
        value = passthrough(quote(value))


@flow
def w5a_independent() -> None:
    futures = [noop.submit() for _ in range(10_000)]
    for f in futures:
        f.wait()


@flow
def w5b_map() -> None:
    noop_item.map(list(range(100_000))).wait()


@flow
def warm_up() -> None:
    return None


WORKLOADS: dict[str, tuple[Callable[[], None], int]] = {
    "W1": (w1_chain, 100),
    "W2": (w2_fan, 502),
    "W3": (w3_map, 1002),
    "W4": (w4_data, 5),
    "W4L": (w4l_data_list, 5),
    "W4L-quoted": (w4l_data_list_quoted, 5),
    "W5a": (w5a_independent, 10_000),
    "W5b": (w5b_map, 100_000),
}


def main(name: str, warm: bool) -> None:
    run, instances = WORKLOADS[name]
    server_s = None
    if warm:
        start = time.perf_counter()
        warm_up()
        server_s = time.perf_counter() - start
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"run_s": seconds, "instances": instances, "peak_mb": peak_mb, "server_s": server_s}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    try:
        main(sys.argv[1], "--warm" in sys.argv[2:])
    finally:
        shutil.rmtree(_RUN_HOME, ignore_errors=True)
