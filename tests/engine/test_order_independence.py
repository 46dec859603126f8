"""One outcome per DAG, whatever order its tasks finish in (issue 14, item 3).

Random DAGs (random edges, every trigger rule, tasks that succeed, fail,
skip, branch or short-circuit) are run three ways and must all give the
final states an *oracle* computes: each task in topological order, decided
from the final states of all its upstreams (the rule once everything is
done), skipped if a branch or short circuit that ran chose to skip it.

- the pure state machine (``ActiveRun``), finishing running tasks in an
  order hypothesis draws;
- ``dag.test()`` with real operators, in-process;
- the local executor's pool of worker processes, twice per DAG with
  different task durations, so tasks finish in different orders.
"""

from __future__ import annotations

import json
import random
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partita import DAG, BaseOperator, EmptyOperator
from partita.definitions.states import TaskState, TriggerRule
from partita.engine.active_run import ActiveRun, TaskSpec
from partita.engine.driver import RunDriver
from partita.engine.trigger_rules import RUN, SKIP, decide
from partita.executors.local import WorkerPool
from partita.loader import load_file
from partita.storage.base import Storage
from partita.storage.factory import open_storage_url

RULES = [r for r in TriggerRule if r is not TriggerRule.ALL_DONE_SETUP_SUCCESS]
KINDS = ("ok", "ok", "fail", "skip", "branch", "short")
OWN_STATE = {
    "ok": TaskState.SUCCESS,
    "branch": TaskState.SUCCESS,
    "short": TaskState.SUCCESS,
    "fail": TaskState.FAILED,
    "skip": TaskState.SKIPPED,
}


@dataclass(frozen=True)
class Node:
    task_id: str
    upstream: tuple[str, ...]
    rule: TriggerRule
    kind: str
    chosen: tuple[str, ...] = ()  # a branch's choice among its direct downstreams


def random_dag(rng: random.Random) -> list[Node]:
    """A random DAG in topological order; a branch's choice is drawn once its edges are known."""
    n = rng.randint(2, 8)
    drafts: list[tuple[str, tuple[str, ...], TriggerRule, str]] = []
    for i in range(n):
        earlier = [f"t{j}" for j in range(i)]
        ups = tuple(u for u in earlier if rng.random() < 0.4)
        rule = rng.choice(RULES) if ups else TriggerRule.ALL_SUCCESS
        drafts.append((f"t{i}", ups, rule, rng.choice(KINDS)))
    down = _downstream([(t, ups) for t, ups, _, _ in drafts])
    nodes = []
    for task_id, ups, rule, kind in drafts:
        chosen: tuple[str, ...] = ()
        if kind == "branch":
            chosen = tuple(d for d in down[task_id] if rng.random() < 0.5)
        nodes.append(Node(task_id, ups, rule, kind, chosen))
    return nodes


def _downstream(edges: list[tuple[str, tuple[str, ...]]]) -> dict[str, list[str]]:
    down: dict[str, list[str]] = {t: [] for t, _ in edges}
    for task_id, ups in edges:
        for up in ups:
            down[up].append(task_id)
    return down


