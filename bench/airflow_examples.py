"""Airflow's own example DAG files through partita's compat layer: fetch, load, run, time.

``python bench/airflow_examples.py`` downloads the pinned apache-airflow-core,
apache-airflow-providers-standard and apache-airflow-providers-common-sql wheels
(``pip download --no-deps``, cached under ``~/.cache/partita-tests``; the files
are never copied into this repository), extracts their ``example_dags`` folders,
loads every DAG file with partita, and prints the time the whole folder took to
load and the table (file, loads, why not), timed on a second pass (partita's
own modules already imported, as a scheduler re-parsing its folder has them).
``--run`` also runs each loaded DAG with ``dag.test()`` and prints its final
states. tests/compat/test_airflow_examples.py uses the same functions.

Design decision: each file loads on its own (``load_file``) with the extraction
root importable, as a DAG folder would, so a file that fails never hides another.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PINS = {
    "apache-airflow-core": "3.3.2",
    "apache-airflow-providers-standard": "1.21.0",
    "apache-airflow-providers-common-sql": "2.4.0",
}
CACHE = Path.home() / ".cache" / "partita-tests" / "airflow-examples-3.3.2"
HERE = Path(__file__).resolve().parent
#: Airflow's own final states for the example DAGs, written by ``--airflow-states``.
AIRFLOW_STATES = HERE / "airflow_example_states.json"
#: Seconds one file may take under Airflow's ``dag.test()`` before it is left out.
PER_FILE_TIMEOUT = 600
#: Files that load but are not run with ``--run``: they wait on something outside the file.
NOT_RUN = {
    "example_external_task_parent_deferrable.py": (
        "its sensor waits (up to a week) for a run of another DAG that only a scheduler starts"
    ),
    "example_external_task_marker_dag.py": (
        "its child DAG's sensors wait (up to 10 minutes) for the parent DAG's run at the same "
        "logical date, which a dag.test() of one DAG does not create"
    ),
    "example_retry_policy.py": (
        "its task calls an outside API (api.example.com) and retries five times, a minute apart"
    ),
    "example_sensors.py": (
        "its FileSensor waits a minute (the 60 s poke interval) and its TimeSensor and "
        "DayOfWeekSensor depend on the clock"
    ),
}


@dataclass
class FileRow:
    """One example file: whether it loads, why not, and its DAGs' final task states."""

    name: str
    loads: bool
    error: str = ""
    states: dict[str, dict[str, str]] = field(default_factory=dict)


def fetch(cache: Path = CACHE) -> Path:
    """The folder the examples are extracted into (downloaded the first time)."""
    examples = cache / "examples"
    if (cache / ".ready").exists():
        return examples
    cache.mkdir(parents=True, exist_ok=True)
    pins = [f"{name}=={version}" for name, version in PINS.items()]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), *pins],
        check=True,
    )
    for wheel in cache.glob("*.whl"):
        with zipfile.ZipFile(wheel) as zf:
            for member in zf.namelist():
                if "/example_dags/" in member and member.endswith(".py"):
                    zf.extract(member, examples)
    (cache / ".ready").write_text("\n".join(pins) + "\n")
    return examples


def dag_files(examples: Path) -> list[Path]:
    """The DAG files: each ``example_dags`` folder's own modules (not helpers, not plugins)."""
    return sorted(p for p in examples.rglob("example_dags/*.py") if not p.name.startswith("_"))


def load_all(examples: Path, run: bool = False) -> tuple[list[FileRow], float]:
    """A row per DAG file, and the seconds loading all of them took (runs not counted)."""
    from partita.loader import load_file

    rows, seconds = [], 0.0
    for path in dag_files(examples):
        start = time.perf_counter()
        result = load_file(path, folder=examples)
        seconds += time.perf_counter() - start
        if result.errors:
            first = next(iter(result.errors.values())).splitlines()[0]
            rows.append(FileRow(path.name, False, first))
            continue
        row = FileRow(path.name, True)
        if run and path.name not in NOT_RUN:
            for dag_id, dag in sorted(result.dags.items()):
                row.states[dag_id] = _run(dag)
        rows.append(row)
    return rows, seconds


