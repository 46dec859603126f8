"""``yield Metadata(asset, extra)``, ``pre_execute=`` / ``post_execute=``, access control."""

from __future__ import annotations

from typing import Any

import pytest

from partita import DAG, Asset, AssetAlias, BashOperator, Metadata, task
from partita.exceptions import DefinitionError

A, B = Asset("s3://output/a.txt"), Asset("b")


def test_a_generator_task_adds_what_it_yields_to_its_asset_events() -> None:
    with DAG("producer") as dag:

        @task(outlets=[A, AssetAlias("out")])
        def write() -> Any:
            yield Metadata(A, {"hi": "bye"})
            yield "something else"  # logged and ignored, as in Airflow
            yield Metadata(B, {"n": 1}, alias=AssetAlias("out"))
            return 42

        @task
        def read(value: int) -> int:
            assert value == 42
            return value

        read(write())
    result = dag.test()
    assert result.state == "success"
    assert result.output("write") == 42
    events = {m.asset_key: m.metadata for m in result.materializations}
    assert events[A.key] == {"hi": "bye"}
    assert events[B.key]["n"] == 1


def test_metadata_for_an_asset_that_is_no_outlet_fails_the_task() -> None:
    with DAG("producer") as dag:

        @task(outlets=[A])
        def write() -> Any:
            yield Metadata(B, {"n": 1})

        write()
    result = dag.test()
    assert result.task_states == {"write": "failed"}


def test_pre_and_post_execute_run_around_execute() -> None:
    seen: list[Any] = []

    def post(context: Any, result: Any) -> None:
        seen.append(("post", result))
        context["outlet_events"][A].extra = {"hi": "bye"}

    with DAG("hooks") as dag:
        BashOperator(
            task_id="echo",
            bash_command="echo out",
            outlets=[A],
            pre_execute=lambda context: seen.append(("pre", context["task"].task_id)),
            post_execute=post,
        )
    result = dag.test()
    assert result.state == "success"
    assert seen == [("pre", "echo"), ("post", "out")]
    assert [m.metadata for m in result.materializations] == [{"hi": "bye"}]


def test_a_failing_post_execute_fails_the_task() -> None:
    def post(context: Any, result: Any) -> None:
        raise ValueError("bad result")

    with DAG("hooks") as dag:
        BashOperator(task_id="echo", bash_command="echo out", post_execute=post)
    assert dag.test().task_states == {"echo": "failed"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Metadata("s3://x", {}), r"Metadata\(asset=...\) takes an Asset"),
        (lambda: Metadata(A, ["x"]), r"Metadata\(extra=...\) takes a dict"),
        (lambda: Metadata(A, {}, alias="x"), r"takes an AssetAlias"),
        (
            lambda: BashOperator(task_id="t", bash_command=":", pre_execute="nope"),
            "pre_execute must be a function",
        ),
    ],
)
def test_bad_metadata_and_hooks_are_refused(make: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        make()


def test_access_control_is_checked_and_kept_on_the_asset() -> None:
    from partita import AssetAccessControl

    control = AssetAccessControl(producer_teams=["team_a"], allow_global=False)
    asset = Asset("shared", access_control=control)
    assert asset.access_control == control and control.producer_teams == ("team_a",)
    assert control.consumer_teams is None and Asset("x").access_control is None
    for make, message in [
        (lambda: AssetAccessControl(producer_teams=[" "]), "must be a non-empty string"),
        (lambda: AssetAccessControl(producer_teams="team_a"), "must be a list of team names"),
        (lambda: AssetAccessControl(allow_global="no"), "allow_global must be True or False"),
        (lambda: Asset("x", access_control={"producer_teams": []}), "AssetAccessControl"),
    ]:
        with pytest.raises(DefinitionError, match=message):
            make()
