"""``python bench/instructions.py [--stores S] [--small N] [--large N]``: instructions per instance.

Wall and CPU time of the 100,000-instance workload swing by more than 10% on
a shared 2-core machine; the number of instructions a run executes does not.
This runs ``bench/workloads.py``'s ``mapped_noop`` through ``dag.test()``
under valgrind's callgrind twice, with a small and a large map, and prints
the difference divided by the difference in instances: the cost of one more
task instance, without the interpreter's start-up and imports. Compare two
trees by running it with each on ``PYTHONPATH`` (old and new in alternation
is not needed: the count is the same whatever the machine is doing).

Needs valgrind (Debian's package). Each run takes a few minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Runs one in-process test run of the mapped workload (the same DAG as ``map100k_noop``).
RUNNER = """
import importlib, sys, tempfile
from pathlib import Path
sys.path.insert(0, {bench!r})
import workloads
store, n = sys.argv[1], int(sys.argv[2])
dag = workloads.mapped_noop(n)
with tempfile.TemporaryDirectory() as scratch:
    storage = workloads.open_store(store, Path(scratch))
    importlib.import_module("partita.bootstrap").install()
    result = dag.test(storage=storage, verbose=False)
    storage.close()
if not result.success:
    raise SystemExit(f"the run ended {{result.state}}")
"""


def instructions(store: str, instances: int) -> int:
    """Instructions callgrind counts for one whole process running ``instances`` no-op tasks."""
    with tempfile.TemporaryDirectory(prefix="partita-instr-") as scratch:
        script = Path(scratch) / "runner.py"
        script.write_text(RUNNER.format(bench=str(HERE)))
        out = Path(scratch) / "callgrind.out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             sys.executable, str(script), store, str(instances)],
            capture_output=True, text=True, env=os.environ.copy(), check=False,
        )  # fmt: skip
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed ({store}, {instances}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="memory,sqlite")
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=7000)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    if args.large <= args.small:
        raise SystemExit("--large must be greater than --small")
    for store in args.stores.split(","):
        small, large = instructions(store, args.small), instructions(store, args.large)
        per_instance = (large - small) / (args.large - args.small)
        print(f"{store}: {per_instance:,.0f} instructions per task instance "
              f"({args.small} and {args.large} instances)")  # fmt: skip


if __name__ == "__main__":
    main()
