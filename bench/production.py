"""The production path's benchmark: ``partita scheduler --workers 2`` running triggered runs.

``python bench/production.py [--repeat 3] [--only chain100 fan500 ...]`` starts
``partita scheduler DAGS --workers N`` on a scratch ``PARTITA_HOME`` (SQLite)
holding the workload DAG files, queues runs with ``partita trigger DAG_ID``
and reads each run's ``queued_at`` and ``end_date`` from the database: the
figure is the time from the queued record to the run's success, so neither
the CLI's start-up nor the scheduler's is counted. It also measures:

- ``--tick``: schedule tick to task start. DAG files whose ``@once`` run is
  due a few seconds ahead are dropped into a running scheduler's folder; the
  figure is the first task's ``start_date`` minus the run's due instant.
- ``--idle``: the idle cost. A scheduler with 1,000 DAG files (nothing due)
  is left alone for ``--idle-seconds``; the figure is the CPU time of its
  whole process tree (scheduler, forkserver, workers) over the wall time.
- the summed PSS (``/proc/<pid>/smaps_rollup``) of the scheduler's process
  tree while two tasks sleep on the workers.

Design decision: one scheduler serves all repetitions of the run workloads,
as a production scheduler serves many runs; its workers import each DAG
file once, so the first run of a workload pays that import and the median
of ``--repeat`` runs is the steady state (min and max are shown).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from local_executor import HEADER, WORKLOADS, _env, _pss_mib, _tree

HERE = Path(__file__).resolve().parent
RUN_WORKLOADS = ["chain100", "chain40", "fan500", "independent10k"]
TICK_TARGET_S = 0.050
IDLE_TARGET = 0.01
PSS_TARGET_MIB = 300.0


def _when(value: Any) -> datetime:
    stamp = datetime.fromisoformat(str(value))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


class Home:
    """A scratch ``PARTITA_HOME`` with a DAG folder, and a scheduler serving it."""

    def __init__(self, root: Path, workers: int) -> None:
        self.root = root
        self.dags = root / "dags"
        self.dags.mkdir()
        self.workers = workers
        self.process: subprocess.Popen[str] | None = None

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.root / "partita.db", timeout=30) as db:
            return db.execute(sql, args).fetchall()

    def start(self, expected_dags: int, timeout: float = 300.0) -> None:
        command = [sys.executable, "-m", "partita.cli.main", "scheduler", str(self.dags)]
        command += ["--workers", str(self.workers)]
        log = (self.root / "scheduler.log").open("w")
        self.process = subprocess.Popen(
            command, env=_env(self.root), stdout=log, stderr=log, text=True, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log_text = (self.root / "scheduler.log").read_text()
                raise SystemExit(f"the scheduler exited: {log_text}")
            try:
                if self.query("select count(*) from dag")[0][0] >= expected_dags:
                    return
            except sqlite3.OperationalError:
                pass  # not migrated yet
            time.sleep(0.2)
        raise SystemExit(f"the scheduler did not load {expected_dags} DAGs in {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def trigger(self, dag_id: str) -> str:
        before = {r[0] for r in self.query("select run_id from dag_run where dag_id = ?", dag_id)}
        command = [sys.executable, "-m", "partita.cli.main", "trigger", dag_id]
        done = subprocess.run(command, env=_env(self.root), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"partita trigger {dag_id} exited {done.returncode}: {done.stderr}")
        after = {r[0] for r in self.query("select run_id from dag_run where dag_id = ?", dag_id)}
        (run_id,) = after - before
        return run_id

    def wait_run(self, run_id: str, timeout: float) -> tuple[datetime, datetime, datetime]:
        """(queued_at, start_date, end_date) of a run that succeeded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state, queued, start, end = self.query(
                "select state, queued_at, start_date, end_date from dag_run where run_id = ?",
                run_id,
            )[0]
            if state == "success":
                return _when(queued), _when(start), _when(end)
            if state == "failed":
                raise SystemExit(f"run {run_id} failed; see {self.root / 'scheduler.log'}")
            time.sleep(0.05)
        raise SystemExit(f"run {run_id} did not end in {timeout:.0f} s")


