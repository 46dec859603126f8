"""Airflow 3 style assets: identity, ``&`` / ``|`` conditions, ``schedule=[...]``, outlets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from partita import DAG, Asset, AssetAll, AssetAny, AssetEvent, AssetKey, task
from partita.definitions.asset_events import (
    AssetTriggeredTimetable,
    OutletEvents,
    TriggeringAssetEvents,
    condition_from_data,
)
from partita.definitions.timetable_base import deserialize_timetable
from partita.exceptions import DefinitionError

A, B, C = Asset("a"), Asset("b"), Asset("s3://bucket/c.csv")


def keys(*assets: Asset) -> set[AssetKey]:
    return {asset.key for asset in assets}


@pytest.mark.parametrize(
    ("updated", "expected"),
    [
        ((), False),
        ((A,), False),
        ((B,), False),
        ((A, B), True),
        ((C,), True),
        ((A, C), True),
        ((A, B, C), True),
    ],
)
def test_a_and_b_or_c(updated: tuple[Asset, ...], expected: bool) -> None:
    condition = (A & B) | C
    assert isinstance(condition, AssetAny)
    assert condition.evaluate(keys(*updated)) is expected


def test_all_any_nest_and_name_each_asset_once() -> None:
    condition = AssetAll(A, AssetAny(B, C), A)
    assert not condition.evaluate(keys(A))
    assert condition.evaluate(keys(A, C))
    assert list(condition.iter_assets()) == [A, B, C]
    assert condition_from_data(condition.serialize()) == condition


def test_assets_are_the_same_by_name_and_keyed_in_the_catalog_by_it() -> None:
    assert Asset("a") == Asset(name="a", uri="file:///elsewhere")
    assert Asset(uri="s3://x/y").name == "s3://x/y"
    assert C.key == AssetKey(["s3", "bucket", "c_csv"])
    assert Asset("schema/table").key == AssetKey(["schema", "table"])
    assert len({Asset("a"), Asset("a")}) == 1


def test_a_list_schedule_waits_for_all_and_round_trips_with_the_dag() -> None:
    dag = DAG("consumer", schedule=[A, B])
    assert dag.asset_condition == AssetAll(A, B)
    assert dag.timetable.summary == "Asset"
    assert dag.timetable.next_dagrun_info(None, dag.time_restriction) is None
    assert deserialize_timetable(dag.timetable.serialize()) == dag.timetable
    one = DAG("one", schedule=[A])
    assert one.asset_condition == A
    assert isinstance(one.timetable, AssetTriggeredTimetable)
    assert DAG("cron", schedule="@daily").asset_condition is None


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DAG("d", schedule=[]), r"a list schedule must hold Asset\(...\) values"),
        (lambda: DAG("d", schedule=[A, "b"]), r"a list schedule must hold Asset"),
        (lambda: Asset(), "Asset needs a name or a uri"),
        (lambda: Asset(""), "Asset name must be a non-empty string"),
        (lambda: AssetAll(A, "b"), r"AssetAll takes Asset\(...\) values"),
        (lambda: AssetAny(), "AssetAny needs at least one"),
    ],
)
def test_bad_assets_and_schedules_are_refused(make: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        make()


def test_outlets_must_be_assets() -> None:
    with DAG("d"), pytest.raises(DefinitionError, match=r"task 'x': outlets must be Asset"):

        @task(task_id="x", outlets=["s3://bucket/orders"])
        def x() -> None: ...

        x()


def test_a_task_with_outlets_records_an_event_per_asset_when_it_succeeds() -> None:
    with DAG("producer") as dag:

        @task(outlets=[A, C])
        def write(**context: Any) -> None:
            context["outlet_events"][C].extra["rows"] = 7

        @task(outlets=[B])
        def fail() -> None:
            raise ValueError("no")

        write() >> fail()
    result = dag.test()
    assert [(m.asset_key, m.metadata) for m in result.materializations] == [
        (A.key, {}),
        (C.key, {"rows": 7}),
    ]


def test_outlet_events_name_the_outlets_when_asked_for_another() -> None:
    events = OutletEvents((A,))
    with pytest.raises(KeyError, match=r"Asset\('b'\) is not an outlet of this task"):
        events[B]


def test_triggering_events_are_found_by_asset_name_or_key() -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    event = AssetEvent(C, at, {"n": 1}, "producer", "r1", "write", -1, id=3)
    assert AssetEvent.from_data(event.to_data()) == event
    found = TriggeringAssetEvents([event])
    assert found[C] == found["s3://bucket/c.csv"] == found[C.key] == [event]
    assert list(found) == [C] and A not in found and C in found


def test_each_mapped_instance_records_its_own_event() -> None:
    with DAG("mapped") as dag:

        @task(outlets=[A])
        def write(n: int) -> int:
            return n

        write.expand(n=[1, 2, 3])
    result = dag.test()
    assert [(m.asset_key, m.map_index) for m in result.materializations] == [
        (A.key, 0), (A.key, 1), (A.key, 2),
    ]  # fmt: skip
