"""Resources: injected by name or type, configured by EnvVar and run config, opened once a run."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from partita import (
    DAG,
    Config,
    Definitions,
    EnvVar,
    Resource,
    ResourceParam,
    TaskState,
    asset,
    dag,
    materialize,
    task,
)
from partita.exceptions import ResourceError
from partita.storage.memory import MemoryStorage
from partita.testing import run_task


class Counter(Resource):
    """A context-manager resource that counts how often it was opened and closed."""

    name: str = "counter"
    events: ClassVar[list[str]] = []

    def __enter__(self) -> Counter:
        Counter.events.append(f"open {self.name}")
        return self

    def __exit__(self, *exc: object) -> None:
        Counter.events.append(f"close {self.name}")


@pytest.fixture(autouse=True)
def _reset_events() -> None:
    Counter.events = []


class Database(Resource):
    url: str
    pool: int = 1


def test_resource_by_type_and_by_name_in_tasks() -> None:
    @task
    def by_type(db: Database) -> str:
        return db.url

    @task
    def by_name(client: Any) -> str:
        return str(client["name"])

    @task
    def by_context(context: Any) -> int:
        return len(context.resources)

    with DAG(
        "resourced", resources={"db": Database(url="sqlite://"), "client": {"name": "c"}}
    ) as d:
        by_type()
        by_name()
        by_context()
    result = d.test()
    assert result.output("by_type") == "sqlite://"
    assert result.output("by_name") == "c"
    assert result.output("by_context") == 2


def test_a_typed_resource_under_another_key_is_found_by_its_type() -> None:
    @asset
    def uses_db(database: Database) -> int:
        return database.pool

    assert (
        materialize([uses_db], resources={"main_db": Database(url="x", pool=4)}).output("uses_db")
        == 4
    )


def test_a_missing_resource_is_rejected_before_the_run_naming_task_and_resource() -> None:
    @task
    def query(warehouse: Any) -> None:
        pass

    with DAG("needs_warehouse") as d:
        query()
    storage = MemoryStorage()
    with pytest.raises(
        ResourceError,
        match="DAG 'needs_warehouse': task 'query' needs resource 'warehouse' \\(parameter "
        "'warehouse'\\), which nothing provides",
    ):
        d.test(storage=storage)
    assert storage.runs.list_runs() == []

    @asset
    def report(db: Database) -> int:
        return 1

    with pytest.raises(ResourceError, match="asset 'report' needs resource 'db' of type Database"):
        materialize([report])


def test_a_resource_of_the_wrong_type_is_rejected() -> None:
    @asset
    def report(db: Database) -> int:
        return 1

    with pytest.raises(
        ResourceError, match="expects resource 'db' to be a Database, but it is a str"
    ):
        materialize([report], resources={"db": "sqlite://"})


def test_context_manager_resources_open_once_per_run_and_close_after() -> None:
    @task
    def first(counter: Counter) -> None:
        Counter.events.append("first")

    @task
    def second(counter: Counter) -> None:
        Counter.events.append("second")

    with DAG("twice", resources={"counter": Counter()}) as d:
        first() >> second()
    assert d.test().success
    assert Counter.events == ["open counter", "first", "second", "close counter"]


def test_context_manager_resources_close_when_the_run_fails() -> None:
    @task
    def boom(counter: Counter) -> None:
        raise RuntimeError("boom")

    with DAG("failing", resources={"counter": Counter()}) as d:
        boom()
    result = d.test()
    assert result.task_states == {"boom": TaskState.FAILED}
    assert Counter.events == ["open counter", "close counter"]


def test_a_context_manager_resource_no_task_needs_is_not_opened() -> None:
    @task
    def plain() -> int:
        return 1

    with DAG("untouched", resources={"counter": Counter()}) as d:
        plain()
    assert d.test().success
    assert Counter.events == []


def test_a_resource_that_fails_to_open_stops_the_run_and_closes_the_others() -> None:
    class Broken(Resource):
        def __enter__(self) -> Broken:
            raise ConnectionError("refused")

        def __exit__(self, *exc: object) -> None:
            pass

    @task
    def both(counter: Counter, broken: Broken) -> None:
        pass

    storage = MemoryStorage()
    with DAG("broken", resources={"counter": Counter(), "broken": Broken()}) as d:
        both()
    with pytest.raises(ResourceError, match="resource 'broken' failed to open: ConnectionError"):
        d.test(storage=storage)
    assert Counter.events == ["open counter", "close counter"]
    assert storage.runs.list_runs() == []


def test_env_vars_are_read_when_the_run_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_DB_URL", raising=False)
    resource = Database(url=EnvVar("TEST_DB_URL"), pool=EnvVar("TEST_DB_POOL"))  # type: ignore[arg-type]

    @asset
    def url(db: Database) -> str:
        return f"{db.url}#{db.pool}"

    with pytest.raises(
        ResourceError, match="field 'url' reads environment variable TEST_DB_URL, which is not set"
    ):
        materialize([url], resources={"db": resource})
    monkeypatch.setenv("TEST_DB_URL", "postgresql://db")
    monkeypatch.setenv("TEST_DB_POOL", "5")
    assert materialize([url], resources={"db": resource}).output("url") == "postgresql://db#5"
    monkeypatch.setenv("TEST_DB_POOL", "many")
    with pytest.raises(ResourceError, match="field 'pool': Input should be a valid integer"):
        materialize([url], resources={"db": resource})


def test_run_config_can_override_resource_fields() -> None:
    @asset
    def pool(db: Database) -> int:
        return db.pool

    resources = {"db": Database(url="x")}
    conf = {"resources": {"db": {"config": {"pool": 9}}}}
    assert materialize([pool], resources=resources, run_config=conf).output("pool") == 9
    assert resources["db"].pool == 1  # the definition is not changed
    with pytest.raises(ResourceError, match="configures resource\\(s\\) 'nope'"):
        materialize([pool], resources=resources, run_config={"resources": {"nope": {"config": {}}}})


def test_definitions_resources_reach_its_dags_and_a_dags_own_win() -> None:
    @task
    def show(db: Database) -> str:
        return db.url

    @dag
    def plain() -> None:
        show()

    with DAG("own", resources={"db": Database(url="own")}) as own:
        show()
    defs = Definitions(dags=[plain, own], resources={"db": Database(url="shared")})
    assert defs.get_dag("plain").test().output("show") == "shared"
    assert defs.get_dag("own").test().output("show") == "own"
    assert (
        defs.get_dag("plain").test(resources={"db": Database(url="given")}).output("show")
        == "given"
    )


def test_resource_param_marks_any_object_as_a_resource_of_an_asset() -> None:
    @asset
    def greeting(client: ResourceParam[dict]) -> str:  # type: ignore[type-arg]
        return str(client["greeting"])

    assert not greeting.inputs
    assert (
        materialize([greeting], resources={"client": {"greeting": "hi"}}).output("greeting") == "hi"
    )


def test_run_task_of_partita_testing_takes_resources_and_config() -> None:
    class Limit(Config):
        n: int

    @task
    def query(db: Database, config: Limit) -> str:
        return f"{db.url}?limit={config.n}"

    with DAG("one_task"):
        ref = query()
    result = run_task(
        ref,
        resources={"db": Database(url="sqlite://")},
        conf={"tasks": {"query": {"config": {"n": 5}}}},
    )
    assert result.output == "sqlite://?limit=5"