@contextmanager
def scheduler_home(workers: int, files: dict[str, str], expected_dags: int) -> Iterator[Home]:
    with tempfile.TemporaryDirectory(prefix="partita-bench-prod-") as scratch:
        home = Home(Path(scratch), workers)
        for name, body in files.items():
            (home.dags / f"{name}.py").write_text(body)
        try:
            home.start(expected_dags)
            yield home
        finally:
            home.stop()


def bench_runs(names: list[str], workers: int, repeat: int, timeout: float) -> dict[str, Any]:
    """Each workload ``repeat`` times through one scheduler; seconds from queued to success."""
    files = {name: HEADER + WORKLOADS[name][2] for name in [*names, "sleep2x3s"]}
    samples: dict[str, list[float]] = {name: [] for name in names}
    with scheduler_home(workers, files, len(files)) as home:
        for _ in range(repeat):  # interleaved, so machine noise hits the workloads alike
            for name in names:
                queued, _start, end = home.wait_run(home.trigger(name), timeout)
                samples[name].append((end - queued).total_seconds())
        home.trigger("sleep2x3s")
        time.sleep(2.0)  # both tasks sleep on the workers
        pss = _pss_mib(_tree(home.process.pid if home.process else 0))
    return {"runs": samples, "pss_mib": pss}


def _tick_file(index: int, due: datetime) -> str:
    return (
        HEADER
        + f"""
from datetime import datetime, timezone

with DAG("tick{index}", schedule="@once",
         start_date=datetime.fromisoformat("{due.isoformat()}")) as dag:
    PythonOperator(task_id="first", python_callable=noop)
"""
    )


def bench_tick(workers: int, samples: int) -> list[float]:
    """Due instant to first task start, for ``samples`` DAGs falling due one by one."""
    with scheduler_home(workers, {"chain40": HEADER + WORKLOADS["chain40"][2]}, 1) as home:
        first_due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=8)
        dues = [first_due + timedelta(seconds=3 * i) for i in range(samples)]
        for i, due in enumerate(dues):
            (home.dags / f"tick{i}.py").write_text(_tick_file(i, due))
        latencies = []
        deadline = time.monotonic() + 60 + 3 * samples
        for i, due in enumerate(dues):
            while time.monotonic() < deadline:
                rows = home.query(
                    "select ti.start_date from task_instance ti join dag_run r "
                    "on r.run_id = ti.run_id where r.dag_id = ? and ti.start_date is not null",
                    f"tick{i}",
                )
                if rows:
                    latencies.append((_when(rows[0][0]) - due).total_seconds())
                    break
                time.sleep(0.1)
            else:
                raise SystemExit(f"tick{i} did not start; see {home.root / 'scheduler.log'}")
    return latencies


def _idle_file(index: int) -> str:
    return f"""from datetime import datetime
from partita import DAG, EmptyOperator

with DAG("idle{index:04d}", schedule="@daily", start_date=datetime(2099, 1, 1)) as dag:
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"""


def _cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def bench_idle(workers: int, dag_count: int, seconds: float) -> tuple[float, int]:
    """(share of one core, number of processes) of an idle scheduler with ``dag_count`` DAGs."""
    files = {f"idle{i:04d}": _idle_file(i) for i in range(dag_count)}
    with scheduler_home(workers, files, dag_count) as home:
        time.sleep(10)  # let start-up settle
        pids = _tree(home.process.pid if home.process else 0)
        before, started = _cpu_seconds(pids), time.monotonic()
        time.sleep(seconds)
        after, wall = _cpu_seconds(pids), time.monotonic() - started
    return (after - before) / wall, len(pids)


def _verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def report_runs(result: dict[str, Any], workers: int) -> list[str]:
    lines = [
        "| workload | instances | queued -> success s, median [min-max] | instances/s | target |",
        "|---|---:|---:|---:|---|",
    ]
    for name, runs in result["runs"].items():
        instances, target = WORKLOADS[name][0], WORKLOADS[name][1]
        median = statistics.median(runs)
        if name == "independent10k":
            verdict = f">= 2,000/s: {_verdict(instances / median >= 2000)}"
        else:
            verdict = f"<= {target:g} s: {_verdict(median <= (target or 0))}"
        lines.append(
            f"| {name} | {instances} | {median:.3f} [{min(runs):.3f}-{max(runs):.3f}] "
            f"| {instances / median:,.0f} | {verdict} |"
        )
    pss = result["pss_mib"]
    lines.append(
        f"\nsummed PSS of the scheduler's process tree, {workers} workers, two tasks "
        f"running: {pss:.0f} MiB (<= {PSS_TARGET_MIB:.0f} MiB: {_verdict(pss <= PSS_TARGET_MIB)})"
    )
    return lines


