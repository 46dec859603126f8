"""The catalog the asset API and pages read (``server.asset_views``) without any code: the
edges and staleness from what each materialization recorded, the catalog cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from partita.definitions.asset_key import AssetKey
from partita.engine.asset_lineage import UPSTREAM_VERSIONS_KEY
from partita.server.asset_views import CatalogCache, asset_rows, metadata_series
from partita.server.code import ServerCode
from partita.storage.memory import MemoryStorage
from partita.storage.records import AssetMaterializationRecord, WriteBatch

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def record(name: str, version: str, upstream: dict[str, str], n: int) -> AssetMaterializationRecord:
    metadata = {UPSTREAM_VERSIONS_KEY: upstream, "rows": n}
    return AssetMaterializationRecord(
        AssetKey(name), f"r{n}", name, T0 + timedelta(minutes=n), metadata, data_version=version
    )


def test_staleness_comes_from_recorded_upstream_versions_and_spreads_down() -> None:
    storage = MemoryStorage()
    storage.write(WriteBatch(materializations=[
        record("c", "c1", {"b": "b1"}, 1),  # written first: the walk must not rely on order
        record("a", "a1", {}, 0),
        record("b", "b1", {"a": "a1"}, 0),
        record("d", "d1", {"a": "a1"}, 2),
    ]))  # fmt: skip
    rows = asset_rows(storage, ServerCode())
    assert [r.name for r in rows.values()] == ["a", "b", "c", "d"]
    assert all(r.stale_reasons == [] for r in rows.values())
    storage.write(WriteBatch(materializations=[record("a", "a2", {}, 3)]))
    rows = asset_rows(storage, ServerCode())
    assert rows[AssetKey("b")].stale_reasons == ["upstream a changed (data version a1 -> a2)"]
    assert rows[AssetKey("c")].stale_reasons == ["upstream b is stale"]
    assert rows[AssetKey("c")].parents == [AssetKey("b")]
    storage.write(WriteBatch(materializations=[record("a", "a1", {}, 4)]))  # same data again
    assert asset_rows(storage, ServerCode())[AssetKey("d")].stale_reasons == []


def test_the_cache_keeps_the_catalog_until_a_new_materialization() -> None:
    storage = MemoryStorage()
    storage.write(WriteBatch(materializations=[record("a", "a1", {}, 0)]))
    cache, code = CatalogCache(), ServerCode()
    first = cache.rows(storage, code)
    assert cache.rows(storage, code) is first
    storage.write(WriteBatch(materializations=[record("b", "b1", {"a": "a1"}, 1)]))
    assert list(cache.rows(storage, code)) == [AssetKey("a"), AssetKey("b")]
    assert cache.rows(storage, ServerCode()) is not cache.rows(storage, code)  # other code


def test_metadata_series_keep_numbers_only_oldest_first() -> None:
    records = [record("a", "v", {}, n) for n in (3, 2, 1)]  # newest first, as the store gives
    records[1].metadata["flag"] = True
    records[1].metadata["typed"] = {"type": "float", "value": 0.5}
    series = metadata_series(records)
    assert [v for _, v in series["rows"]] == [1.0, 2.0, 3.0]
    assert "flag" not in series and series["typed"][0][1] == 0.5
    assert UPSTREAM_VERSIONS_KEY not in series
