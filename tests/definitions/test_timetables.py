"""Timetables: Airflow 3's run semantics per schedule type, and cron's DST rule by example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from partita.definitions.cron import CronError, CronSchedule, normalize_cron
from partita.definitions.timetables import (
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DagRunInfo,
    DeltaDataIntervalTimetable,
    DeltaTriggerTimetable,
    NullTimetable,
    OnceTimetable,
    TimeRestriction,
    Timetable,
    deserialize_timetable,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
DAY = timedelta(days=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


def fires(expression: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[str]:
    """Fire times as local wall time with offset, e.g. '31 03:00+0200'."""
    schedule = CronSchedule(expression, zone)
    return [t.astimezone(zone).strftime("%d %H:%M%z") for t in schedule.between(start, end)]


# --- cron's DST rule, by example ----------------------------------------------------------


def test_berlin_spring_forward_fires_a_missing_fixed_time_once_at_0300() -> None:
    window = local(BERLIN, 2024, 3, 30), local(BERLIN, 2024, 4, 2)
    assert fires("30 2 * * *", BERLIN, *window) == [
        "30 02:30+0100",
        "31 03:00+0200",
        "01 02:30+0200",
    ]
    # Two missing times of one gap still fire once.
    assert fires(
        "0,30 2 * * *", BERLIN, local(BERLIN, 2024, 3, 31), local(BERLIN, 2024, 3, 31, 5)
    ) == ["31 03:00+0200"]


def test_berlin_spring_forward_a_wildcard_hour_skips_the_missing_hour() -> None:
    window = local(BERLIN, 2024, 3, 31, 0), local(BERLIN, 2024, 3, 31, 5)
    assert fires("30 * * * *", BERLIN, *window) == [
        "31 00:30+0100", "31 01:30+0100", "31 03:30+0200", "31 04:30+0200",
    ]  # fmt: skip


def test_berlin_autumn_a_repeated_fixed_time_fires_once_at_its_first_occurrence() -> None:
    window = local(BERLIN, 2024, 10, 26), local(BERLIN, 2024, 10, 29)
    assert fires("30 2 * * *", BERLIN, *window) == [
        "26 02:30+0200",
        "27 02:30+0200",
        "28 02:30+0100",
    ]


def test_berlin_autumn_a_wildcard_or_step_hour_fires_on_both_0200s() -> None:
    window = local(BERLIN, 2024, 10, 27, 1), local(BERLIN, 2024, 10, 27, 4)
    assert fires("30 * * * *", BERLIN, *window) == [
        "27 01:30+0200", "27 02:30+0200", "27 02:30+0100", "27 03:30+0100",
    ]  # fmt: skip
    assert fires("0 */2 * * *", BERLIN, *window) == ["27 02:00+0200", "27 02:00+0100"]


def test_new_york_spring_and_autumn() -> None:
    spring = local(NEW_YORK, 2024, 3, 10), local(NEW_YORK, 2024, 3, 10, 6)
    assert fires("30 2 * * *", NEW_YORK, *spring) == ["10 03:00-0400"]
    assert fires("0 * * * *", NEW_YORK, *spring) == [
        "10 00:00-0500", "10 01:00-0500", "10 03:00-0400", "10 04:00-0400", "10 05:00-0400",
    ]  # fmt: skip
    autumn = local(NEW_YORK, 2024, 11, 3), local(NEW_YORK, 2024, 11, 3, 3)
    assert fires("30 1 * * *", NEW_YORK, *autumn) == ["03 01:30-0400"]
    assert fires("30 * * * *", NEW_YORK, *autumn) == [
        "03 00:30-0400", "03 01:30-0400", "03 01:30-0500", "03 02:30-0500",
    ]  # fmt: skip


def test_lord_howe_shifts_by_thirty_minutes() -> None:
    # Spring (2024-10-06): 02:00 +10:30 jumps to 02:30 +11:00; 02:00-02:29 do not exist.
    spring = local(LORD_HOWE, 2024, 10, 5), local(LORD_HOWE, 2024, 10, 8)
    assert fires("15 2 * * *", LORD_HOWE, *spring) == [
        "05 02:15+1030", "06 02:30+1100", "07 02:15+1100",
    ]  # fmt: skip
    assert fires("45 2 * * *", LORD_HOWE, *spring) == [
        "05 02:45+1030", "06 02:45+1100", "07 02:45+1100",
    ]  # fmt: skip
    # Autumn (2024-04-07): 02:00 +11:00 goes back to 01:30 +10:30; 01:30-01:59 occur twice.
    autumn = local(LORD_HOWE, 2024, 4, 7), local(LORD_HOWE, 2024, 4, 7, 4)
    assert fires("45 1 * * *", LORD_HOWE, *autumn) == ["07 01:45+1100"]
    assert fires("45 * * * *", LORD_HOWE, *autumn) == [
        "07 00:45+1100", "07 01:45+1100", "07 01:45+1030", "07 02:45+1030", "07 03:45+1030",
    ]  # fmt: skip
    # A 01:15 is not repeated (only 01:30-01:59 are): once, at +11:00.
    assert fires("15 * * * *", LORD_HOWE, *autumn) == [
        "07 00:15+1100", "07 01:15+1100", "07 02:15+1030", "07 03:15+1030",
    ]  # fmt: skip


def test_the_rule_differs_from_croniters_own_time_zone_handling() -> None:
    """croniter (7.x) fires a fixed 30 2 * * * twice on Berlin's autumn day; cron fires it once."""
    from croniter import croniter

    walker = croniter("30 2 * * *", local(BERLIN, 2024, 10, 27))
    theirs = [walker.get_next(datetime) for _ in range(2)]
    assert [t.astimezone(BERLIN).strftime("%d %H:%M%z") for t in theirs] == [
        "27 02:30+0200", "27 02:30+0100",
    ]  # fmt: skip
    window = local(BERLIN, 2024, 10, 27), local(BERLIN, 2024, 10, 28, 3)
    assert fires("30 2 * * *", BERLIN, *window) == ["27 02:30+0200", "28 02:30+0100"]