def side_by_side(partita: dict[str, list[float]], peers: dict[str, Any]) -> list[str]:
    """The production-path table: seconds from queued to success, per framework."""
    from peer_production import WORKLOAD_TITLES, cell

    names = list(peers)
    lines = [
        "| workload | partita | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for key, title in WORKLOAD_TITLES.items():
        runs = partita.get(title) or []
        ours = cell({"samples": runs}) if runs else "not run"
        theirs = [cell(peers[n][key]) if key in peers[n] else "not run" for n in names]
        lines.append(f"| {key} {title} | {ours} | " + " | ".join(theirs) + " |")
    peaks = [f"{n} {max(r.get('peak_mb') or 0 for r in peers[n].values()):,.0f} MB" for n in names]
    lines.append("\npeak RSS of each peer's process tree: " + ", ".join(peaks))
    return lines


def _save(payload: dict[str, Any]) -> None:
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"production-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(payload, indent=2, default=str))
    print(f"\nJSON: {out}", flush=True)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=RUN_WORKLOADS, default=None)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--tick", action="store_true", help="measure schedule tick to task start")
    parser.add_argument("--tick-samples", type=int, default=5)
    parser.add_argument("--idle", action="store_true", help="measure an idle scheduler's CPU")
    parser.add_argument("--idle-dags", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--no-runs", action="store_true", help="skip the run workloads")
    parser.add_argument(
        "--peers", nargs="*", choices=["airflow", "dagster", "prefect"], default=None,
        help="also run these peers' production paths on W1 and W2 (none named: all three)",
    )  # fmt: skip
    parser.add_argument("--peer-repeat", type=int, default=3, help="runs per peer workload")
    parser.add_argument(
        "--peer-repeat-w2", type=int, default=None, help="runs per peer on W2 (default: same)"
    )
    parser.add_argument("--peer-limit", type=float, default=300.0, help="seconds per peer run")
    parser.add_argument(
        "--peer-workloads", nargs="*", choices=["W1", "W2"], default=None, help="default: both"
    )
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    print(
        f"partita production path (partita scheduler --workers {args.workers}, SQLite), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.repeat} runs each\n",
        flush=True,
    )
    payload: dict[str, Any] = {"date": datetime.now(UTC).isoformat(), "workers": args.workers}
    if not args.no_runs:
        result = bench_runs(args.only or RUN_WORKLOADS, args.workers, args.repeat, args.timeout)
        payload["partita"] = result
        print("\n".join(report_runs(result, args.workers)), flush=True)
    if args.tick:
        ms = [s * 1e3 for s in bench_tick(args.workers, args.tick_samples)]
        payload["tick_ms"] = ms
        median = statistics.median(ms)
        print(
            f"\nschedule tick to task start: median {median:.0f} ms [{min(ms):.0f}-{max(ms):.0f}] "
            f"over {len(ms)} DAGs (<= {TICK_TARGET_S * 1e3:.0f} ms: "
            f"{_verdict(median <= TICK_TARGET_S * 1e3)})",
            flush=True,
        )
    if args.idle:
        share, processes = bench_idle(args.workers, args.idle_dags, args.idle_seconds)
        payload["idle_core_share"] = share
        print(
            f"\nidle scheduler, {args.idle_dags} DAGs, {args.idle_seconds:.0f} s: "
            f"{share * 100:.2f}% of one core over {processes} processes "
            f"(<= {IDLE_TARGET * 100:.0f}%: {_verdict(share <= IDLE_TARGET)})",
            flush=True,
        )
    if args.peers is not None:
        from peer_production import peer_rows

        repeat = {"W1": args.peer_repeat, "W2": args.peer_repeat_w2 or args.peer_repeat}
        peers = peer_rows(args.peers or ["airflow", "dagster", "prefect"], repeat,
                          args.peer_limit, args.workers, args.peer_workloads)  # fmt: skip
        payload["peers"] = peers
        print("\n" + "\n".join(side_by_side(payload.get("partita", {}).get("runs", {}), peers)))
    _save(payload)


if __name__ == "__main__":
    main()
