"""Constants and small helpers shared by the CLI tests (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from click.testing import Result

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "dags"
TEST_DAGS = Path(__file__).resolve().parent / "dags"
SETTINGS_VARIABLES = (
    "PARTITA_HOME",
    "PARTITA_DATABASE_URL",
    "PARTITA_STORAGE_DIR",
    "PARTITA_INLINE_OUTPUT_LIMIT",
    "PARTITA_DEFAULT_TIMEZONE",
    "PARTITA_DAGS_PAUSED_AT_CREATION",
    "PARTITA_DEBUG",
    "PARTITA_SECRET_KEY",
    "PARTITA_WORKER_HEARTBEAT_INTERVAL",
    "PARTITA_WORKER_HEARTBEAT_TIMEOUT",
    "PARTITA_MAX_LOST_ATTEMPTS",
    "PARTITA_MAX_CONCURRENT_RUNS",
    "PARTITA_SCHEDULER_CLOCK",
    "PARTITA_SENSORS_DEFAULT_STATUS",
    "PARTITA_SENSOR_EVALUATION_TIMEOUT",
    "PARTITA_SCHEDULER_POLL_INTERVAL",
    "PARTITA_EXECUTOR",
    "PARTITA_CELERY_BROKER_URL",
)

Invoke = Callable[..., Result]


def subprocess_env(home: Path) -> dict[str, str]:
    """The environment of a ``partita`` subprocess using ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env["PARTITA_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def partita_command(*args: str) -> Sequence[str]:
    """The command line of ``partita ARGS...`` as a subprocess of this interpreter."""
    return [sys.executable, "-m", "partita.cli.main", *args]


def only_line(text: str) -> str:
    """The single non-empty line of ``text`` (fails when there are more or none)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {lines!r}"
    return lines[0]


def run_id_of(output: str) -> str:
    """The run id printed by ``partita run`` on its first line: ``Run <id> of DAG ...``."""
    first = output.splitlines()[0]
    assert first.startswith("Run "), output
    return first.split()[1]


def table_rows(output: str) -> dict[str, list[str]]:
    """Rows of a Rich table printed without edges: first cell -> cells."""
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        if "│" in line:
            cells = [cell.strip() for cell in line.split("│")]
            rows[cells[0]] = cells
    return rows
