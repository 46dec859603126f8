"""``DagFileProcessor``: loads the code locations, re-loads changed files, writes the registry.

The design decision: the scheduler needs the DAG objects to run them, so it
loads each code location in its own process (with the loader's import time
limit) and re-loads a location only when a file of it changed (by mtime, or
a file appeared or went away). Each load is recorded in the DAG registry in
one transaction. A DAG the registry knows but no location of this scheduler
holds (queued by ``partita trigger PATH``) is loaded from its file on demand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from partita.definitions.dag import DAG
from partita.definitions.schedules import ScheduleDefinition
from partita.definitions.sensors import SensorDefinition
from partita.exceptions import DagLoadError
from partita.loader import dag_files, is_module_name, load_dags
from partita.registry_sync import code_location_of, record_load_result
from partita.scheduler.file_watch import FolderWatch
from partita.storage.base import DagRegistry

logger = logging.getLogger("partita.scheduler")

#: A location's state as seen on disk: (file, mtime_ns, size) of each of its files.
Snapshot = tuple[tuple[str, int, int], ...]


def snapshot(location: str) -> Snapshot:
    """What changing a location changes: its files with their mtimes and sizes."""
    path = Path(location)
    if path.is_dir():
        files = dag_files(path)
    elif path.is_file():
        files = [path]
    else:
        return ()
    found = []
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue
        found.append((str(file), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


class DagFileProcessor:
    """Keeps the DAGs of some code locations loaded and the registry up to date."""

    def __init__(
        self,
        locations: Sequence[str],
        registry: DagRegistry,
        *,
        import_timeout: float,
        default_timezone: str | None,
        paused_at_creation: bool,
    ) -> None:
        self.locations = [code_location_of(loc) for loc in locations]
        self.registry = registry
        self.import_timeout = import_timeout
        self.default_timezone = default_timezone
        self.paused_at_creation = paused_at_creation
        #: The loaded DAGs by id, of every location (and of files loaded on demand).
        self.dags: dict[str, DAG] = {}
        #: The Dagster-style schedules of every location, by name.
        self.schedules: dict[str, ScheduleDefinition] = {}
        #: The sensors of every location, by name.
        self.sensors: dict[str, SensorDefinition] = {}
        #: Import errors of the last load, by file.
        self.errors: dict[str, str] = {}
        self._seen: dict[str, Snapshot | None] = {}
        #: Change notices of the folder locations (a look at an unchanged folder is skipped).
        self._watches = {loc: FolderWatch(loc) for loc in self.locations if Path(loc).is_dir()}
        self._by_location: dict[str, set[str]] = {}
        self._schedules_by_location: dict[str, set[str]] = {}
        self._sensors_by_location: dict[str, set[str]] = {}

    def run_once(self, now: datetime) -> list[str]:
        """Load the locations that changed since the last call; return those loaded."""
        loaded = []
        for location in self.locations:
            watch = self._watches.get(location)
            if watch is not None and not watch.changed() and location in self._seen:
                continue
            seen = None if is_module_name(location) else snapshot(location)
            if location in self._seen and (seen is None or seen == self._seen[location]):
                continue
            self._seen[location] = seen
            self._load(location, now)
            loaded.append(location)
        return loaded

    def _load(self, location: str, now: datetime) -> None:
        started = time.monotonic()
        try:
            result = load_dags(
                location, import_timeout=self.import_timeout, default_timezone=self.default_timezone
            )
        except DagLoadError as exc:
            logger.warning("cannot load %s: %s", location, exc)
            return
        for dag_id in self._by_location.get(location, set()) - set(result.dags):
            self.dags.pop(dag_id, None)
        self._by_location[location] = set(result.dags)
        self.dags.update(result.dags)
        for name in self._schedules_by_location.get(location, set()):
            self.schedules.pop(name, None)
        found = {schedule.name: schedule for schedule in result.schedules}
        self._schedules_by_location[location] = set(found)
        self.schedules.update(found)
        for name in self._sensors_by_location.get(location, set()):
            self.sensors.pop(name, None)
        sensors = {sensor.name: sensor for sensor in result.sensors}
        self._sensors_by_location[location] = set(sensors)
        self.sensors.update(sensors)
        for source in [s for s in self.errors if s.startswith(location)]:
            del self.errors[source]
        self.errors.update(result.errors)
        for source, error in result.errors.items():
            logger.warning("DAG file %s failed to import: %s", source, error.splitlines()[0])
        record_load_result(
            self.registry,
            result,
            code_location=location,
            parsed_at=now,
            duration=time.monotonic() - started,
            paused_at_creation=self.paused_at_creation,
        )

    def close(self) -> None:
        """Let go of the folder watches."""
        for watch in self._watches.values():
            watch.close()

    def get_dag(self, dag_id: str) -> DAG | None:
        """The DAG ``dag_id``: loaded, or loaded now from the file the registry names."""
        dag = self.dags.get(dag_id)
        if dag is not None:
            return dag
        record = self.registry.get_dag(dag_id)
        if record is None or record.fileloc is None:
            return None
        try:
            result = load_dags(
                record.fileloc,
                import_timeout=self.import_timeout,
                default_timezone=self.default_timezone,
            )
        except DagLoadError:
            return None
        self.dags.update(result.dags)
        return result.dags.get(dag_id)


__all__ = ["DagFileProcessor", "snapshot"]
