"""``>>``, ``<<``, lists on either side, ``chain``, ``cross_downstream``, set_up/downstream."""

from __future__ import annotations

import pytest

from partita import DAG, EmptyOperator, chain, cross_downstream
from partita.exceptions import DefinitionError


def edges(dag: DAG) -> set[tuple[str, str]]:
    """Every edge of ``dag`` as (upstream, downstream), read from both sides."""
    down = {(t.task_id, d) for t in dag.tasks for d in t.downstream_task_ids}
    up = {(u, t.task_id) for t in dag.tasks for u in t.upstream_task_ids}
    assert down == up, "upstream and downstream records disagree"
    return down


def tasks(*names: str) -> list[EmptyOperator]:
    return [EmptyOperator(task_id=name) for name in names]


def test_rshift_links_and_returns_the_right_side_for_chaining() -> None:
    with DAG("rshift") as dag:
        a, b, c = tasks("a", "b", "c")
        returned = a >> b >> c
    assert returned is c
    assert edges(dag) == {("a", "b"), ("b", "c")}


def test_lshift_links_the_other_way() -> None:
    with DAG("lshift") as dag:
        a, b, c = tasks("a", "b", "c")
        returned = c << b << a
    assert returned is a
    assert edges(dag) == {("a", "b"), ("b", "c")}


def test_task_to_list_fans_out() -> None:
    with DAG("fan_out") as dag:
        a, b, c = tasks("a", "b", "c")
        returned = a >> [b, c]
    assert returned == [b, c]
    assert edges(dag) == {("a", "b"), ("a", "c")}


def test_list_to_task_fans_in() -> None:
    with DAG("fan_in") as dag:
        b, c, d = tasks("b", "c", "d")
        returned = [b, c] >> d
    assert returned is d
    assert edges(dag) == {("b", "d"), ("c", "d")}


def test_list_lshift_task_and_task_lshift_list() -> None:
    with DAG("lists_lshift") as dag:
        a, b, c, d = tasks("a", "b", "c", "d")
        [b, c] << a  # a runs before b and c
        d << [b, c]  # b and c run before d
    assert edges(dag) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")}


def test_set_upstream_and_set_downstream() -> None:
    with DAG("set_methods") as dag:
        a, b, c, d = tasks("a", "b", "c", "d")
        a.set_downstream(b)
        c.set_upstream(b)
        d.set_upstream([a, c])
    assert edges(dag) == {("a", "b"), ("b", "c"), ("a", "d"), ("c", "d")}
    assert [t.task_id for t in d.upstream_list] == ["a", "c"]
    assert [t.task_id for t in a.downstream_list] == ["b", "d"]


def test_linking_twice_records_one_edge() -> None:
    with DAG("twice") as dag:
        a, b = tasks("a", "b")
        a >> b
        a >> b
    assert list(b.upstream_task_ids) == ["a"]
    assert edges(dag) == {("a", "b")}


def test_chain_links_each_element_to_the_next() -> None:
    with DAG("chain_simple") as dag:
        a, b, c, d, e = tasks("a", "b", "c", "d", "e")
        chain(a, b, [c, d], e)
    assert edges(dag) == {("a", "b"), ("b", "c"), ("b", "d"), ("c", "e"), ("d", "e")}


def test_chain_links_adjacent_lists_of_equal_length_pairwise() -> None:
    with DAG("chain_pairwise") as dag:
        a, b1, b2, c1, c2, d = tasks("a", "b1", "b2", "c1", "c2", "d")
        chain(a, [b1, b2], [c1, c2], d)
    assert edges(dag) == {
        ("a", "b1"), ("a", "b2"),
        ("b1", "c1"), ("b2", "c2"),  # pairwise, not crossed
        ("c1", "d"), ("c2", "d"),
    }  # fmt: skip


def test_chain_rejects_adjacent_lists_of_different_lengths() -> None:
    with DAG("chain_mismatch") as dag:
        a, b, c, d, e = tasks("a", "b", "c", "d", "e")
        with pytest.raises(DefinitionError, match=r"same length, got 2 and 3.*cross_downstream"):
            chain([a, b], [c, d, e])
    assert edges(dag) == set()


def test_cross_downstream_links_every_pair() -> None:
    with DAG("cross") as dag:
        a, b, c, d, e = tasks("a", "b", "c", "d", "e")
        cross_downstream([a, b], [c, d, e])
    assert edges(dag) == {(u, d) for u in "ab" for d in "cde"}


def test_linking_to_something_that_is_not_a_task_is_a_clear_error() -> None:
    with DAG("not_a_task"):
        (a,) = tasks("a")
        with pytest.raises(DefinitionError, match=r"cannot set a dependency on 'b' \(str\)"):
            a >> "b"  # type: ignore[operator]


def test_tasks_linked_before_joining_a_dag_all_join_it() -> None:
    a = EmptyOperator(task_id="a")
    b = EmptyOperator(task_id="b")
    a >> b
    dag = DAG("late_join")
    dag.add_task(a)
    assert set(dag.task_ids) == {"a", "b"}
    assert edges(dag) == {("a", "b")}


def test_a_task_cannot_depend_on_itself() -> None:
    with DAG("self_loop"):
        (a,) = tasks("a")
        with pytest.raises(DefinitionError, match="cannot depend on itself"):
            a >> a
