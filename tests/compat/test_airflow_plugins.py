"""Airflow plugins in DAG files: custom timetables and priority weight strategies."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from partita import DAG, EmptyOperator, PriorityWeightStrategy
from partita.compat.airflow.plugins import AirflowPlugin
from partita.compat.airflow.timetable import AirflowTimetable, DataInterval
from partita.definitions.timetable_base import TimeRestriction, deserialize_timetable
from partita.engine.admission import effective_weights
from partita.exceptions import DefinitionError
from partita.loader import load_dags

PLUGIN = """\
from datetime import timedelta
from airflow.plugins_manager import AirflowPlugin
from airflow.task.priority_strategy import PriorityWeightStrategy
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable


class EveryOtherDay(Timetable):
    def __init__(self, step=2):
        self.step = step

    def infer_manual_data_interval(self, *, run_after):
        return DataInterval(start=run_after - timedelta(days=1), end=run_after)

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        if last_automated_data_interval is None:
            start = restriction.earliest
        else:
            start = last_automated_data_interval.start + timedelta(days=self.step)
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start=start, end=start + timedelta(days=1))

    def serialize(self):
        return {"step": self.step}

    @classmethod
    def deserialize(cls, data):
        return cls(data["step"])


class TryBased(PriorityWeightStrategy):
    def get_weight(self, ti):
        return 10 - ti.try_number + len(ti.task_id)


class MyPlugin(AirflowPlugin):
    name = "my_plugin"
    timetables = [EveryOtherDay]
    priority_weight_strategies = [TryBased]
"""

DAG_FILE = """\
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow_plugins_mod import EveryOtherDay, TryBased

with DAG("custom", start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
         schedule=EveryOtherDay(3)) as dag:
    EmptyOperator(task_id="a", weight_rule=TryBased()) >> EmptyOperator(
        task_id="bb", weight_rule="airflow_plugins_mod.TryBased")
    EmptyOperator(task_id="c", priority_weight=5, weight_rule="absolute")
"""


@pytest.fixture
def custom_dag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DAG:
    (tmp_path / "airflow_plugins_mod.py").write_text(PLUGIN)
    (tmp_path / "custom_dag.py").write_text(DAG_FILE)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = load_dags(str(tmp_path / "custom_dag.py"))
    assert not result.errors, result.errors
    return result.dags["custom"]


def test_an_airflow_timetable_schedules_partita_runs(custom_dag: DAG) -> None:
    timetable = custom_dag.timetable
    assert isinstance(timetable, AirflowTimetable)
    runs = timetable.runs_between(
        datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 10, tzinfo=UTC)
    )
    assert [r.logical_date.day for r in runs] == [1, 4, 7]
    assert type(runs[0].logical_date) is datetime and runs[0].data_interval_end.day == 2
    start, end = timetable.infer_manual_data_interval(datetime(2025, 3, 5, tzinfo=UTC))
    assert (start.day, end.day) == (4, 5)
    again = deserialize_timetable(timetable.serialize())
    assert type(again) is type(timetable) and again.step == 3  # type: ignore[attr-defined]
    assert timetable.summary == "EveryOtherDay"


def test_a_priority_weight_strategy_gives_the_whole_weight(custom_dag: DAG) -> None:
    weights = effective_weights(custom_dag)
    assert weights == {"a": 11, "bb": 12, "c": 5}
    assert isinstance(custom_dag.task_dict["bb"].weight_rule, PriorityWeightStrategy)


def test_the_timetable_sees_airflow_shapes() -> None:
    seen: list[Any] = []

    class Spy(AirflowTimetable):
        def next_dagrun_info(self, *, last_automated_data_interval: Any, restriction: Any) -> Any:
            seen.append((last_automated_data_interval, restriction))
            return None

    restriction = TimeRestriction(datetime(2025, 1, 1, tzinfo=UTC), None, False)
    assert Spy().next_dagrun_info(None, restriction) is None
    assert seen[0][0] is None and seen[0][1].earliest.add(days=1).day == 2  # pendulum's
    with pytest.raises(NotImplementedError, match="must implement infer_manual_data_interval"):
        Spy().infer_manual_data_interval(datetime(2025, 1, 1, tzinfo=UTC))
    assert DataInterval.exact(datetime(2025, 1, 1, tzinfo=UTC)).start.year == 2025


def test_plugins_refuse_what_partita_would_ignore() -> None:
    with pytest.raises(TypeError, match="macros is not supported by partita"):

        class Macros(AirflowPlugin):
            name = "m"
            macros = [len]

    with pytest.raises(TypeError, match="timetables must list AirflowTimetable subclasses"):

        class Wrong(AirflowPlugin):
            name = "w"
            timetables = [int]


@pytest.mark.parametrize("rule", ["sideways", "no_such_module.Strategy", 3])
def test_an_unknown_weight_rule_is_refused(rule: Any) -> None:
    with DAG("d"), pytest.raises(DefinitionError, match="unknown weight_rule"):
        EmptyOperator(task_id="t", weight_rule=rule)
