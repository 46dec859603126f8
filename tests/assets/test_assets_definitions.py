"""Asset definitions: keys, ``@asset`` / ``@multi_asset`` options, the asset graph, selections."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from partita import (
    AssetIn,
    AssetKey,
    AssetOut,
    AssetSelection,
    Config,
    Resource,
    ResourceParam,
    asset,
    multi_asset,
)
from partita.definitions.asset_graph import AssetGraph
from partita.exceptions import CycleError, DefinitionError

# --- keys -----------------------------------------------------------------------------------


def test_asset_key_forms_are_equal_and_hashable() -> None:
    key = AssetKey(["some_db_schema", "orders"])
    assert key == AssetKey.from_user_string("some_db_schema/orders")
    assert key == AssetKey("some_db_schema", "orders")
    assert {key: 1}[AssetKey(["some_db_schema", "orders"])] == 1
    assert key.to_user_string() == "some_db_schema/orders"
    assert key.to_task_id() == "some_db_schema__orders"
    assert key.name == "orders"
    assert AssetKey("orders").with_prefix("raw") == AssetKey(["raw", "orders"])
    assert repr(key) == "AssetKey(['some_db_schema', 'orders'])"


@pytest.mark.parametrize("bad", [[], [""], ["a/b"], ["has space"], ["x", 3]])
def test_asset_key_segments_are_checked(bad: Any) -> None:
    with pytest.raises(DefinitionError):
        AssetKey(bad)


def test_asset_key_is_immutable_and_picklable() -> None:
    key = AssetKey(["a", "b"])
    with pytest.raises(AttributeError):
        key.path = ("c",)  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(key)) == key


# --- @asset ---------------------------------------------------------------------------------


def test_asset_key_defaults_to_the_function_name_and_inputs_to_parameters() -> None:
    @asset
    def orders(customers: list[int], context: Any) -> list[int]:
        return customers

    assert orders.key == AssetKey("orders")
    assert orders.task_id() == "orders"
    assert [i.key for i in orders.inputs.values()] == [AssetKey("customers")]
    assert orders([1], None) == [1]  # calling the definition calls the function


def test_asset_key_prefix_name_and_explicit_key() -> None:
    @asset(key_prefix=["warehouse", "sales"], name="orders")
    def build() -> int:
        return 1

    @asset(key=["some_db_schema", "upstream_asset"])
    def other() -> int:
        return 2

    assert build.key == AssetKey(["warehouse", "sales", "orders"])
    assert build.task_id() == "warehouse__sales__orders"
    assert other.key == AssetKey(["some_db_schema", "upstream_asset"])
    with pytest.raises(DefinitionError, match="give key=, or name= / key_prefix=, not both"):
        asset(key="a", name="b")(lambda: 1)


def test_ins_deps_resources_and_config_are_told_apart() -> None:
    class Db(Resource):
        url: str

    class Settings(Config):
        limit: int = 3

    @asset
    def upstream() -> int:
        return 1

    @asset(
        ins={"raw": AssetIn(key=["lake", "raw"])},
        deps=[upstream, "audit/log"],
        group_name="sales",
        tags={"tier": "gold"},
        description="the report",
        metadata={"owner": "ana"},
        code_version="7",
        io_manager_key="warehouse",
        retries=2,
    )
    def report(
        raw: list[int], db: Db, client: ResourceParam[dict], config: Settings, n: int = 3
    ) -> int:  # type: ignore[type-arg]
        return 0

    assert list(report.inputs) == ["raw"]
    assert report.inputs["raw"].key == AssetKey(["lake", "raw"])
    assert report.deps == (AssetKey("upstream"), AssetKey(["audit", "log"]))
    assert report.upstream_keys() == [
        AssetKey(["lake", "raw"]),
        AssetKey("upstream"),
        AssetKey(["audit", "log"]),
    ]
    spec = report.spec(report.key)
    assert (spec.group_name, spec.tags, spec.description, spec.code_version) == (
        "sales",
        {"tier": "gold"},
        "the report",
        "7",
    )
    assert spec.metadata == {"owner": "ana"}
    assert spec.io_manager_key == "warehouse"
    assert report.task_kwargs == {"retries": 2}


def test_asset_rejects_unknown_task_arguments_and_unknown_ins() -> None:
    def one() -> int:
        return 1

    with pytest.raises(DefinitionError, match=r"unknown argument.*retires"):
        asset(retires=3)(one)

    def fn(a: int) -> int:
        return a

    with pytest.raises(DefinitionError, match="ins names 'b'"):
        asset(ins={"b": AssetIn("x")})(fn)


def test_an_asset_that_reads_itself_is_rejected() -> None:
    with pytest.raises(DefinitionError, match="depends on itself"):

        @asset
        def loop(loop: int) -> int:
            return loop


def test_multi_asset_keys_and_task_id() -> None:
    @multi_asset(
        outs={"a": AssetOut(), "b": AssetOut(key=["schema", "b"], group_name="g")},
        name="split",
    )
    def split_fn(source: int) -> tuple[int, int]:
        return source, source

    assert split_fn.keys == [AssetKey("a"), AssetKey(["schema", "b"])]
    assert split_fn.task_id() == "split"
    assert split_fn.spec(AssetKey(["schema", "b"])).group_name == "g"
    with pytest.raises(DefinitionError, match="has several keys"):
        _ = split_fn.key


# --- the graph and selections -----------------------------------------------------------------


@asset
def a() -> int:
    return 1


@asset(group_name="middle", tags={"tier": "silver"})
def b(a: int) -> int:
    return a + 1


@asset(group_name="middle")
def c(b: int) -> int:
    return b + 1


@asset(tags={"tier": "gold"})
def d(c: int, external: int) -> int:
    return c + external


GRAPH = AssetGraph([a, b, c, d])


def _names(selection: str) -> list[str]:
    return sorted(k.to_user_string() for k in AssetSelection.from_string(selection).resolve(GRAPH))


def test_graph_knows_parents_children_and_external_keys() -> None:
    assert GRAPH.parents[AssetKey("d")] == [AssetKey("c"), AssetKey("external")]
    assert GRAPH.children[AssetKey("a")] == [AssetKey("b")]
    assert GRAPH.is_external(AssetKey("external"))
    assert [k.name for k in GRAPH.defined_keys] == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", ["a"]),
        ("b*", ["b", "c", "d"]),
        ("*c", ["a", "b", "c"]),
        ("+c", ["b", "c"]),
        ("++c", ["a", "b", "c"]),
        ("b+", ["b", "c"]),
        ("+b+", ["a", "b", "c"]),
        ("*", ["a", "b", "c", "d"]),
        ("group:middle", ["b", "c"]),
        ("tag:tier=gold", ["d"]),
        ("tag:tier", ["b", "d"]),
        ("a, d", ["a", "d"]),
        ("group:middle, a", ["a", "b", "c"]),
    ],
)
def test_selection_syntax(text: str, expected: list[str]) -> None:
    assert _names(text) == expected


def test_selection_objects_compose() -> None:
    both = AssetSelection.keys("b").downstream() - AssetSelection.groups("middle")
    assert [k.name for k in both.resolve(GRAPH)] == ["d"]
    union = AssetSelection.assets(a) | AssetSelection.tag("tier", "gold")
    assert sorted(k.name for k in union.resolve(GRAPH)) == ["a", "d"]
    assert AssetSelection.coerce(None).resolve(GRAPH) == set(GRAPH.defined_keys)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "no asset 'nope'; the assets are: a, b, c, d"),
        ("group:none", "matches no asset; the groups are: default, middle"),
        ("a,,b", "empty term"),
        ("a**", "is not understood"),
        ("external", "no asset 'external'"),
    ],
)
def test_bad_selections_name_what_exists(text: str, message: str) -> None:
    with pytest.raises(DefinitionError, match=message.replace("(", r"\(")):
        AssetSelection.from_string(text).resolve(GRAPH)


def test_duplicate_keys_and_cycles_are_rejected() -> None:
    @asset(name="a")
    def another_a() -> int:
        return 2

    with pytest.raises(DefinitionError, match="asset 'a' is defined twice"):
        AssetGraph([a, another_a])

    @asset(name="x")
    def x(y: int) -> int:
        return y

    @asset(name="y")
    def y(x: int) -> int:
        return x

    with pytest.raises(CycleError, match="the assets form a cycle"):
        AssetGraph([x, y])
