"""The scheduler's ``SlotBook``: pool and max_active_tasks counts, as the gate of a driver."""

from __future__ import annotations

from partita import DAG, EmptyOperator, PythonOperator, RunState
from partita.engine.driver import RunDriver
from partita.executors.in_process import InProcessExecutor
from partita.scheduler.slots import SlotBook
from partita.storage.memory import MemoryStorage


def test_the_slot_book_counts_and_frees_slots() -> None:
    with DAG("pooled", max_active_tasks=5) as dag:
        for name in ("a", "b", "c"):
            EmptyOperator(task_id=name, pool="db", pool_slots=1)
    book = SlotBook({"db": 2})
    admitted, held = book.admit(dag, "r1", [("a", -1), ("b", -1), ("c", -1)])
    assert (admitted, held) == ([("a", -1), ("b", -1)], [("c", -1)])
    assert book.admit(dag, "r2", [("c", -1)]) == ([], [("c", -1)])  # pools span runs
    book.release("r1", ("a", -1))
    assert book.admit(dag, "r2", [("c", -1)]) == ([("c", -1)], [])
    book.release_run("r1")
    book.release_run("r2")
    assert book.pool_used == {"db": 0} and book.dag_used == {"pooled": 0}


def test_a_driver_with_a_gate_runs_tasks_by_priority_and_waits_for_slots() -> None:
    order: list[str] = []
    with DAG("prioritised") as dag:
        for name, weight in (("low", 1), ("high", 50), ("mid", 10)):
            PythonOperator(
                task_id=name,
                python_callable=lambda n=name: order.append(n),
                priority_weight=weight,
                pool="narrow",
            )
    book = SlotBook({"narrow": 0})
    driver = RunDriver(dag, InProcessExecutor(), MemoryStorage(), gate=book)
    driver.begin()
    for _ in range(5):
        assert driver.step(timeout=0) is False  # no slot: nothing starts, nothing stalls
    assert order == []
    book.set_pools({"narrow": 1})
    while not driver.step(timeout=0):
        pass
    assert driver.end().state is RunState.SUCCESS
    assert order == ["high", "mid", "low"]
    assert book.pool_used == {"narrow": 0}
