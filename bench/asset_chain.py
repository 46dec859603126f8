"""CPU time of ``materialize()`` over a chain of N assets, in memory and on SQLite.

Usage: ``python bench/asset_chain.py [N] [REPEAT]`` (defaults 200 and 15).
It reports the best process time of REPEAT runs (CPU time, so that other
processes on a shared machine disturb it less than wall time); the SQLite
runs all record into one fresh database, as a deployment's catalog grows.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from partita import AssetIn, InMemoryIOManager, asset, materialize
from partita.storage.sql import SqlStorage


def chain(length: int) -> list[Any]:
    """Assets a0 <- a1 <- ... each appending its index to its upstream's list."""
    assets: list[Any] = []
    for index in range(length):
        if index == 0:

            @asset(name="a0")
            def first() -> list[int]:
                return [0]

            assets.append(first)
        else:

            @asset(name=f"a{index}", ins={"up": AssetIn(key=f"a{index - 1}")})
            def step(up: list[int], index: int = index) -> list[int]:
                return [*up, index]

            assets.append(step)
    return assets


def best(run: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    length = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    assets = chain(length)
    in_memory = {"io_manager": InMemoryIOManager()}
    memory = best(lambda: materialize(assets, resources=in_memory), repeat)
    with (
        tempfile.TemporaryDirectory() as folder,
        SqlStorage(f"sqlite:///{folder}/partita.db", Path(folder) / "storage") as storage,
    ):
        io = {"io_manager": InMemoryIOManager()}
        sqlite = best(lambda: materialize(assets, storage=storage, resources=io), repeat)
    print(
        f"chain of {length} assets: memory {memory * 1000:.0f} ms, "
        f"sqlite {sqlite * 1000:.0f} ms (CPU, best of {repeat})"
    )


if __name__ == "__main__":
    main()
