"""``partita run --workers N`` honours ``max_active_tasks`` and pools, as the scheduler does.

Three independent tasks that each sleep half a second on a pool of three
workers would overlap; with ``max_active_tasks=1`` (and, in the second DAG,
a pool of one slot) their recorded run times never overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import Invoke

from partita.storage.base import Storage

DAGS = """
import time
from partita import DAG, PythonOperator

def nap():
    time.sleep(0.5)

with DAG("one_at_a_time", schedule=None, max_active_tasks=1) as limited:
    for name in "abc":
        PythonOperator(task_id=name, python_callable=nap)

with DAG("pooled", schedule=None) as pooled:
    for name in "abc":
        PythonOperator(task_id=name, python_callable=nap, pool="single")

with DAG("free", schedule=None) as free:
    for name in "abc":
        PythonOperator(task_id=name, python_callable=nap)
"""


def _most_at_once(storage: Storage, dag_id: str) -> int:
    (run,) = storage.runs.list_runs(dag_id)
    tis = storage.runs.get_task_instances(run.run_id)
    spans = [(ti.start_date, ti.end_date) for ti in tis]
    assert all(start is not None and end is not None for start, end in spans)
    return max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)  # type: ignore[operator]


@pytest.mark.slow
def test_run_with_workers_keeps_max_active_tasks_and_pool_slots(
    invoke: Invoke, cli_storage: Callable[[], Storage], tmp_path: Path
) -> None:
    path = tmp_path / "limits.py"
    path.write_text(DAGS)
    assert invoke("pools", "set", "single", "1").exit_code == 0
    for dag_id in ("one_at_a_time", "pooled", "free"):
        done = invoke("run", str(path), dag_id, "--workers", "3")
        assert done.exit_code == 0, done.output
    storage = cli_storage()
    assert _most_at_once(storage, "one_at_a_time") == 1
    assert _most_at_once(storage, "pooled") == 1
    assert _most_at_once(storage, "free") > 1  # the same tasks, unlimited, do overlap
