"""``ActiveRun`` and sensors in reschedule mode: ``up_for_reschedule`` and back.

A rescheduled instance is unfinished, holds no ``max_active`` slot while it
waits, and blocks its downstream tasks until it finally ends.
"""

from __future__ import annotations

import pytest

from partita.definitions.states import RunState, TaskState, TriggerRule
from partita.engine.active_run import ActiveRun, InvalidTransition, TaskSpec, aggregate_state

S = TaskState
SENSOR, AFTER = ("sensor", -1), ("after", -1)


def sensor_then_after(max_active: int | None = None) -> ActiveRun:
    return ActiveRun(
        [
            TaskSpec("sensor", (), ("after",), TriggerRule.ALL_SUCCESS, max_active=max_active),
            TaskSpec("after", ("sensor",), (), TriggerRule.ALL_SUCCESS),
        ]
    )


def start_sensor(run: ActiveRun) -> None:
    run.start()
    assert run.take_ready() == [SENSOR]
    run.mark_running(SENSOR)


def test_a_rescheduled_instance_waits_unfinished_then_runs_again() -> None:
    run = sensor_then_after()
    start_sensor(run)
    run.mark_up_for_reschedule(SENSOR)
    assert run.states[SENSOR] is S.UP_FOR_RESCHEDULE
    assert not run.finished and not run.has_ready
    assert run.states[AFTER] is S.NONE and run.run_state() is RunState.RUNNING
    run.retry_now(SENSOR)
    assert run.take_ready() == [SENSOR]
    run.mark_running(SENSOR)
    assert run.finish(SENSOR, S.SUCCESS) == [(AFTER, S.SCHEDULED)]


def test_a_rescheduled_instance_gives_its_max_active_slot_back() -> None:
    run = sensor_then_after(max_active=1)
    start_sensor(run)
    run.mark_up_for_reschedule(SENSOR)
    assert run._running["sensor"] == 0
    run.retry_now(SENSOR)
    assert run.take_ready() == [SENSOR]  # not held back by its own earlier poke


def test_a_resumed_run_can_put_a_queued_instance_back_to_wait() -> None:
    run = sensor_then_after()
    run.start()
    run.take_ready()  # queued: the resumed driver found it waiting for its reschedule
    run.mark_up_for_reschedule(SENSOR)
    assert run.states[SENSOR] is S.UP_FOR_RESCHEDULE


def test_a_rescheduled_sensor_that_times_out_fails_its_downstream() -> None:
    run = sensor_then_after()
    start_sensor(run)
    run.mark_up_for_reschedule(SENSOR)
    run.retry_now(SENSOR)
    run.take_ready()
    run.mark_running(SENSOR)
    assert run.finish(SENSOR, S.FAILED) == [(AFTER, S.UPSTREAM_FAILED)]
    assert run.run_state() is RunState.FAILED


def test_impossible_reschedule_transitions_are_refused() -> None:
    run = sensor_then_after()
    run.start()
    with pytest.raises(InvalidTransition, match="not running or queued"):
        run.mark_up_for_reschedule(AFTER)  # never started
    with pytest.raises(InvalidTransition, match="not up_for_retry/reschedule"):
        run.retry_now(SENSOR)  # scheduled, not waiting
    run.take_ready()
    run.mark_running(SENSOR)
    run.finish(SENSOR, S.SUCCESS)
    with pytest.raises(InvalidTransition):
        run.mark_up_for_reschedule(SENSOR)  # already finished


def test_a_mapped_task_waiting_for_a_reschedule_shows_as_such() -> None:
    assert aggregate_state([S.SUCCESS, S.UP_FOR_RESCHEDULE]) is S.UP_FOR_RESCHEDULE
    assert aggregate_state([S.RUNNING, S.UP_FOR_RESCHEDULE]) is S.RUNNING
    assert not S.UP_FOR_RESCHEDULE.finished
