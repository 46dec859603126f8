"""A web server world with assets, sensors, schedules and a backfill (``build_asset_world``):
the code location ``assets_code.py`` named by partita.yaml, three materializations of the
asset chain (``orders`` ends stale), partitions of ``daily_events`` (one failed), ticks
of the sensor ``new_files`` and a backfill of ``daily_report``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from msgspec.structs import replace
from server_helpers import ApiWorld, build_world

from partita import materialize
from partita.definitions.states import RunState
from partita.loader import load_dags
from partita.scheduler.backfill_plan import BackfillOptions, create_backfill
from partita.scheduler.backfills import BackfillRunner
from partita.storage.base import Storage
from partita.storage.dag_records import DagParse, ParsedDag
from partita.storage.instigators import InstigatorKind, TickRecord, TickStatus
from partita.storage.records import WriteBatch

CODE = Path(__file__).resolve().parent / "assets_code.py"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
FAILED_DAY = "2024-01-05"
#: The backfill run that fails (logical date 2024-01-02).
BACKFILL_FAILED = "backfill__2024-01-02"


def _with_env(name: str, value: str) -> dict[str, str | None]:
    before = {name: os.environ.get(name)}
    os.environ[name] = value
    return before


def _restore(before: dict[str, str | None]) -> None:
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def populate(storage: Storage, code_file: Path) -> str:
    """Materializations, partitions, ticks and a backfill; the backfill's id."""
    loaded = load_dags(str(code_file), import_timeout=60)
    [defs] = loaded.definitions.values()
    assets = {a.key.to_user_string(): a for a in defs.assets}  # type: ignore[attr-defined]
    chain = [assets["raw_orders"], assets["orders"]]
    for rows in (100, 120, 135):
        before = _with_env("PARTITA_TEST_ROWS", str(rows))
        try:
            materialize(chain, storage=storage)
        finally:
            _restore(before)
    materialize([assets["raw_orders"]], storage=storage)  # orders is now stale
    before = _with_env("PARTITA_TEST_FAIL", FAILED_DAY)
    try:
        for day in range(1, 11):
            key = f"2024-01-{day:02d}"
            result = materialize([assets["daily_events"]], storage=storage, partition_key=key)
            assert result.success is (key != FAILED_DAY)
    finally:
        _restore(before)
    parsed = [ParsedDag(d, str(code_file)) for d in ("daily_report", "by_region")]
    storage.registry.record_parse(DagParse(str(code_file), parsed, {}, T0))
    for region in ("eu", "us"):
        loaded.dags["by_region"].test(storage=storage, verbose=False, partition_key=region)
    sensor = InstigatorKind.SENSOR
    for i in range(30):
        status = (TickStatus.SKIPPED, TickStatus.REQUESTED, TickStatus.FAILED)[i % 3]
        storage.instigators.record_tick(
            TickRecord(
                sensor, "new_files", status, T0 + timedelta(minutes=i),
                run_ids=[f"run-{i}"] if status is TickStatus.REQUESTED else [],
                skip_reason="no new file" if status is TickStatus.SKIPPED else None,
                error="OSError: the folder is gone" if status is TickStatus.FAILED else None,
                duration=0.01,
            )
        )  # fmt: skip
    dag = loaded.dags["daily_report"]
    plan = create_backfill(
        storage, dag, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 10, tzinfo=UTC),
        BackfillOptions(max_active_runs=2), T0,
    )  # fmt: skip
    advance_backfill(storage, plan.backfill.backfill_id)
    return plan.backfill.backfill_id


def advance_backfill(storage: Storage, backfill_id: str) -> None:
    """Let a scheduler queue the backfill's runs three times, the queued runs ending between
    (the second one failed): 4 runs ended, 2 queued, 4 still to queue."""
    runner = BackfillRunner(storage)
    for step in range(3):
        now = T0 + timedelta(minutes=step)
        runner.run_once(now)
        if step == 2:
            break
        ended = []
        for run_id in storage.backfills.planned_run_ids(backfill_id, done=True):
            run = storage.runs.get_run(run_id)
            if not run.state.finished:
                state = RunState.FAILED if run_id.startswith(BACKFILL_FAILED) else RunState.SUCCESS
                ended.append(replace(run, state=state, start_date=now, end_date=now))
        storage.write(WriteBatch(runs=ended))


def build_asset_world(storage: Storage, home: Path) -> Iterator[tuple[ApiWorld, str]]:
    """The app on ``storage`` with ``assets_code.py`` as its code location, populated."""
    home.mkdir(parents=True)
    code_file = home / "code" / "assets_code.py"
    code_file.parent.mkdir()
    shutil.copy(CODE, code_file)
    (home / "partita.yaml").write_text(f"code_locations:\n  - {code_file}\n")
    backfill_id = populate(storage, code_file)
    for world in build_world(storage, home):
        yield world, backfill_id