def _descendants(down: dict[str, list[str]], roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        for d in down[todo.pop()]:
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def skips_of(node: Node, down: dict[str, list[str]]) -> list[str]:
    """What the task skips when it runs (as ``follow_branches`` / ``short_circuit`` compute it)."""
    if node.kind == "short":
        return sorted(_descendants(down, [node.task_id]))
    if node.kind == "branch":
        reachable = set(node.chosen) | _descendants(down, list(node.chosen))
        return [d for d in down[node.task_id] if d not in reachable]
    return []


def may_skip(node: Node, down: dict[str, list[str]]) -> tuple[str, ...]:
    if node.kind == "short":
        return tuple(sorted(_descendants(down, [node.task_id])))
    if node.kind == "branch":
        return tuple(down[node.task_id])
    return ()


_COUNTER = {TaskState.SUCCESS: 0, TaskState.SKIPPED: 1, TaskState.FAILED: 2}


def oracle(nodes: list[Node]) -> dict[str, TaskState]:
    """Final states, each decided with every upstream already finished."""
    down = _downstream([(n.task_id, n.upstream) for n in nodes])
    final: dict[str, TaskState] = {}
    skipped_by_skipper: set[str] = set()
    for node in nodes:
        if node.task_id in skipped_by_skipper:
            final[node.task_id] = TaskState.SKIPPED
            continue
        c = [0, 0, 0, 0]
        for up in node.upstream:
            state = final[up]
            c[3 if state is TaskState.UPSTREAM_FAILED else _COUNTER[state]] += 1
        decision = decide(node.rule, len(node.upstream), *c)
        if decision is RUN:
            final[node.task_id] = OWN_STATE[node.kind]
            if node.kind in ("branch", "short"):
                skipped_by_skipper.update(skips_of(node, down))
        else:
            final[node.task_id] = (
                TaskState.SKIPPED if decision is SKIP else TaskState.UPSTREAM_FAILED
            )
    return final


def run_state_machine(nodes: list[Node], rng: random.Random) -> dict[str, TaskState]:
    """Drive ``ActiveRun`` alone, finishing a randomly chosen running task each step."""
    down = _downstream([(n.task_id, n.upstream) for n in nodes])
    by_id = {n.task_id: n for n in nodes}
    specs = [
        TaskSpec(n.task_id, n.upstream, tuple(down[n.task_id]), n.rule, may_skip=may_skip(n, down))
        for n in nodes
    ]
    active = ActiveRun(specs)
    active.start()
    running: list[tuple[str, int]] = []
    while not active.finished:
        for key in active.take_ready():
            active.mark_running(key)
            running.append(key)
        assert running, "the run stalled"
        key = running.pop(rng.randrange(len(running)))
        node = by_id[key[0]]
        active.finish(key, OWN_STATE[node.kind], skips_of(node, down))
    return {n.task_id: active.task_state(n.task_id) for n in nodes}


def test_a_branch_skips_a_one_success_task_whose_other_upstream_already_succeeded() -> None:
    # a succeeds while the branch still runs: the one_success task must not start, and
    # is skipped when the branch does not choose it (Airflow skips all not yet running).
    specs = [
        TaskSpec("a", (), ("x",), TriggerRule.ALL_SUCCESS),
        TaskSpec("branch", (), ("x", "y"), TriggerRule.ALL_SUCCESS, may_skip=("x", "y")),
        TaskSpec("x", ("a", "branch"), (), TriggerRule.ONE_SUCCESS),
        TaskSpec("y", ("branch",), (), TriggerRule.ALWAYS),
    ]
    active = ActiveRun(specs)
    active.start()
    assert sorted(active.take_ready()) == [("a", -1), ("branch", -1)]  # y (always) is held
    active.finish(("a", -1), TaskState.SUCCESS)
    assert active.take_ready() == []
    assert active.states[("x", -1)] is TaskState.NONE
    active.finish(("branch", -1), TaskState.SUCCESS, skip=["x"])
    assert active.task_state("x") is TaskState.SKIPPED
    assert active.take_ready() == [("y", -1)]


def test_a_branch_that_ends_frees_what_it_did_not_skip() -> None:
    specs = [
        TaskSpec("branch", (), ("x",), TriggerRule.ALL_SUCCESS, may_skip=("x",)),
        TaskSpec("x", ("branch",), (), TriggerRule.ALL_SUCCESS),
    ]
    active = ActiveRun(specs)
    active.start()
    active.take_ready()
    active.finish(("branch", -1), TaskState.FAILED)
    assert active.task_state("x") is TaskState.UPSTREAM_FAILED
    assert active.finished


dags = st.randoms(use_true_random=False).map(random_dag)


@settings(max_examples=400, deadline=None)
@given(dags, st.lists(st.randoms(use_true_random=False), min_size=3, max_size=3))
def test_the_state_machine_gives_one_outcome_in_any_completion_order(
    nodes: list[Node], orders: list[random.Random]
) -> None:
    expected = oracle(nodes)
    for rng in orders:
        assert run_state_machine(nodes, rng) == expected, nodes


# --- real operators -------------------------------------------------------------------------

#: Builds a random DAG from its JSON description; written into the DAG files of the pool test.
BUILDER = """
import json, time
from partita import DAG, BranchPythonOperator, PythonOperator, ShortCircuitOperator, SkipTask


def _work(kind, delay):
    def run():
        time.sleep(delay)
        if kind == "fail":
            raise ValueError("fails on purpose")
        if kind == "skip":
            raise SkipTask("skips on purpose")
        return kind
    return run


def _chooser(chosen, delay):
    def choose():
        time.sleep(delay)
        return list(chosen)
    return choose


def _falsy(delay):
    def condition():
        time.sleep(delay)
        return False
    return condition


def build(dag_id, nodes, delays):
    with DAG(dag_id) as dag:
        tasks = {}
        for task_id, upstream, rule, kind, chosen in nodes:
            delay = delays.get(task_id, 0.0)
            if kind == "branch":
                op = BranchPythonOperator(
                    task_id=task_id, python_callable=_chooser(chosen, delay), trigger_rule=rule
                )
            elif kind == "short":
                op = ShortCircuitOperator(
                    task_id=task_id, python_callable=_falsy(delay), trigger_rule=rule
                )
            else:
                op = PythonOperator(
                    task_id=task_id, python_callable=_work(kind, delay), trigger_rule=rule
                )
            for up in upstream:
                tasks[up] >> op
            tasks[task_id] = op
    return dag
"""


def _described(nodes: list[Node]) -> list[list[Any]]:
    return [[n.task_id, list(n.upstream), n.rule.value, n.kind, list(n.chosen)] for n in nodes]


def _builder() -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(BUILDER, "<random dag builder>", "exec"), namespace)
    return namespace["build"]


