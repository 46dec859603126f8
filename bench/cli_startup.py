"""How fast the ``partita`` command starts: ``python bench/cli_startup.py`` prints a table.

Each command runs as a whole new process (interpreter start, imports, work,
exit), ``--repeat`` times (default 10) after one warm-up, and the table gives
the median and min wall time of each, its ratio to ``python -c pass`` and to
``python -c 'import sqlalchemy'`` measured in the same run, the median CPU
time (user + system, less sensitive than wall time to other processes on a
busy machine) and its ratio, and the target of issue 16 with pass/fail.
``partita runs list`` reads a SQLite database prepared with ``--runs`` runs
(default 10,000) in a temporary ``PARTITA_HOME``.

Design decision: the commands are measured round-robin (one sample of each,
then the next round), so a burst of load from elsewhere on the machine falls
on all of them alike and the ratios stay meaningful even when the absolute
times do not. The ``partita`` script next to this interpreter is run directly
(not a pyenv shim, whose bash start would be counted).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PASS = "python -c pass"
SQLALCHEMY = "python -c 'import sqlalchemy'"


def partita_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).parent / "partita"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "partita.cli.main"]


def prepare_database(home: Path, runs: int) -> None:
    """A metadata database under ``home`` holding ``runs`` finished runs of 10 DAGs."""
    from sqlalchemy import insert

    from partita.storage.factory import open_storage_url
    from partita.storage.sql.models import dag_run_table
    from partita.storage.sql.store import SqlStorage

    storage = open_storage_url(f"sqlite:///{home / 'partita.db'}", home / "storage")
    assert isinstance(storage, SqlStorage)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "run_id": f"manual__{start + timedelta(minutes=i):%Y-%m-%dT%H:%M:%S}__{i:06d}",
            "dag_id": f"dag_{i % 10}",
            "dag_version": "v1",
            "state": "success" if i % 7 else "failed",
            "run_type": "manual",
            "conf": {},
            "queued_at": start + timedelta(minutes=i),
            "start_date": start + timedelta(minutes=i),
            "end_date": start + timedelta(minutes=i, seconds=3),
        }
        for i in range(runs)
    ]
    with storage.engine.begin() as connection:
        connection.execute(insert(dag_run_table), rows)
    storage.close()


def commands(partita: list[str]) -> dict[str, list[str]]:
    python = sys.executable
    return {
        PASS: [python, "-c", "pass"],
        SQLALCHEMY: [python, "-c", "import sqlalchemy"],
        "python -c 'import partita'": [python, "-c", "import partita"],
        "partita --help": [*partita, "--help"],
        "partita --version": [*partita, "--version"],
        "partita runs list": [*partita, "runs", "list"],
    }


Sample = tuple[float, float]  # (wall seconds, CPU seconds: user + system)


def time_once(argv: list[str], env: dict[str, str]) -> Sample:
    """Wall and CPU time of one whole process (CPU from the children's rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode().strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def measure(
    todo: dict[str, list[str]], env: dict[str, str], repeat: int
) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {name: [] for name in todo}
    for argv in todo.values():  # warm-up: file caches, .pyc files
        time_once(argv, env)
    for _ in range(repeat):
        for name, argv in todo.items():
            samples[name].append(time_once(argv, env))
    return samples


def target(name: str, median: float, baseline: dict[str, float]) -> str:
    if name in ("partita --help", "partita --version", "python -c 'import partita'"):
        return f"<= 0.15 s: {'pass' if median <= 0.15 else 'FAIL'}"
    if name == "partita runs list":
        ratio = median / baseline[SQLALCHEMY]
        return f"<= 1.5x import sqlalchemy: {'pass' if ratio <= 1.5 else 'FAIL'}"
    return ""


def report(samples: dict[str, list[Sample]], runs: int) -> str:
    medians = {name: statistics.median(w for w, _ in values) for name, values in samples.items()}
    cpus = {name: statistics.median(c for _, c in values) for name, values in samples.items()}
    load = os.getloadavg()[0]
    lines = [
        f"partita CLI start-up, median of {len(samples[PASS])} runs each "
        f"(runs list on {runs:,} runs; Python {sys.version.split()[0]}; "
        f"{os.cpu_count()} CPUs, load average {load:.1f})",
        "",
        "| command | wall s | min s | / python -c pass | / import sqlalchemy "
        "| CPU s | CPU / import sqlalchemy | target (wall) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, values in samples.items():
        median = medians[name]
        lines.append(
            f"| `{name}` | {median:.3f} | {min(w for w, _ in values):.3f} "
            f"| {median / medians[PASS]:.2f} | {median / medians[SQLALCHEMY]:.2f} "
            f"| {cpus[name]:.3f} | {cpus[name] / cpus[SQLALCHEMY]:.2f} "
            f"| {target(name, median, medians)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="samples per command")
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="partita-cli-bench-") as tmp:
        home = Path(tmp) / "home"
        prepare_database(home, args.runs)
        env = {**os.environ, "PARTITA_HOME": str(home), "COLUMNS": "200"}
        env.pop("PARTITA_DATABASE_URL", None)
        samples = measure(commands(partita_command()), env, max(args.repeat, 1))
    print(report(samples, args.runs))


if __name__ == "__main__":
    main()
