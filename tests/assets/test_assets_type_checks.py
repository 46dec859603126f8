"""Type checks at the task boundary: classes, generics by origin, unions, pydantic, PartitaType."""

from __future__ import annotations

from typing import Annotated, Any, Optional, TypeVar

import pytest
from pydantic import BaseModel

from partita import DAG, PartitaType, PythonOperator, TaskState, task
from partita.definitions.types import build_checks, checker_for
from partita.operators.python import CallSpec


class Point(BaseModel):
    x: int
    y: int


Even = PartitaType("Even", lambda value: value % 2 == 0)


def _passes(annotation: Any, value: Any) -> bool:
    check = checker_for(annotation)
    assert check is not None, annotation
    return check(value)[0]


@pytest.mark.parametrize(
    ("annotation", "good", "bad"),
    [
        (int, 3, "3"),
        (str, "s", b"s"),
        (float, 1, "1.0"),  # an int is a float (PEP 484)
        (list[int], [1, "two"], (1,)),  # only the origin is checked
        (dict[str, int], {}, []),
        (int | None, None, 1.5),
        (Optional[str], "x", 3),  # noqa: UP045 - the old spelling is supported too
        (Annotated[int, Even], 4, 3),
        (Even, 2, 5),
        (type(None), None, 0),
    ],
)
def test_checkers(annotation: Any, good: Any, bad: Any) -> None:
    assert _passes(annotation, good)
    assert not _passes(annotation, bad)


def test_what_is_not_checked() -> None:
    T = TypeVar("T")
    for annotation in (Any, object, T, "NoSuchName"):
        assert checker_for(annotation) is None
    assert checker_for(int | Point) is None  # a union with a model: left alone


def test_pydantic_models_are_validated_and_converted() -> None:
    check = checker_for(Point)
    assert check is not None
    ok, value = check({"x": 1, "y": 2})
    assert ok and value == Point(x=1, y=2)
    assert not check({"x": "one"})[0]


def test_a_partita_type_whose_check_raises_fails_and_two_argument_checks_work() -> None:
    assert not PartitaType("Broken", lambda v: v.nope).check(1)
    assert PartitaType("WithContext", lambda _context, v: v > 0).check(1)
    with pytest.raises(TypeError, match="type_check_fn must be a callable"):
        PartitaType("NoFn")


def test_unannotated_functions_get_no_checks() -> None:
    def plain(a, b):  # type: ignore[no-untyped-def]
        return a

    spec = CallSpec.of(plain)
    assert spec.input_checks == () and spec.output_check is None
    assert build_checks({}, ["a"]) == ((), None)


def test_failed_input_and_output_checks_fail_the_task_naming_both_types() -> None:
    @task
    def to_point(value: dict[str, int]) -> Point:
        return Point(**value)

    @task
    def norm(point: Point) -> int:
        return abs(point.x) + abs(point.y)

    @task
    def wrong() -> int:
        return "seven"  # type: ignore[return-value]

    with DAG("typed") as d:
        norm(to_point({"x": 3, "y": -4}))
        norm.override(task_id="from_dict")({"x": 1, "y": 1})
        norm.override(task_id="bad_input")("not a point")
        wrong()
    result = d.test()
    assert result.output("norm") == 7
    assert result.output("from_dict") == 2  # a dict validates into the model
    assert result.task_states["bad_input"] is TaskState.FAILED
    assert "task 'bad_input': input 'point' expected type Point, got 'not a point' (str)" in (
        result.error("bad_input") or ""
    )
    assert "TypeCheckError: task 'wrong': output expected type int, got 'seven' (str)" in (
        result.error("wrong") or ""
    )


def test_classic_python_operators_are_not_type_checked() -> None:
    def typed(x: int) -> int:
        return x

    with DAG("classic") as d:
        PythonOperator(task_id="t", python_callable=typed, op_kwargs={"x": "not an int"})
    assert d.test().output("t") == "not an int"


def test_positional_arguments_are_checked_by_position() -> None:
    @task
    def pair(a: int, b: str) -> str:
        return f"{a}{b}"

    with DAG("positional") as d:
        pair(1, "x")
        pair.override(task_id="swapped")("x", 1)
    result = d.test()
    assert result.output("pair") == "1x"
    assert "input 'a' expected type int, got 'x' (str)" in (result.error("swapped") or "")
