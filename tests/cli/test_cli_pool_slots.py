"""A pool's slots bound the task instances running over two ``partita scheduler`` processes
sharing one PostgreSQL database (the ``pool_slot`` leases)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
from cli_helpers import Invoke
from test_cli_scheduler import PG_SECRET_KEY, Processes, _process_tree, stop, wait_for

from partita.definitions.states import RunState
from partita.settings import load_settings
from partita.storage.factory import open_storage

NARROW_DAG = """
import os, time
from partita import DAG, PythonOperator

MARKERS = {markers!r}

def work(run_id, ti, **_):
    time.sleep(0.4)
    fd = os.open(MARKERS, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, f"{{run_id}} {{ti.task_id}} {{os.getpid()}}\\n".encode())
    os.close(fd)

with DAG("narrow", schedule=None) as dag:
    for i in range(3):
        PythonOperator(task_id=f"t{{i}}", python_callable=work, pool="narrow")
"""


def most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    """The most spans overlapping at one instant (an end before a start at the same time)."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    at_once = most = 0
    for _, step in edges:
        at_once += step
        most = max(most, at_once)
    return most


@pytest.mark.slow
@pytest.mark.postgres
def test_a_pools_slots_hold_across_two_schedulers_on_postgres(
    tmp_path: Path,
    pg_clean_database_url: str,
    cli_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    invoke: Invoke,
) -> None:
    markers = tmp_path / "markers.txt"
    path = tmp_path / "narrow.py"
    path.write_text(NARROW_DAG.format(markers=str(markers)))
    # two runs at a time per scheduler, so both schedulers drive some of the runs
    env = {
        "PARTITA_DATABASE_URL": pg_clean_database_url,
        "PARTITA_SECRET_KEY": PG_SECRET_KEY,
        "PARTITA_MAX_CONCURRENT_RUNS": "2",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert invoke("pools", "set", "narrow", "2").exit_code == 0
    processes = Processes(cli_home)
    trees: list[set[str]] = [set(), set()]
    try:
        schedulers = [processes.start("scheduler", str(path), **env) for _ in range(2)]
        with open_storage(load_settings()) as store:
            wait_for(lambda: len(store.queue.list_schedulers()) == 2, 60, "two heartbeats")
            for _ in range(6):
                assert invoke("trigger", str(path), "narrow").exit_code == 0

            def finished() -> bool:
                for tree, scheduler in zip(trees, schedulers, strict=True):
                    tree.update(str(pid) for pid in _process_tree(scheduler.pid))
                runs = store.runs.list_runs("narrow", limit=100)
                return all(r.state.finished for r in runs)

            wait_for(finished, 120, "six runs to finish")
            time.sleep(0.5)
            runs = store.runs.list_runs("narrow", limit=100)
            spans = [
                (ti.start_date, ti.end_date)
                for run in runs
                for ti in store.runs.get_task_instances(run.run_id)
                if ti.start_date is not None and ti.end_date is not None
            ]
            leases_left = store.pools.shares_slots
        for scheduler in schedulers:
            assert stop(scheduler)[0] == 0
    finally:
        processes.stop_all()
    assert leases_left  # PostgreSQL: the schedulers count slots in the database
    assert {r.state for r in runs} == {RunState.SUCCESS} and len(runs) == 6
    assert len(spans) == 18
    pids = {line.split()[2] for line in markers.read_text().splitlines()}
    assert all(pids & tree for tree in trees)  # both schedulers ran some of the tasks
    assert most_at_once(spans) <= 2  # the pool's 2 slots, over both schedulers


def test_pools_are_set_listed_and_deleted(invoke: Invoke) -> None:
    assert invoke("pools", "set", "narrow", "2").exit_code == 0
    assert "narrow" in invoke("pools", "list").stdout
    deleted = invoke("pools", "delete", "narrow")
    assert deleted.exit_code == 0 and "now use default_pool" in deleted.stdout
    assert "narrow" not in invoke("pools", "list").stdout
    unknown = invoke("pools", "delete", "narrow")
    assert unknown.exit_code == 2 and "no pool 'narrow' is set" in unknown.output
