"""``context["inlet_events"]``: the asset events of a task's inlets, oldest first."""

from __future__ import annotations

from typing import Any

import pytest

from partita import DAG, Asset, AssetAlias, BashOperator, task
from partita.executors.in_process import run_dag
from partita.storage.memory import MemoryStorage

ORDERS = Asset(name="orders", uri="s3://bucket/orders.csv")
ALIAS = AssetAlias("through")


def _produce(storage: MemoryStorage, rows: int) -> None:
    with DAG(f"producer_{rows}") as dag:

        @task(outlets=[ORDERS, ALIAS])
        def write(*, outlet_events: Any = None) -> None:
            outlet_events[ORDERS].extra = {"rows": rows}
            outlet_events[ALIAS].add(Asset("s3://bucket/other"), extra={"via": rows})

        write()
    assert run_dag(dag, storage=storage).success


def test_a_task_reads_its_inlets_events_oldest_first() -> None:
    storage = MemoryStorage()
    _produce(storage, 1)
    _produce(storage, 2)
    seen: dict[str, Any] = {}
    with DAG("consumer") as dag:

        @task(inlets=[ORDERS, ALIAS])
        def read(*, inlet_events: Any = None) -> None:
            events = inlet_events[ORDERS]
            seen["rows"] = [e.extra["rows"] for e in events]
            seen["source"] = events[-1].source_dag_id
            seen["by_uri"] = inlet_events.for_asset(uri="s3://bucket/orders.csv") == events
            through = inlet_events.for_asset_alias(name="through")
            seen["alias"] = [(e.asset.name, e.extra["via"]) for e in through]
            seen["first"] = inlet_events[0] == events
            with pytest.raises(KeyError, match="is not an inlet of this task"):
                inlet_events[Asset("elsewhere")]

        read()
        BashOperator(
            task_id="templated",
            inlets=[ORDERS],
            bash_command="test '{{ inlet_events.for_asset(name='orders')[-1].extra.rows }}' = 2",
        )
    result = run_dag(dag, storage=storage)
    assert result.task_states == {"read": "success", "templated": "success"}, result.error("read")
    assert seen == {
        "rows": [1, 2],
        "source": "producer_2",
        "by_uri": True,
        "alias": [("s3://bucket/other", 1), ("s3://bucket/other", 2)],
        "first": True,
    }


def test_no_events_yet_gives_an_empty_list() -> None:
    with DAG("consumer") as dag:
        BashOperator(
            task_id="newest",
            inlets=[ORDERS],
            bash_command="echo {{ inlet_events[0][-1] }}",
        )

        @task(inlets=[ORDERS])
        def count(*, inlet_events: Any = None) -> int:
            return len(inlet_events[ORDERS])

        count()
    result = run_dag(dag, storage=MemoryStorage())
    assert result.task_states == {"newest": "failed", "count": "success"}  # as in Airflow
    assert result.output("count") == 0