def test_asia_kolkata_has_no_dst_and_a_half_hour_offset() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    got = list(CronSchedule("0 9 * * *", kolkata).between(utc(2024, 3, 1), utc(2024, 3, 3)))
    assert got == [utc(2024, 3, 1, 3, 30), utc(2024, 3, 2, 3, 30)]


@pytest.mark.parametrize(
    ("expression", "normalized"),
    [(" 0 12 * * * ", "0 12 * * *"), ("@daily", "0 0 * * *"), ("@hourly", "0 * * * *"),
     ("@weekly", "0 0 * * 0"), ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *")],
)  # fmt: skip
def test_presets_and_surrounding_whitespace(expression: str, normalized: str) -> None:
    assert normalize_cron(expression) == normalized


@pytest.mark.parametrize(
    ("expression", "problem"),
    [("0 12 * * * *", "has 6 field"), ("61 * * * *", "out of range"), ("every day", "has 2"),
     ("0 0 30 2 *", "never fires"), ("@fortnightly", "has 1 field")],
)  # fmt: skip
def test_bad_cron_expressions_say_what_is_wrong(expression: str, problem: str) -> None:
    with pytest.raises(CronError, match=problem):
        normalize_cron(expression)


# --- Airflow 3 semantics --------------------------------------------------------------------


def _all_runs(
    timetable: Timetable, restriction: TimeRestriction, now: datetime
) -> list[DagRunInfo]:
    runs: list[DagRunInfo] = []
    info = timetable.next_dagrun_info(None, restriction, now=now)
    while info is not None and len(runs) < 1000:
        runs.append(info)
        info = timetable.next_dagrun_info(info, restriction, now=now)
    return runs


def test_seed_002_catchup_creates_366_runs_like_airflow() -> None:
    """'0 12 * * * ' from 2024-01-01 to end_date 2025-01-01: every noon of leap-year 2024."""
    timetable = CronTriggerTimetable("0 12 * * * ")
    restriction = TimeRestriction(utc(2024, 1, 1), utc(2025, 1, 1), catchup=True)
    runs = _all_runs(timetable, restriction, now=utc(2026, 1, 1))
    assert len(runs) == 366
    assert runs[0] == DagRunInfo.exact(utc(2024, 1, 1, 12))
    assert runs[-1] == DagRunInfo.exact(utc(2024, 12, 31, 12))
    assert timetable.runs_between(utc(2024, 1, 1), utc(2025, 1, 1)) == runs


def test_cron_trigger_end_date_is_inclusive() -> None:
    timetable = CronTriggerTimetable("@daily")
    restriction = TimeRestriction(utc(2024, 1, 1), utc(2024, 1, 3), catchup=True)
    runs = _all_runs(timetable, restriction, now=utc(2026, 1, 1))
    assert [r.logical_date for r in runs] == [utc(2024, 1, 1), utc(2024, 1, 2), utc(2024, 1, 3)]


def test_cron_trigger_without_catchup_starts_at_the_latest_fire_time_before_now() -> None:
    timetable = CronTriggerTimetable("0 12 * * *")
    restriction = TimeRestriction(utc(2024, 1, 1), None, catchup=False)
    now = utc(2024, 5, 5, 13)
    first = timetable.next_dagrun_info(None, restriction, now=now)
    assert first == DagRunInfo.exact(utc(2024, 5, 5, 12))
    assert timetable.next_dagrun_info(first, restriction, now=now) == DagRunInfo.exact(
        utc(2024, 5, 6, 12)
    )
    # A last run long ago: skip to the latest fire time, not the one after the last run.
    old = DagRunInfo.exact(utc(2024, 2, 1, 12))
    assert timetable.next_dagrun_info(old, restriction, now=now) == first
    # A start_date in the future wins.
    later = TimeRestriction(utc(2024, 6, 1, 6), None, catchup=False)
    assert timetable.next_dagrun_info(None, later, now=now) == DagRunInfo.exact(utc(2024, 6, 1, 12))


def test_cron_trigger_without_start_date_run_immediately() -> None:
    restriction = TimeRestriction(None, None, catchup=True)
    soon_after = utc(2024, 5, 5, 12, 3)  # 3 minutes after a fire, well within 5 minutes
    later = utc(2024, 5, 5, 18)
    waits = CronTriggerTimetable("0 12 * * *")
    assert waits.next_dagrun_info(None, restriction, now=soon_after).logical_date == utc(
        2024, 5, 5, 12
    )  # type: ignore[union-attr]
    assert waits.next_dagrun_info(None, restriction, now=later).logical_date == utc(2024, 5, 6, 12)  # type: ignore[union-attr]
    eager = CronTriggerTimetable("0 12 * * *", run_immediately=True)
    assert eager.next_dagrun_info(None, restriction, now=later).logical_date == utc(2024, 5, 5, 12)  # type: ignore[union-attr]
    within = CronTriggerTimetable("0 12 * * *", run_immediately=timedelta(hours=7))
    assert within.next_dagrun_info(None, restriction, now=later).logical_date == utc(2024, 5, 5, 12)  # type: ignore[union-attr]


def test_cron_trigger_interval_sets_the_data_interval_start() -> None:
    timetable = CronTriggerTimetable("@daily", interval=timedelta(hours=6))
    runs = timetable.runs_between(utc(2024, 1, 1), utc(2024, 1, 2))
    assert runs == [DagRunInfo(utc(2023, 12, 31, 18), utc(2023, 12, 31, 18), utc(2024, 1, 1))]
    assert timetable.infer_manual_data_interval(utc(2024, 1, 5, 3)) == (
        utc(2024, 1, 4, 21), utc(2024, 1, 5, 3),
    )  # fmt: skip


def test_cron_in_a_zone_fires_at_local_wall_time() -> None:
    timetable = CronTriggerTimetable("0 9 * * *", timezone="Asia/Seoul")
    runs = timetable.runs_between(utc(2024, 1, 1), utc(2024, 1, 3))
    assert [r.logical_date for r in runs] == [utc(2024, 1, 1, 0), utc(2024, 1, 2, 0)]
    # A naive window is read in the timetable's zone.
    assert timetable.runs_between(datetime(2024, 1, 1), datetime(2024, 1, 3)) == runs


def test_cron_data_interval_catchup_and_skip_to_latest() -> None:
    timetable = CronDataIntervalTimetable("@daily")
    runs = timetable.runs_between(utc(2024, 1, 1, 5), utc(2024, 1, 4))
    assert runs == [
        DagRunInfo.interval(utc(2024, 1, 2), utc(2024, 1, 3)),
        DagRunInfo.interval(utc(2024, 1, 3), utc(2024, 1, 4)),
    ]
    no_catchup = TimeRestriction(utc(2024, 1, 1), None, catchup=False)
    now = utc(2024, 5, 5, 13)
    assert timetable.next_dagrun_info(None, no_catchup, now=now) == DagRunInfo.interval(
        utc(2024, 5, 4), utc(2024, 5, 5)
    )
    on_boundary = utc(2024, 5, 5)
    assert timetable.next_dagrun_info(None, no_catchup, now=on_boundary) == DagRunInfo.interval(
        utc(2024, 5, 4), utc(2024, 5, 5)
    )
    # end_date bounds the interval start, inclusive.
    bounded = TimeRestriction(utc(2024, 1, 1), utc(2024, 1, 2), catchup=True)
    assert len(_all_runs(timetable, bounded, now=now)) == 2


def test_manual_data_intervals_follow_airflow_3() -> None:
    at = utc(2024, 1, 25, 1)
    assert CronTriggerTimetable("@daily").infer_manual_data_interval(at) == (at, at)
    assert DeltaTriggerTimetable(DAY).infer_manual_data_interval(at) == (at, at)
    # The last complete interval before the run: [24th, 25th] for a run at 1am on the 25th.
    assert CronDataIntervalTimetable("@daily").infer_manual_data_interval(at) == (
        utc(2024, 1, 24), utc(2024, 1, 25),
    )  # fmt: skip
    assert DeltaDataIntervalTimetable(DAY).infer_manual_data_interval(at) == (at - DAY, at)
    assert NullTimetable().infer_manual_data_interval(at) == (at, at)
    assert OnceTimetable().infer_manual_data_interval(at) == (at, at)


def test_delta_trigger_catchup_and_skip_to_now() -> None:
    timetable = DeltaTriggerTimetable(timedelta(hours=8))
    runs = timetable.runs_between(utc(2024, 1, 1, 1), utc(2024, 1, 2))
    assert [r.logical_date for r in runs] == [
        utc(2024, 1, 1, 1),
        utc(2024, 1, 1, 9),
        utc(2024, 1, 1, 17),
    ]
    no_catchup = TimeRestriction(utc(2024, 1, 1), None, catchup=False)
    now = utc(2024, 3, 3, 3, 3)
    assert timetable.next_dagrun_info(None, no_catchup, now=now) == DagRunInfo.exact(now)


def test_delta_data_interval_catchup_and_skip_to_latest() -> None:
    timetable = DeltaDataIntervalTimetable(timedelta(hours=6))
    assert timetable.runs_between(utc(2024, 1, 1, 1), utc(2024, 1, 1, 12)) == [
        DagRunInfo.interval(utc(2024, 1, 1, 1), utc(2024, 1, 1, 7)),
        DagRunInfo.interval(utc(2024, 1, 1, 7), utc(2024, 1, 1, 13)),
    ]
    no_catchup = TimeRestriction(utc(2024, 1, 1), None, catchup=False)
    now = utc(2024, 3, 3, 13, 30)  # rounded down to 12:00; the interval that ended then
    assert timetable.next_dagrun_info(None, no_catchup, now=now) == DagRunInfo.interval(
        utc(2024, 3, 3, 6), utc(2024, 3, 3, 12)
    )


def test_once_runs_once_at_the_start_date_and_none_never() -> None:
    restriction = TimeRestriction(utc(2024, 2, 2, 2), None, catchup=False)
    first = OnceTimetable().next_dagrun_info(None, restriction)
    assert first == DagRunInfo.exact(utc(2024, 2, 2, 2))
    assert OnceTimetable().next_dagrun_info(first, restriction) is None
    assert OnceTimetable().next_dagrun_info(None, TimeRestriction(None, None, True)) is None
    assert NullTimetable().next_dagrun_info(None, restriction) is None
    assert NullTimetable().runs_between(utc(2024, 1, 1), utc(2025, 1, 1)) == []


@pytest.mark.parametrize(
    "timetable",
    [
        CronTriggerTimetable("0 12 * * * ", timezone="Europe/Berlin"),
        CronTriggerTimetable("@daily", interval=timedelta(hours=1), run_immediately=timedelta(5)),
        CronTriggerTimetable("@hourly", timezone="+05:30", run_immediately=True),
        CronDataIntervalTimetable("30 2 * * 1-5", timezone="America/New_York"),
        DeltaTriggerTimetable(timedelta(minutes=90), interval=timedelta(minutes=90)),
        DeltaDataIntervalTimetable(timedelta(days=2)),
        OnceTimetable(),
        NullTimetable(),
    ],
)
def test_serialize_reads_back_the_same_timetable(timetable: Timetable) -> None:
    data = timetable.serialize()
    back = deserialize_timetable(data)
    assert back == timetable
    assert back.serialize() == data
    assert type(back) is type(timetable)


def test_deserializing_an_unknown_type_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown timetable type 'lunar'; known types: "):
        deserialize_timetable({"type": "lunar"})


def test_summaries_and_descriptions() -> None:
    assert CronTriggerTimetable(" 0 12 * * * ").summary == "0 12 * * *"
    assert CronTriggerTimetable("@daily", timezone="Asia/Kolkata").description == (
        "cron '0 0 * * *' in Asia/Kolkata"
    )
    assert DeltaTriggerTimetable(timedelta(hours=2)).summary == "2:00:00"
    assert OnceTimetable().summary == "@once"
    assert NullTimetable().summary == "None"


def test_a_delta_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive timedelta"):
        DeltaTriggerTimetable(timedelta(0))
