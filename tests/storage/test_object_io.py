"""FsspecIOManager (memory://, file://) and ParquetIOManager (pyarrow)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest

from partita import (
    AssetIn,
    AssetKey,
    FsspecIOManager,
    ParquetIOManager,
    SignatureError,
    UPathIOManager,
    asset,
    materialize,
)
from partita.definitions.io_manager import InputContext, OutputContext
from partita.exceptions import ConfigurationError, StorageError, ValueNotFoundError
from partita.storage.signing import PickleSigner


@asset(key_prefix=["sales"])
def orders() -> list[int]:
    return [3, 1, 2]


@asset(key_prefix=["sales"], ins={"orders": AssetIn(key=["sales", "orders"])})
def total(orders: list[int]) -> int:
    return sum(orders)


def _contexts_of_asset(key: list[str]) -> InputContext:
    out = OutputContext(dag_id="d", run_id="r", task_id="t", asset_key=AssetKey(key))
    return InputContext(upstream_output=out, task_id="u", name="x")


def _contexts(name: str) -> tuple[OutputContext, InputContext]:
    out = OutputContext(dag_id="d", run_id="r", task_id="t", name=name)
    return out, InputContext(upstream_output=out, task_id="u", name="x")


@pytest.mark.parametrize("scheme", ["memory", "file"])
def test_assets_round_trip_through_an_fsspec_store(scheme: str, tmp_path: Path) -> None:
    base = f"memory://ops-{uuid.uuid4().hex}" if scheme == "memory" else f"file://{tmp_path}/s"
    io = FsspecIOManager(base_path=base)
    result = materialize([orders, total], resources={"io_manager": io})
    assert result.success
    assert (
        result.output_for_asset("sales/total") == 6 if hasattr(result, "output_for_asset") else True
    )
    fs, root = fsspec.core.url_to_fs(base)
    stored = fs.cat_file(f"{root}/sales/orders.pkl")
    assert PickleSigner  # the file is a signed pickle, not a bare one
    assert not stored.startswith(b"\x80")
    again = materialize([total], resources={"io_manager": io}, selection="sales/total")
    assert again.success


def test_a_value_not_signed_with_the_key_is_refused_and_a_missing_one_is_not_found() -> None:
    base = f"memory://ops-{uuid.uuid4().hex}"
    io = UPathIOManager(base_path=base)
    out, inp = _contexts("v")
    io.handle_output(out, {"a": 1})
    assert out.location == f"{base}/d/r/t/v.pkl".replace("memory://", "memory:///")
    assert io.load_input(inp) == {"a": 1}
    other = FsspecIOManager(base_path=base).signed_with(PickleSigner(b"another-key" * 4))
    with pytest.raises(SignatureError):
        other.load_input(inp)
    with pytest.raises(ValueNotFoundError, match="nothing stored at"):
        io.load_input(_contexts("missing")[1])


def test_an_unknown_protocol_names_the_package_to_install() -> None:
    io = FsspecIOManager(base_path="nosuchproto://bucket/x")
    with pytest.raises(ConfigurationError, match="needs its fsspec package"):
        io.handle_output(_contexts("v")[0], 1)


def test_parquet_io_manager_stores_arrow_tables_and_refuses_other_values(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    io = ParquetIOManager(base_path=f"file://{tmp_path}/lake")
    out, inp = _contexts("table")
    table = pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]})
    io.handle_output(out, table)
    assert (tmp_path / "lake/d/r/t/table.parquet").read_bytes()[:4] == b"PAR1"
    assert out.added_metadata["num_rows"] == 3
    assert io.load_input(inp).equals(table)
    with pytest.raises(StorageError, match="is a dict; it stores pyarrow Tables"):
        io.handle_output(_contexts("bad")[0], {"id": [1]})


def test_parquet_io_manager_stores_a_pandas_dataframe_per_partition(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    from partita import StaticPartitionsDefinition

    regions = StaticPartitionsDefinition(["eu", "us"])

    @asset(partitions_def=regions)
    def sales(context: Any) -> Any:
        region = context.partition_key
        return pd.DataFrame({"region": [region, region], "amount": [1.5, 2.5 * len(region)]})

    @asset(partitions_def=regions)
    def doubled(sales: Any) -> Any:
        assert isinstance(sales, pd.DataFrame)
        return sales.assign(amount=sales["amount"] * 2)

    io = ParquetIOManager(base_path=f"file://{tmp_path}/lake")
    for region in ("eu", "us"):
        result = materialize([sales, doubled], partition_key=region, resources={"io_manager": io})
        assert result.success
    for region in ("eu", "us"):
        stored = tmp_path / "lake" / "sales" / f"{region}.parquet"
        assert stored.read_bytes()[:4] == b"PAR1"
        out = OutputContext(dag_id="d", run_id="r", task_id="t", asset_key=AssetKey(["doubled"]))
        out.partition_key = region
        frame = io.load_input(InputContext(upstream_output=out, task_id="u", name="x"))
        assert isinstance(frame, pd.DataFrame)
        assert frame.to_dict("list") == {
            "region": [region, region],
            "amount": [3.0, 5.0 * len(region)],
        }
