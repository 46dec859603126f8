"""Event-driven runs through the real scheduler in a subprocess (SQLite), restarted mid-way:
asset-triggered DAGs (``schedule=[Asset(...)]``) and automation conditions (``eager``)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from cli_helpers import Invoke
from test_cli_scheduler import Processes, processes, runs_in, stop, store, wait_for

from partita.definitions.asset_events import TRIGGERING_EVENTS_KEY
from partita.definitions.automation_job import AUTOMATION_SELECTION_KEY
from partita.definitions.states import RunState
from partita.storage.base import Storage

__all__ = ["processes", "store"]  # fixtures used here

PRODUCER_AND_CONSUMER = """
from pathlib import Path
from partita import DAG, Asset, task

orders = Asset("s3://bucket/orders")

with DAG("producer", schedule=None) as producer:
    @task(outlets=[orders])
    def write_orders(**context):
        context["outlet_events"][orders].extra["rows"] = 3

    @task(outlets=[orders])
    def write_more_orders():
        pass

    write_orders() >> write_more_orders()

with DAG("consumer", schedule=[orders]) as consumer:
    @task
    def read(run_id, **context):
        events = context["triggering_asset_events"][orders]
        with open({markers!r}, "a") as out:
            out.write(f"{{run_id}} {{len(events)}}\\n")
    read()
"""

EAGER_ASSETS = """
from partita import AutomationCondition, Definitions, asset, define_asset_job

@asset
def raw():
    return [1, 2, 3]

@asset(automation_condition=AutomationCondition.eager())
def doubled(raw):
    return [n * 2 for n in raw]

defs = Definitions(assets=[raw, doubled], jobs=[define_asset_job("load_raw", selection="raw")])
"""

#: A second file of the folder with an automated asset: its own automation job.
MORE_ASSETS = """
from partita import AutomationCondition, Definitions, asset

@asset(automation_condition=AutomationCondition.on_missing())
def lookup():
    return {"a": 1}

defs = Definitions(assets=[lookup])
"""
#: The automation jobs of assets.py and more_assets.py.
AUTOMATION_DAG_ID, MORE_AUTOMATION = "__automation_assets__", "__automation_more_assets__"


def _consumed(markers: Path) -> list[str]:
    return markers.read_text().splitlines() if markers.exists() else []


def _succeeded(storage: Storage, dag_id: str) -> list[str]:
    return [r.run_id for r in runs_in(storage, dag_id) if r.state is RunState.SUCCESS]


@pytest.mark.slow
def test_asset_events_trigger_one_run_per_batch_and_a_restart_makes_no_second(
    tmp_path: Path, processes: Processes, store: Storage, invoke: Invoke
) -> None:
    markers = tmp_path / "consumed.txt"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "orders.py").write_text(PRODUCER_AND_CONSUMER.format(markers=str(markers)))
    (dags / "assets.py").write_text(EAGER_ASSETS)
    (dags / "more_assets.py").write_text(MORE_ASSETS)
    listed = invoke("dags", "list", str(dags))
    assert listed.exit_code == 0, listed.output  # two files with automated assets: no clash
    assert AUTOMATION_DAG_ID in listed.output and MORE_AUTOMATION in listed.output
    scheduler = processes.start("scheduler", str(dags))
    wait_for(lambda: store.automation.get_cursor("dag:consumer") is not None, 60, "the consumer")

    assert invoke("trigger", str(dags), "producer").exit_code == 0
    assert invoke("trigger", str(dags), "load_raw").exit_code == 0
    wait_for(lambda: len(_consumed(markers)) == 1, 60, "the consumer's run")
    wait_for(lambda: len(_succeeded(store, AUTOMATION_DAG_ID)) == 1, 60, "the eager asset")
    wait_for(lambda: len(_succeeded(store, MORE_AUTOMATION)) == 1, 60, "the second file's asset")
    [other] = runs_in(store, MORE_AUTOMATION)
    assert other.conf[AUTOMATION_SELECTION_KEY] == ["lookup"]
    [run] = runs_in(store, "consumer")
    assert run.run_type == "asset_triggered"
    events = run.conf[TRIGGERING_EVENTS_KEY]  # two events of one producer run: one run
    assert [(e["source_task_id"], e["extra"]) for e in events] == [
        ("write_orders", {"rows": 3}), ("write_more_orders", {}),
    ]  # fmt: skip
    assert _consumed(markers) == [f"{run.run_id} 2"]
    [automated] = runs_in(store, AUTOMATION_DAG_ID)
    assert automated.conf[AUTOMATION_SELECTION_KEY] == ["doubled"]
    doubled = store.assets.list_materializations(run_id=automated.run_id)
    assert [m.asset_key.to_user_string() for m in doubled] == ["doubled"]

    stop(scheduler, signal.SIGKILL)  # no clean stop: the cursors are all it has
    again = processes.start("scheduler", str(dags))
    time.sleep(4)  # several passes over the same events
    assert len(runs_in(store, "consumer")) == 1
    assert len(runs_in(store, AUTOMATION_DAG_ID)) == 1
    assert len(runs_in(store, MORE_AUTOMATION)) == 1

    assert invoke("trigger", str(dags), "producer").exit_code == 0
    wait_for(lambda: len(_consumed(markers)) == 2, 60, "the second consumer run")
    code, _, _ = stop(again)
    assert code == 0
    assert len(runs_in(store, "consumer")) == 2