@settings(max_examples=60, deadline=None)
@given(dags)
def test_dag_test_gives_the_oracle_s_states(nodes: list[Node]) -> None:
    dag = _builder()("random_in_process", _described(nodes), {})
    result = dag.test()
    assert result.task_states == oracle(nodes), nodes


@pytest.fixture(scope="module")
def pool_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Storage]]:
    folder = tmp_path_factory.mktemp("order_pool")
    store = open_storage_url(f"sqlite:///{folder / 'partita.db'}", folder / "storage")
    yield folder, store
    store.close()


_file_number = iter(range(10**6))


@pytest.mark.slow
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(dags, st.randoms(use_true_random=False))
def test_the_worker_pool_gives_one_outcome_whatever_the_timing(
    pool_store: tuple[Path, Storage], nodes: list[Node], rng: random.Random
) -> None:
    folder, storage = pool_store
    expected = oracle(nodes)
    fast_first = {n.task_id: rng.choice((0.0, 0.05, 0.2)) for n in nodes}
    slow_first = {t: 0.2 - d for t, d in fast_first.items()}
    path = folder / f"random_dag_{next(_file_number)}.py"
    body = f"""
NODES = json.loads({json.dumps(json.dumps(_described(nodes)))})
a = build("random_a", NODES, {fast_first!r})
b = build("random_b", NODES, {slow_first!r})
"""
    path.write_text(BUILDER + textwrap.dedent(body))
    loaded = load_file(path).dags
    with WorkerPool(3, storage=storage) as pool:
        for dag_id in ("random_a", "random_b"):
            result = RunDriver(loaded[dag_id], pool.executor(), storage).run()
            assert result.task_states == expected, (dag_id, nodes)


def test_skipping_a_task_the_operator_did_not_declare_fails_saying_how_to_declare_it() -> None:
    class Skipper(BaseOperator):
        def execute(self, context: Any) -> None:
            context["ti"].skip_downstream(["after"])

    class DeclaredSkipper(Skipper):
        def may_skip_task_ids(self) -> frozenset[str]:
            return frozenset({"after"})

    for cls, expected in ((Skipper, TaskState.FAILED), (DeclaredSkipper, TaskState.SUCCESS)):
        with DAG(f"custom_{cls.__name__}") as dag:
            cls(task_id="skipper") >> EmptyOperator(task_id="after")
        result = dag.test(verbose=False)
        assert result.task_states["skipper"] is expected
    assert result.task_states["after"] is TaskState.SKIPPED
