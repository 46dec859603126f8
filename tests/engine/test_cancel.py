"""``TaskInterrupter``: a cancel interrupts the task running now, in the main thread or another."""

from __future__ import annotations

import threading
import time

import pytest

from partita.engine.cancel import RunCancelled, TaskInterrupter


def _interrupt_later(interrupter: TaskInterrupter, delay: float) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), interrupter.interrupt("stop")))
    thread.start()
    return thread


def test_an_interrupt_breaks_a_sleep_in_the_main_thread() -> None:
    interrupter = TaskInterrupter()
    started = time.monotonic()
    with interrupter.installed(), pytest.raises(RunCancelled, match="stop"), interrupter.armed():
        thread = _interrupt_later(interrupter, 0.1)
        time.sleep(10)
    thread.join()
    assert time.monotonic() - started < 5


def test_an_interrupt_stops_python_code_in_another_thread() -> None:
    caught: list[BaseException] = []

    def task() -> None:
        interrupter = TaskInterrupter()
        threading.Thread(target=lambda: (time.sleep(0.1), interrupter.interrupt("stop"))).start()
        try:
            with interrupter.armed():
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    pass
        except RunCancelled as exc:
            caught.append(exc)

    worker = threading.Thread(target=task)
    worker.start()
    worker.join(15)
    assert len(caught) == 1


def test_an_interrupt_between_tasks_raises_when_the_next_one_starts() -> None:
    interrupter = TaskInterrupter()
    with interrupter.installed():
        interrupter.interrupt("stop")  # no task runs: nothing is raised now
        assert interrupter.interrupted
        with pytest.raises(RunCancelled), interrupter.armed():
            pytest.fail("the task must not start")


def test_run_cancelled_passes_user_code_that_catches_exceptions() -> None:
    assert not issubclass(RunCancelled, Exception)