def airflow_states(examples: Path, files: list[str]) -> dict[str, dict[str, dict[str, str]]]:
    """Run ``files`` with Airflow's ``dag.test()`` in the peer venv; file -> DAG -> states.

    ``AIRFLOW_STATES`` is rewritten after each file (merged with what it held),
    so an interrupted run keeps what it measured (Airflow takes tens of seconds
    per file on a loaded machine). A file that runs longer than ``PER_FILE_TIMEOUT``
    (one waiting on an outside service) is left out.
    """
    sys.path.insert(0, str(HERE))
    import setup_peers

    peer = setup_peers.PEERS["airflow"]
    setup_peers.ensure(peer)
    found = load_airflow_states()
    by_name = {path.name: path for path in dag_files(examples)}
    for name in files:
        found.pop(name, None)
        script = str(HERE / "peers" / "airflow_example_states.py")
        try:
            done = subprocess.run(
                [str(peer.python), script, str(by_name[name])],
                env=setup_peers.peer_env(peer),
                capture_output=True,
                text=True,
                timeout=PER_FILE_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            print(json.dumps({"file": name, "error": "timed out"}), flush=True)
            continue
        for line in done.stdout.splitlines():
            if line.startswith('{"file"'):
                row = json.loads(line)
                if "states" in row:
                    found.setdefault(row["file"], {})[row["dag_id"]] = row["states"]
                print(line, flush=True)
        AIRFLOW_STATES.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    return found


#: Files whose final states depend on the clock (minute, weekday, time of day) or on
#: ``random``: run, but not compared with Airflow's.
NOT_COMPARED = {
    "example_branch_python_dop_operator_3.py": "branches on the minute",
    "example_branch_day_of_week_operator.py": "branches on the weekday",
    "example_branch_datetime_operator.py": "branches on the time of day",
    "example_branch_operator.py": "branches at random",
    "example_branch_operator_decorator.py": "branches at random",
}


#: Files partita loads but ends differently from Airflow, and why (docs/airflow.md).
KNOWN_DIFFERENT = {
    "example_task_state_store_mapped.py": "no `task_state_store` in the context yet",
    "example_asset_state_store.py": "no `asset_state_store` in the context yet",
}


def compare(rows: list[FileRow], measured: dict[str, Any]) -> dict[str, str]:
    """Per loading file: ``equal``, ``different``, or why its states are not compared."""
    verdicts: dict[str, str] = {}
    for row in rows:
        if not row.loads:
            continue
        if row.name in NOT_RUN:
            verdicts[row.name] = f"not run: {NOT_RUN[row.name]}"
        elif row.name in NOT_COMPARED:
            verdicts[row.name] = f"not compared: {NOT_COMPARED[row.name]}"
        elif row.name not in measured:
            verdicts[row.name] = "not compared: Airflow's dag.test() gave no states"
        else:
            verdicts[row.name] = "equal" if row.states == measured[row.name] else "different"
    return verdicts


def markdown(rows: list[FileRow], verdicts: dict[str, str]) -> str:
    """The table docs/airflow.md shows: file, loads, states equal, why not."""
    lines = ["| file | loads | final states as Airflow's | why not |", "|---|---|---|---|"]
    for row in rows:
        verdict = verdicts.get(row.name, "")
        equal = {"equal": "yes", "different": "**no**"}.get(verdict, "")
        if not row.loads:
            why = row.error.removeprefix("AirflowNameNotSupported: ")
            why = why.replace("; see docs/airflow.md for what maps to what", "")
        elif verdict == "different":
            why = KNOWN_DIFFERENT.get(row.name, "")
        else:
            why = "" if equal else verdict
        lines.append(f"| {row.name} | {'yes' if row.loads else 'no'} | {equal} | {why} |")
    return "\n".join(lines)


def load_airflow_states() -> dict[str, dict[str, dict[str, str]]]:
    """What ``--airflow-states`` measured (empty when it was never run)."""
    if not AIRFLOW_STATES.exists():
        return {}
    loaded: dict[str, dict[str, dict[str, str]]] = json.loads(AIRFLOW_STATES.read_text())
    return loaded


def _run(dag: Any) -> dict[str, str]:
    """``dag.test()``'s final state per task, or ``{"(run)": why}`` when the run is refused."""
    from partita.exceptions import PartitaError

    try:
        states = dag.test().task_states
    except PartitaError as exc:
        return {"(run)": f"refused: {exc}"}
    return {str(task): str(state) for task, state in sorted(states.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="also run each loaded DAG")
    parser.add_argument(
        "files", nargs="*", help="with --airflow-states: these files only (default: all)"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="with --run: print docs/airflow.md's table"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="load the folder this many times; report the best"
    )
    parser.add_argument(
        "--airflow-states",
        action="store_true",
        help=f"run the files with Airflow itself; write {AIRFLOW_STATES.name}",
    )
    args = parser.parse_args()
    examples = fetch()
    if args.airflow_states:
        every = [path.name for path in dag_files(examples) if path.name not in NOT_RUN]
        airflow_states(examples, args.files or every)
        return
    _, cold = load_all(examples)
    passes = [load_all(examples)[1] for _ in range(max(args.repeat, 1))]
    rows, _ = load_all(examples, run=args.run)
    seconds = min(passes)
    if args.markdown:
        print(markdown(rows, compare(rows, load_airflow_states())))
        return
    for row in rows:
        print(f"{row.name:55} {'yes' if row.loads else 'no ':4} {row.error[:110]}")
        for dag_id, states in row.states.items():
            print(f"    {dag_id}: {states}")
    loaded = sum(row.loads for row in rows)
    print(
        f"{loaded} of {len(rows)} files load; loading them all took {seconds:.3f} s "
        f"(the best of {len(passes)} passes)"
    )
    print(f"(the first pass, which also imports partita's engine and pendulum: {cold:.3f} s)")


if __name__ == "__main__":
    main()
