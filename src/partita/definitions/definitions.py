"""``Definitions``: everything one code location exposes, in one object.

A module (or file) that defines ``defs = Definitions(assets=[...],
dags=[...], resources={...})`` is a code location: ``partita dags list``,
``partita run`` and ``partita assets ...`` read what it holds. Asset jobs
(``define_asset_job``) are resolved here against its assets, so
``defs.get_dag(name)`` returns any DAG it holds, asset jobs included.

The design decision: resources given here are bound to every DAG of the code
location when the ``Definitions`` is built (a DAG's own resources win), so a
DAG run by ``partita run`` or ``dag.test()`` gets them without knowing where
it came from. ``schedules`` are checked here: each is a ``ScheduleDefinition``
with a name of its own whose job is one of the location's DAGs (a job given
as an object and not listed in ``dags``/``jobs`` is added, as Dagster does;
one given by name must be there). ``sensors`` are checked the same way
(``SensorDefinition`` objects with names of their own; their jobs added).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from partita.definitions.asset import AssetsDefinition
from partita.definitions.asset_backfill_job import build_partitioned_asset_jobs
from partita.definitions.asset_check import AssetChecksDefinition
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_job import UnresolvedAssetJob, build_asset_dag
from partita.definitions.asset_key import AssetKey
from partita.definitions.automation_job import build_automation_dag
from partita.definitions.dag import DAG, DagFactory, caller_file
from partita.definitions.ids import is_reserved, reserved_ids_allowed
from partita.definitions.schedules import ScheduleDefinition
from partita.definitions.sensors import SensorDefinition
from partita.exceptions import DagNotFoundError, DefinitionError

#: The id of the ephemeral DAG ``partita assets materialize`` and ``materialize`` build.
MATERIALIZE_DAG_ID = "__materialize__"


class Definitions:
    """The assets, DAGs (jobs), schedules, sensors and resources of one code location."""

    def __init__(
        self,
        assets: Iterable[AssetsDefinition | AssetChecksDefinition] | None = None,
        asset_checks: Iterable[AssetChecksDefinition] | None = None,
        dags: Iterable[Any] | None = None,
        jobs: Iterable[Any] | None = None,
        schedules: Iterable[Any] | None = None,
        sensors: Iterable[Any] | None = None,
        resources: Mapping[str, Any] | None = None,
        fileloc: str | None = None,
    ) -> None:
        #: The file that defines this code location (where asset errors point to).
        self.fileloc = fileloc or caller_file()
        given = [*(assets or []), *(asset_checks or [])]
        self.assets: list[AssetsDefinition] = [
            a for a in given if not isinstance(a, AssetChecksDefinition)
        ]
        #: The asset checks (given in ``asset_checks=``, or among ``assets=``).
        self.asset_checks: list[AssetChecksDefinition] = [
            a for a in given if isinstance(a, AssetChecksDefinition)
        ]
        self.resources: dict[str, Any] = dict(resources or {})
        self.schedules: list[ScheduleDefinition] = list(schedules or [])
        self.sensors: list[SensorDefinition] = list(sensors or [])
        self.asset_graph = AssetGraph([*self.assets, *self.asset_checks])
        self._jobs: list[Any] = [*(dags or []), *(jobs or [])]
        self._dags: dict[str, DAG] = {}
        for item in self._jobs:
            self._add(self._as_dag(item))
        # Partitioned assets are automated per partition, through the partitioned-asset jobs.
        automated = [
            a for a in self.assets
            if a.automation_condition is not None and a.partitions_def is None
        ]  # fmt: skip
        graph, fileloc = self.asset_graph, self.fileloc
        if automated:
            self._add(build_automation_dag(graph, automated, self.resources, fileloc))
        for job in build_partitioned_asset_jobs(graph, self.assets, self.resources, fileloc):
            self._add(job)
        self._check_schedules()
        self._check_sensors()

    def _check_sensors(self) -> None:
        names: set[str] = set()
        for item in self.sensors:
            if not isinstance(item, SensorDefinition):
                raise DefinitionError(
                    f"Definitions: sensors must be @sensor (or @run_status_sensor, "
                    f"@asset_sensor) objects, got {item!r}"
                )
            if item.name in names:
                raise DefinitionError(
                    f"Definitions: two sensors are called {item.name!r}; give each its own name"
                )
            names.add(item.name)
            if item.job is None or item.job_name in self._dags:
                continue
            if isinstance(item.job, str):
                known = ", ".join(sorted(self._dags)) or "none"
                raise DefinitionError(
                    f"Definitions: sensor {item.name!r} runs job {item.job_name!r}, which is "
                    f"not in this Definitions (it has: {known}); add the job to dags=/jobs="
                )
            self._add(self._as_dag(item.job))

    def get_sensor(self, name: str) -> SensorDefinition:
        """The sensor called ``name``."""
        for item in self.sensors:
            if item.name == name:
                return item
        known = ", ".join(sorted(s.name for s in self.sensors)) or "none"
        raise DefinitionError(f"Definitions has no sensor {name!r}; it has: {known}")

    def _check_schedules(self) -> None:
        names: set[str] = set()
        for item in self.schedules:
            if not isinstance(item, ScheduleDefinition):
                raise DefinitionError(
                    f"Definitions: schedules must be ScheduleDefinition or @schedule objects, "
                    f"got {item!r}"
                )
            if item.name in names:
                raise DefinitionError(
                    f"Definitions: two schedules are called {item.name!r}; give each its own name"
                )
            names.add(item.name)
            if item.job_name in self._dags:
                continue
            if isinstance(item.job, str):
                known = ", ".join(sorted(self._dags)) or "none"
                raise DefinitionError(
                    f"Definitions: schedule {item.name!r} runs job {item.job_name!r}, which is "
                    f"not in this Definitions (it has: {known}); add the job to dags=/jobs="
                )
            self._add(self._as_dag(item.job))

    def get_schedule(self, name: str) -> ScheduleDefinition:
        """The schedule called ``name``."""
        for item in self.schedules:
            if item.name == name:
                return item
        known = ", ".join(sorted(s.name for s in self.schedules)) or "none"
        raise DefinitionError(f"Definitions has no schedule {name!r}; it has: {known}")

    def _as_dag(self, item: Any) -> DAG:
        if isinstance(item, UnresolvedAssetJob):
            return item.resolve(self.asset_graph, self.resources, fileloc=self.fileloc)
        if isinstance(item, DagFactory):
            item = item()
        if isinstance(item, DAG):
            item.resources = {**self.resources, **item.resources}
            return item
        raise DefinitionError(
            f"Definitions: dags/jobs must be DAGs, @dag functions or define_asset_job(...) "
            f"jobs, got {item!r}"
        )

    def _add(self, dag: DAG) -> None:
        if dag.dag_id in self._dags:
            raise DefinitionError(
                f"Definitions: two DAGs are called {dag.dag_id!r}; give each its own id"
            )
        self._dags[dag.dag_id] = dag

    @property
    def dags(self) -> list[DAG]:
        """Every DAG of the code location, asset jobs included."""
        return list(self._dags.values())

    def get_dag(self, name: str) -> DAG:
        """The DAG (or asset job) called ``name``."""
        try:
            return self._dags[name]
        except KeyError:
            known = ", ".join(sorted(self._dags)) or "none"
            raise DagNotFoundError(
                f"Definitions has no DAG or job {name!r}; it has: {known}"
            ) from None

    #: Dagster's name.
    get_job_def = get_dag

    def materialize_dag(self, selection: Any = None) -> DAG:
        """An ephemeral DAG materializing ``selection`` of this location's assets (all if None)."""
        if not self.assets:
            raise DefinitionError("Definitions has no assets to materialize")
        with reserved_ids_allowed():
            dag = build_asset_dag(
                MATERIALIZE_DAG_ID, self.asset_graph, selection, resources=self.resources,
                fileloc=self.fileloc,
            )  # fmt: skip
        dag.label = materialize_label(dag.asset_tasks)
        return dag

    @staticmethod
    def merge(*definitions: Definitions) -> Definitions:
        """One ``Definitions`` holding everything of several (keys and DAG ids must not clash)."""
        resources: dict[str, Any] = {}
        for d in definitions:
            for key, value in d.resources.items():
                if key in resources and resources[key] is not value:
                    raise DefinitionError(
                        f"two code locations define resource {key!r} differently; rename one"
                    )
                resources[key] = value
        merged = Definitions(
            assets=[a for d in definitions for a in d.assets],
            asset_checks=[c for d in definitions for c in d.asset_checks],
            resources=resources,
            fileloc=definitions[0].fileloc if definitions else None,
        )
        for d in definitions:
            for dag in d.dags:
                if not is_reserved(dag.dag_id):  # the merged one has its own
                    merged._add(dag)
        merged.schedules = [s for d in definitions for s in d.schedules]
        merged._check_schedules()
        merged.sensors = [s for d in definitions for s in d.sensors]
        merged._check_sensors()
        return merged

    def __repr__(self) -> str:
        return (
            f"<Definitions: {len(self.assets)} asset definitions, {len(self._dags)} DAGs, "
            f"{len(self.schedules)} schedules, {len(self.sensors)} sensors, "
            f"{len(self.resources)} resources>"
        )


def materialize_label(asset_tasks: Mapping[AssetKey, str]) -> str:
    """How errors name a materializing run: ``materialize([a, b])``, with its assets."""
    names = [key.to_user_string() for key in asset_tasks]
    shown = ", ".join(names[:10]) + (f", ... ({len(names)} assets)" if len(names) > 10 else "")
    return f"materialize([{shown}])"


__all__ = ["MATERIALIZE_DAG_ID", "Definitions", "materialize_label"]
