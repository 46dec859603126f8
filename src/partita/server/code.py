"""The definitions the server reads from code: the sensors, schedules and assets of the
configured ``code_locations`` (partita.yaml), loaded once and again when a file changed.

The asset pages, the sensor and schedule pages and their API need what only
code knows: an asset's group, code version and partitions definition, a
sensor's interval. The server loads the code locations the scheduler loads,
in its own process (as the DAG detail imports a DAG's file), and keeps the
result until a ``.py`` file under a location changes (its size or mtime).

The design decision: with no code location configured, nothing is loaded and
every page shows what the metadata database holds (the catalog, the stored
sensor and schedule states); a location that fails to import is reported
(``errors``), never fatal to a page.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request

from partita.definitions.asset_graph import AssetGraph
from partita.definitions.definitions import Definitions
from partita.definitions.schedules import ScheduleDefinition
from partita.definitions.sensors import SensorDefinition
from partita.loader import load_dags
from partita.settings import Settings

#: Files walked at most per location to decide whether the code changed.
MAX_STAMPED_FILES = 5000


@dataclass(frozen=True)
class ServerCode:
    """What the code locations define (all empty when none is configured)."""

    sensors: dict[str, SensorDefinition] = field(default_factory=dict)
    schedules: dict[str, ScheduleDefinition] = field(default_factory=dict)
    asset_graph: AssetGraph | None = None
    #: Source -> the first line of its import error.
    errors: dict[str, str] = field(default_factory=dict)


def _stamp(locations: tuple[str, ...]) -> tuple[tuple[str, int, int], ...]:
    """The size and mtime of every ``.py`` file under ``locations`` (modules: none)."""
    found: list[tuple[str, int, int]] = []
    for location in locations:
        root = Path(location)
        if root.is_file():
            files = [root]
        elif root.is_dir():
            files = []
            for folder, _, names in os.walk(root):
                files.extend(Path(folder) / n for n in names if n.endswith(".py"))
                if len(files) > MAX_STAMPED_FILES:
                    break
        else:
            continue
        for path in sorted(files):
            try:
                info = path.stat()
            except OSError:
                continue
            found.append((str(path), info.st_size, info.st_mtime_ns))
    return tuple(found)


def load_server_code(settings: Settings) -> ServerCode:
    """Load every code location of ``settings`` now."""
    sensors: dict[str, SensorDefinition] = {}
    schedules: dict[str, ScheduleDefinition] = {}
    found: list[Definitions] = []
    errors: dict[str, str] = {}
    for location in settings.code_locations:
        result = load_dags(
            location,
            import_timeout=settings.import_timeout,
            default_timezone=settings.default_timezone,
        )
        sensors.update((s.name, s) for s in result.sensors)
        schedules.update((s.name, s) for s in result.schedules)
        found.extend(d for d in result.definitions.values() if d.assets)
        errors.update({s: (e.splitlines() or ["failed"])[0] for s, e in result.errors.items()})
    graph = None
    if found:
        merged = found[0] if len(found) == 1 else Definitions.merge(*found)
        graph = merged.asset_graph
    return ServerCode(sensors, schedules, graph, errors)


class CodeCache:
    """The loaded code of one app, loaded again when a file under a location changed."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._code = ServerCode()

    def get(self) -> ServerCode:
        """The definitions as the files are now."""
        if not self._settings.code_locations:
            return self._code
        stamp = _stamp(self._settings.code_locations)
        with self._lock:
            if stamp != self._stamp:
                self._code = load_server_code(self._settings)
                self._stamp = stamp
            return self._code


def server_code(request: Request) -> ServerCode:
    """The code of the app answering ``request`` (a FastAPI dependency)."""
    cache: CodeCache | None = getattr(request.app.state, "partita_code", None)
    if cache is None:
        cache = CodeCache(request.app.state.partita.config.settings)
        request.app.state.partita_code = cache
    return cache.get()


__all__ = ["CodeCache", "ServerCode", "load_server_code", "server_code"]
