"""Staleness: by the data versions of upstream assets, transitively, and by code version."""

from __future__ import annotations

from typing import Any

from partita import AssetCheckResult, InMemoryIOManager, Output, asset, asset_check, materialize
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_key import AssetKey
from partita.engine.asset_lineage import UPSTREAM_VERSIONS_KEY
from partita.engine.asset_status import AssetStatus, asset_statuses
from partita.storage.memory import MemoryStorage

SOURCE_ROWS: list[int] = [1, 2, 3]


@asset
def source() -> list[int]:
    return list(SOURCE_ROWS)


@asset
def middle(source: list[int]) -> list[int]:
    return [v * 2 for v in source]


@asset
def report(middle: list[int]) -> int:
    return sum(middle)


ASSETS = [source, middle, report]


class Catalog:
    """A store and an IO manager shared by several materialize() calls, as a deployment has."""

    def __init__(self) -> None:
        self.storage = MemoryStorage()
        self.io_manager = InMemoryIOManager()

    def materialize(self, assets: list[Any], selection: Any = None) -> None:
        result = materialize(
            assets,
            storage=self.storage,
            resources={"io_manager": self.io_manager},
            selection=selection,
        )
        assert result.success

    def statuses(self, assets: list[Any]) -> dict[str, AssetStatus]:
        found = asset_statuses(AssetGraph(assets), self.storage.assets)
        return {s.key.to_user_string(): s for s in found}


def test_a_materialization_records_the_upstream_versions_it_consumed() -> None:
    catalog = Catalog()
    catalog.materialize(ASSETS)
    latest = catalog.storage.assets.latest_materializations()
    consumed = latest[AssetKey("middle")].metadata[UPSTREAM_VERSIONS_KEY]
    assert consumed == {"source": latest[AssetKey("source")].data_version}
    assert UPSTREAM_VERSIONS_KEY not in latest[AssetKey("source")].metadata


def test_rematerializing_an_upstream_with_the_same_data_leaves_downstream_fresh() -> None:
    catalog = Catalog()
    catalog.materialize(ASSETS)
    catalog.materialize(ASSETS, selection="source")
    statuses = catalog.statuses(ASSETS)
    assert [s.stale_reasons for s in statuses.values()] == [[], [], []]


def test_changed_upstream_data_makes_every_asset_downstream_stale() -> None:
    catalog = Catalog()
    catalog.materialize(ASSETS)
    SOURCE_ROWS.append(4)
    try:
        catalog.materialize(ASSETS, selection="source")
    finally:
        SOURCE_ROWS.pop()
    statuses = catalog.statuses(ASSETS)
    assert not statuses["source"].stale
    (reason,) = statuses["middle"].stale_reasons
    assert reason.startswith("upstream source changed (data version ")
    assert statuses["report"].stale_reasons == ["upstream middle is stale"]
    # re-materializing the middle one with the new data: report is stale by data now
    catalog.materialize(ASSETS, selection="middle")
    statuses = catalog.statuses(ASSETS)
    assert not statuses["middle"].stale
    assert statuses["report"].stale_reasons[0].startswith("upstream middle changed")
    catalog.materialize(ASSETS, selection="report")
    assert not any(s.stale for s in catalog.statuses(ASSETS).values())


def test_a_given_data_version_decides_and_a_code_version_change_propagates() -> None:
    version = {"v": "1", "code": "a"}

    def build() -> list[Any]:
        @asset(key="source", code_version=version["code"])
        def versioned() -> Output[list[int]]:
            return Output([1], data_version=version["v"])

        return [versioned, middle, report]

    catalog = Catalog()
    catalog.materialize(build())
    version["v"] = "1"
    catalog.materialize(build(), selection="source")
    assert not any(s.stale for s in catalog.statuses(build()).values())
    version["v"] = "2"
    catalog.materialize(build(), selection="source")
    statuses = catalog.statuses(build())
    assert statuses["middle"].stale_reasons == ["upstream source changed (data version 1 -> 2)"]
    catalog.materialize(build())
    version["code"] = "b"
    statuses = catalog.statuses(build())
    assert statuses["source"].stale_reasons == ["code version changed (a -> b)"]
    assert statuses["middle"].stale_reasons == ["upstream source is stale"]
    assert statuses["report"].stale_reasons == ["upstream middle is stale"]


def test_without_a_data_version_a_later_upstream_materialization_decides() -> None:
    class Unpicklable:
        def __reduce__(self) -> Any:
            raise TypeError("no")

    @asset(key="source")
    def opaque() -> Any:
        return Unpicklable()

    @asset
    def middle(source: Any) -> int:
        return 1

    catalog = Catalog()
    catalog.materialize([opaque, middle])
    assert not catalog.statuses([opaque, middle])["middle"].stale
    catalog.materialize([opaque, middle], selection="source")
    assert catalog.statuses([opaque, middle])["middle"].stale_reasons == [
        "upstream source was materialized after it"
    ]


def test_a_check_is_not_run_on_data_materialized_without_it() -> None:
    @asset_check(asset=source)
    def has_rows(source: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=bool(source))

    catalog = Catalog()
    assert [c.state for c in catalog.statuses([source, has_rows])["source"].checks] == ["not run"]
    catalog.materialize([source, has_rows])
    (check,) = catalog.statuses([source, has_rows])["source"].checks
    assert (check.state, check.current) == ("passed", True)
    catalog.materialize([source])  # a run that did not include the check
    (check,) = catalog.statuses([source, has_rows])["source"].checks
    assert (check.state, check.current) == ("not run", False)
    assert check.latest is not None and check.latest.passed
