"""``time_limit``: SIGALRM in the main thread, a watchdog in other threads."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from partita.engine.timeout import time_limit
from partita.exceptions import TaskTimeoutError


def test_no_limit_changes_nothing() -> None:
    before = signal.getsignal(signal.SIGALRM)
    with time_limit(None):
        time.sleep(0.01)
    assert signal.getsignal(signal.SIGALRM) is before


def test_the_main_thread_is_interrupted_even_while_sleeping() -> None:
    started = time.monotonic()
    with pytest.raises(TaskTimeoutError, match=r"execution_timeout of 0\.1s"), time_limit(0.1):
        time.sleep(5)
    assert time.monotonic() - started < 2


def test_the_previous_alarm_handler_and_timer_are_restored() -> None:
    fired: list[int] = []

    def outer(signum: int, frame: object) -> None:
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, outer)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with time_limit(1):
            pass
        assert signal.getsignal(signal.SIGALRM) is outer
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining <= 0.3  # the outer timer is running again
        time.sleep(0.5)
        assert fired == [signal.SIGALRM]  # and the outer handler got it
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if previous_timer[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, *previous_timer)


def test_a_worker_thread_is_stopped_by_the_watchdog() -> None:
    outcome: list[str] = []

    def busy() -> None:
        try:
            with time_limit(0.1):
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:  # Python code: interruptible
                    time.sleep(0.005)
            outcome.append("finished")
        except TaskTimeoutError:
            outcome.append("stopped")

    started = time.monotonic()
    worker = threading.Thread(target=busy)
    worker.start()
    worker.join(5)
    assert outcome == ["stopped"]
    assert time.monotonic() - started < 3


def test_a_worker_thread_within_its_limit_is_not_disturbed() -> None:
    outcome: list[str] = []

    def quick() -> None:
        with time_limit(1):
            time.sleep(0.01)
        time.sleep(0.05)  # after the block: no late exception
        outcome.append("finished")

    worker = threading.Thread(target=quick)
    worker.start()
    worker.join(5)
    assert outcome == ["finished"]
