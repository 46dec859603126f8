"""``AssetTriggerService``: queues a run of each asset-scheduled DAG whose condition is met.

A DAG with ``schedule=[Asset(...)]`` (or ``(a & b) | c``) keeps a cursor
``dag:<dag_id>``: the id of the last asset event it read and the events
still pending (read, not yet consumed by a run). Each pass reads the events
of the DAG's assets after that id, adds them to the pending ones, and when
the assets with pending events satisfy the condition queues one run
(``asset_triggered``) carrying all of them as ``triggering_asset_events``;
several events before the scheduler looks make one run, as in Airflow.
Events that arrive before the scheduler first sees a DAG, or while it is
paused, never trigger it. While the DAG has ``max_active_runs`` runs queued
or running, its events wait, and the next run takes them all.

The design decision: the run and the new cursor are written together by
``AutomationStore.advance`` (a compare-and-set on the cursor's version), so
a restart or a second scheduler never makes a second run of the same events.
A pass costs one query (the newest event id) unless an event arrived.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from partita.definitions.asset_events import (
    TRIGGERING_EVENTS_KEY,
    Asset,
    AssetCondition,
    AssetEvent,
)
from partita.definitions.asset_key import AssetKey
from partita.definitions.dag import DAG
from partita.definitions.states import RunState
from partita.engine.inlet_events import asset_event, record_aliases
from partita.exceptions import RunNotFoundError
from partita.storage.automation import CursorRecord
from partita.storage.base import Storage
from partita.storage.records import AssetMaterializationRecord, DagRunRecord

logger = logging.getLogger("partita.scheduler")

CURSOR_PREFIX = "dag:"
#: Events read per query; a DAG with more new events reads several pages in one pass.
EVENTS_PER_PAGE = 1000
#: Pending events kept per asset while a condition waits (the newest; older ones are dropped).
MAX_PENDING_PER_ASSET = 100


def asset_triggered_run_id(dag_id: str, now: datetime, first_event_id: int | None) -> str:
    """``asset_triggered__<time>__<6 hex digits of the DAG and its first event>``."""
    digest = hashlib.sha1(f"{dag_id}\0{first_event_id}".encode()).hexdigest()[:6]
    return f"asset_triggered__{now.isoformat()}__{digest}"


def asset_triggered_run(dag: DAG, events: Sequence[AssetEvent], now: datetime) -> DagRunRecord:
    """The queued run of ``dag`` that ``events`` trigger (they are its conf's events)."""
    times = [e.timestamp for e in events]
    return DagRunRecord(
        run_id=asset_triggered_run_id(dag.dag_id, now, events[0].id if events else None),
        dag_id=dag.dag_id,
        dag_version="",
        state=RunState.QUEUED,
        run_type="asset_triggered",
        logical_date=now,
        data_interval_start=min(times, default=now),
        data_interval_end=max(times, default=now),
        conf={TRIGGERING_EVENTS_KEY: [e.to_data() for e in events]},
        queued_at=now,
    )


def keep_newest(events: Sequence[AssetEvent], per_asset: int) -> list[AssetEvent]:
    """``events`` without the oldest of those assets with more than ``per_asset`` events."""
    counts: dict[AssetKey, int] = {}
    kept: list[AssetEvent] = []
    for event in reversed(events):
        key = event.asset.key
        counts[key] = counts.get(key, 0) + 1
        if counts[key] <= per_asset:
            kept.append(event)
    kept.reverse()
    return kept


class AssetTriggerService:
    """Turns asset events into runs of the DAGs scheduled on those assets."""

    def __init__(self, storage: Storage, dags: Callable[[], Mapping[str, DAG]]) -> None:
        self.storage = storage
        self.dags = dags
        #: DAG id -> the newest event id known to be read into its stored cursor.
        self._read_up_to: dict[str, int] = {}
        self._dag_of_run: dict[str, str | None] = {}

    def run_once(self, now: datetime) -> dict[str, str]:
        """Read new asset events; return the runs queued, by DAG id."""
        scheduled = [(d, d.asset_condition) for d in self.dags().values() if d.asset_condition]
        if not scheduled:
            return {}
        last = self.storage.automation.last_event_id()
        queued: dict[str, str] = {}
        for dag, condition in scheduled:
            if condition is None or self._read_up_to.get(dag.dag_id, -1) >= last:
                continue
            run_id = self._check(dag, condition, last, now)
            if run_id is not None:
                queued[dag.dag_id] = run_id
        return queued

    def _check(self, dag: DAG, condition: AssetCondition, last: int, now: datetime) -> str | None:
        automation = self.storage.automation
        name = CURSOR_PREFIX + dag.dag_id
        cursor = automation.get_cursor(name)
        if cursor is None:  # first seen: only the events from now on count
            if automation.advance(name, None, {"event_id": last, "pending": []}, [], now):
                self._read_up_to[dag.dag_id] = last
            return None
        assets = {a.key: a for a in condition.iter_assets()}
        aliases = {a.name for a in condition.iter_aliases()}
        event_id, pending = self._read(cursor, assets, aliases)
        record = self.storage.registry.get_dag(dag.dag_id)
        if record is not None and record.is_paused:
            pending = []  # as in Airflow: a paused DAG queues no events
        runs: list[DagRunRecord] = []
        capped = False
        if pending and condition.evaluate({k for e in pending for k in e.keys}):
            capped = self._at_max_active_runs(dag)
            if not capped:
                runs, pending = [asset_triggered_run(dag, pending, now)], []
        value = {
            "event_id": event_id,
            "pending": [e.to_data() for e in keep_newest(pending, MAX_PENDING_PER_ASSET)],
        }
        if value == cursor.value:  # nothing new (a DAG waiting at max_active_runs)
            self._read_up_to[dag.dag_id] = -1 if capped else last
            return None
        if not automation.advance(name, cursor.version, value, runs, now):
            self._read_up_to.pop(dag.dag_id, None)  # another scheduler moved it: read again
            return None
        # a DAG at max_active_runs keeps its events and is looked at again next pass
        self._read_up_to[dag.dag_id] = -1 if capped else max(event_id, last)
        for run in runs:
            logger.info(
                "DAG %s: %d asset event(s) queued run %s", dag.dag_id,
                len(run.conf[TRIGGERING_EVENTS_KEY]), run.run_id,
            )  # fmt: skip
        return runs[0].run_id if runs else None

    def _at_max_active_runs(self, dag: DAG) -> bool:
        """True when ``dag`` has ``max_active_runs`` runs queued or running."""
        active = [RunState.QUEUED, RunState.RUNNING]
        limit = dag.max_active_runs
        return len(self.storage.runs.list_runs(dag.dag_id, states=active, limit=limit)) >= limit

    def _read(
        self, cursor: CursorRecord, assets: Mapping[AssetKey, Asset], aliases: set[str]
    ) -> tuple[int, list[AssetEvent]]:
        """The id of the last event read and the pending events, the cursor's and the new ones.

        A condition naming aliases reads every new event (an alias may stand for
        any asset) and keeps those of its assets and those added through its aliases.
        """
        event_id = int(cursor.value.get("event_id", 0))
        pending = [AssetEvent.from_data(d) for d in cursor.value.get("pending", [])]
        while True:
            page = self.storage.automation.events_after(
                event_id, None if aliases else list(assets), limit=EVENTS_PER_PAGE
            )
            for record in page:
                through = record_aliases(record) & aliases
                if record.asset_key in assets or through:
                    pending.append(self._event(record, assets.get(record.asset_key), through))
            if page:
                event_id = page[-1].id or event_id
            if len(page) < EVENTS_PER_PAGE:
                return event_id, pending

    def _event(
        self, record: AssetMaterializationRecord, asset: Asset | None, through: set[str]
    ) -> AssetEvent:
        return asset_event(record, asset, through, self._source_dag(record.run_id))

    def _source_dag(self, run_id: str) -> str | None:
        if run_id not in self._dag_of_run:
            if len(self._dag_of_run) > 10_000:
                self._dag_of_run.clear()
            try:
                self._dag_of_run[run_id] = self.storage.runs.get_run(run_id).dag_id
            except RunNotFoundError:
                self._dag_of_run[run_id] = None
        return self._dag_of_run[run_id]


__all__ = [
    "AssetTriggerService",
    "asset_triggered_run",
    "asset_triggered_run_id",
    "keep_newest",
]
