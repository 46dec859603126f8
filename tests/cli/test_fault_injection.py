"""A short run of ``bench/fault_injection.py``: runs killed at random moments stay consistent."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_helpers import REPO

pytestmark = pytest.mark.slow


def test_runs_killed_at_random_moments_end_recorded_and_lose_no_finished_task() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTITA_")}
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "fault_injection.py"), "--runs", "5", "--seed", "7"],
        env=env, capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "runs in a recorded final state: 5 of 5" in done.stdout
    assert "finished tasks lost: 0" in done.stdout
