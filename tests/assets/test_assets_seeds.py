"""The Dagster examples of seeds 000 and 001, translated to partita (DESIGN.md's vocabulary).

Each example keeps the article's shape: ``@op``/``@solid`` become ``@task``,
``@job``/``@pipeline`` become ``@dag``, ``config_schema`` and ``context.op_config``
become ``config_schema`` and ``context.config``, ``DagsterType`` becomes
``PartitaType``, ``RetryRequested``/``Failure`` become ``RetryTask``/``FailTask``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from partita import (
    DAG,
    AssetIn,
    AssetKey,
    ConfigMapping,
    Definitions,
    FailTask,
    InputContext,
    IOManager,
    MetadataValue,
    OutputContext,
    PartitaType,
    Resource,
    RetryTask,
    RunState,
    ScheduleDefinition,
    TaskState,
    asset,
    config_mapping,
    dag,
    define_asset_job,
    materialize,
    task,
    task_group,
)
from partita.definitions.sensors import SensorDefinition
from partita.exceptions import DefinitionError, RunConfigError
from partita.storage.memory import MemoryStorage
from partita.storage.records import EventKind

# --- seed 001: asset jobs -------------------------------------------------------------------


@asset
def asset1() -> list[int]:
    return [1, 2, 3]


@asset
def asset2(asset1: list[int]) -> list[int]:
    return asset1 + [4]  # noqa: RUF005 - as in the article


all_assets_job = define_asset_job(name="all_assets_job")
asset1_job = define_asset_job(name="asset1_job", selection="asset1")


def test_seed_001_asset_jobs_with_and_without_a_selection() -> None:
    defs = Definitions(assets=[asset1, asset2], jobs=[all_assets_job, asset1_job])

    everything = defs.get_dag("all_assets_job").test()
    assert everything.success
    assert everything.task_states == {"asset1": TaskState.SUCCESS, "asset2": TaskState.SUCCESS}
    assert everything.output("asset2") == [1, 2, 3, 4]
    assert [m.asset_key for m in everything.materializations] == [
        AssetKey("asset1"),
        AssetKey("asset2"),
    ]

    only_asset1 = defs.get_dag("asset1_job").test()
    assert only_asset1.task_states == {"asset1": TaskState.SUCCESS}
    assert only_asset1.output(AssetKey("asset1")) == [1, 2, 3]


# --- seed 001: upstream keys with one and with several segments -----------------------------


@asset
def upstream_asset() -> list[int]:
    return [1, 2, 3]


@asset(key=["some_db_schema", "upstream_asset"])
def schema_upstream_asset() -> list[int]:
    return [7]


# If the upstream key has a single segment, you can specify it with a string:
@asset(ins={"upstream": AssetIn(key="upstream_asset")})
def downstream_asset(upstream: list[int]) -> list[int]:
    return upstream + [4]  # noqa: RUF005 - as in the article


# If it has multiple segments, you can provide a list:
@asset(ins={"upstream": AssetIn(key=["some_db_schema", "upstream_asset"])})
def another_downstream_asset(upstream: list[int]) -> list[int]:
    return upstream + [10]  # noqa: RUF005 - as in the article


def test_seed_001_downstream_assets_of_one_and_two_segment_keys() -> None:
    result = materialize(
        [upstream_asset, schema_upstream_asset, downstream_asset, another_downstream_asset]
    )
    assert result.success
    assert result.output("downstream_asset") == [1, 2, 3, 4]
    assert result.output("another_downstream_asset") == [7, 10]
    assert result.output(AssetKey(["some_db_schema", "upstream_asset"])) == [7]
    assert result.output("some_db_schema/upstream_asset") == [7]
    # The multi-segment asset runs as task some_db_schema__upstream_asset, before its child.
    order = [m.asset_key.to_user_string() for m in result.materializations]
    assert order.index("some_db_schema/upstream_asset") < order.index("another_downstream_asset")
    assert "some_db_schema__upstream_asset" in result.task_states


def test_seed_001_a_downstream_asset_alone_needs_its_upstream_materialized() -> None:
    result = materialize(
        [schema_upstream_asset, another_downstream_asset], selection="another_downstream_asset"
    )
    assert not result.success
    error = result.error("another_downstream_asset") or ""
    assert (
        "asset 'another_downstream_asset' needs upstream asset "
        "['some_db_schema', 'upstream_asset'], which was never materialized" in error
    )
    assert "--select some_db_schema/upstream_asset" in error


# --- seed 001: ops, context and a job --------------------------------------------------------


@task
def add_numbers(context: Any, num1: int, num2: int) -> int:
    return num1 + num2


@task
def add(context: Any, num1: int, num2: int) -> int:
    context.log.info("Adding numbers")
    return num1 + num2


def test_seed_001_add_numbers_checks_its_int_inputs() -> None:
    with DAG("adding") as d:
        add_numbers(1, 2)
        add(3, 4)
        add_numbers.override(task_id="bad")("1", 2)
    result = d.test()
    assert result.output("add_numbers") == 3
    assert result.output("add") == 7
    assert "Adding numbers" in result.logs("add")
    assert result.task_states["bad"] is TaskState.FAILED
    assert "input 'num1' expected type int, got '1' (str)" in (result.error("bad") or "")


@task
def generate_string(context: Any) -> str:
    return "Hello, world!"


@task
def consume_string(context: Any, input_str: str) -> None:
    context.log.info(input_str)


@dag
def my_job() -> None:
    consume_string(generate_string())


#   greeting_str = generate_string()
#   consume_string(greeting_str)


def test_seed_001_generate_and_consume_a_string_with_context_log() -> None:
    result = my_job().test()
    assert result.success
    assert result.output("generate_string") == "Hello, world!"
    assert "INFO - Hello, world!" in result.logs("consume_string")


# --- seed 001: a job-level config mapped onto its op's config ------------------------------


@task(config_schema={"word": str})
def say_hello(context: Any) -> None:
    context.log.info(f"Hello, {context.config['word']}!")


@dag(
    config=config_mapping(
        config_fn=lambda cfg: {"say_hello": {"config": {"word": cfg["greeting_word"]}}},
        config_schema={"greeting_word": str},
    ),
)
def greeting_job() -> None:
    say_hello()


def test_seed_001_greeting_job_maps_its_config_onto_say_hello() -> None:
    result = greeting_job().test(run_conf={"greeting_word": "hi"})
    assert result.success
    assert "Hello, hi!" in result.logs("say_hello")


def test_seed_001_greeting_job_without_its_config_is_rejected_before_the_run() -> None:
    storage = MemoryStorage()
    with pytest.raises(
        RunConfigError,
        match="DAG 'greeting_job': its config is invalid: field 'greeting_word': Field required",
    ):
        greeting_job().test(run_conf={}, storage=storage)
    assert storage.runs.list_runs() == []


def test_seed_001_a_config_mapping_object_works_like_the_function() -> None:
    mapping = ConfigMapping(
        config_fn=lambda cfg: {"say_hello": {"config": {"word": cfg.greeting_word.upper()}}},
        config_schema={"greeting_word": str},
    )
    with DAG("loud_greeting", config=mapping) as d:
        say_hello()
    assert "Hello, HI!" in d.test(run_conf={"greeting_word": "hi"}).logs("say_hello")


# --- seed 001: a resource injected into a task ------------------------------------------------


class DbtCliResource(Resource):
    project_dir: str
    profiles_dir: str
    target: str

    def run(self, command: str) -> str:
        return f"dbt {command} --project-dir {self.project_dir} --target {self.target}"


@task(required_resource_keys={"dbt"})
def dbt_run(context: Any) -> str:
    return str(context.resources.dbt.run("run"))


@dag(resources={"dbt": DbtCliResource(project_dir="proj", profiles_dir="prof", target="dev")})
def some_job() -> None:
    dbt_run()


def test_seed_001_resource_given_to_the_job_reaches_the_task() -> None:
    result = some_job().test()
    assert result.success
    assert result.output("dbt_run") == "dbt run --project-dir proj --target dev"


# --- seed 001: an op output stored by another IO manager --------------------------------------


class DictIOManager(IOManager):
    """Stands in for the article's S3 IO manager: a dict instead of a bucket."""

    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        self.objects["/".join(context.get_identifier())] = obj

    def load_input(self, context: InputContext) -> Any:
        return self.objects["/".join(context.get_identifier())]


def test_seed_001_op_output_goes_to_the_io_manager_named_by_its_key() -> None:
    s3 = DictIOManager()

    @task(io_manager_key="s3_io_manager")
    def my_op() -> str:
        return "Hello, world!"

    @task
    def shout(text: str) -> str:
        return text.upper()

    @dag(resources={"s3_io_manager": s3})
    def s3_job() -> None:
        shout(my_op())

    result = s3_job().test()
    assert result.success
    (key,) = s3.objects
    assert key.startswith("s3_job/") and key.endswith("/my_op/return_value")
    assert s3.objects[key] == "Hello, world!"
    assert result.output("shout") == "HELLO, WORLD!"
    assert result.output("my_op") == "Hello, world!"  # loaded back through the IO manager


def test_seed_001_definitions_keep_schedules_and_sensors() -> None:
    my_schedule = ScheduleDefinition(job="my_job", cron_schedule="@daily")
    my_sensor = SensorDefinition(name="my_sensor", evaluation_fn=lambda: None, job="my_job")
    defs = Definitions(
        assets=[asset1, asset2],
        jobs=[my_job()],
        schedules=[my_schedule],
        sensors=[my_sensor],
    )
    assert defs.schedules == [my_schedule] and defs.sensors == [my_sensor]
    assert [d.dag_id for d in defs.dags] == ["my_job"]
    assert defs.get_sensor("my_sensor") is my_sensor


def test_definitions_refuse_what_is_not_a_sensor() -> None:
    with pytest.raises(DefinitionError, match="sensors must be @sensor"):
        Definitions(sensors=[object()])


# --- seed 000: a typed input, composite solids with config, retries and failures ---------------

MyDagsterType = PartitaType(type_check_fn=lambda _, value: value % 2 == 0, name="MyDagsterType")


@task
def my_typed_input_solid(abc: MyDagsterType) -> None:  # type: ignore[valid-type]
    pass


def test_seed_000_typed_input_passes_and_fails() -> None:
    with DAG("typed") as d:
        my_typed_input_solid(2)
        my_typed_input_solid.override(task_id="odd")(3)
    result = d.test()
    assert result.task_states["my_typed_input_solid"] is TaskState.SUCCESS
    assert result.task_states["odd"] is TaskState.FAILED
    assert "input 'abc' expected type MyDagsterType, got 3 (int)" in (result.error("odd") or "")


@task(config_schema={"n": int})
def add_n(context: Any, number: int) -> int:
    return number + context.config["n"]


@task(config_schema={"m": int})
def multiply_by_m(context: Any, number: int) -> int:
    return number * context.config["m"]


@task_group
def add_n_times_m_solid(number: int) -> Any:
    return multiply_by_m(add_n(number))


def test_seed_000_composite_of_add_n_and_multiply_by_m_with_config() -> None:
    with DAG("composite") as d:
        add_n_times_m_solid(5)
    nested = {
        "tasks": {
            "add_n_times_m_solid": {
                "tasks": {"add_n": {"config": {"n": 2}}, "multiply_by_m": {"config": {"m": 3}}}
            }
        }
    }
    result = d.test(run_conf=nested)
    assert result.output("add_n_times_m_solid.add_n") == 7
    assert result.output("add_n_times_m_solid.multiply_by_m") == 21
    flat = {
        "tasks": {
            "add_n_times_m_solid.add_n": {"config": {"n": 1}},
            "add_n_times_m_solid.multiply_by_m": {"config": {"m": 10}},
        }
    }
    assert d.test(run_conf=flat).output("add_n_times_m_solid.multiply_by_m") == 60
    with pytest.raises(
        RunConfigError,
        match=r"task 'add_n_times_m_solid\.add_n': config is invalid: field 'n': Field required",
    ):
        d.test(run_conf={"tasks": {"add_n_times_m_solid.multiply_by_m": {"config": {"m": 3}}}})


def test_seed_000_retry_requested_from_inside_the_task() -> None:
    calls: list[int] = []

    def flaky_operation() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("flaky")
        return "ok"

    @task(retry_delay=0)
    def my_retry_solid() -> str:
        try:
            result = flaky_operation()
        except Exception:
            raise RetryTask(max_retries=3) from None
        return result

    with DAG("retrying") as d:
        my_retry_solid()
    result = d.test()
    assert result.success
    assert result.output("my_retry_solid") == "ok"
    (ti,) = result.task_instances
    assert ti.try_number == 3


def test_seed_000_failure_with_metadata(tmp_path: Path) -> None:
    @task(retries=2)
    def my_failure_solid() -> None:
        data_path = str(tmp_path / "oh" / "my" / "path")
        try:
            Path(data_path).read_text()  # the article reads a CSV with pandas
        except OSError:
            raise FailTask(
                description="No files to process",
                metadata={"path": MetadataValue.path(data_path)},
            ) from None

    storage = MemoryStorage()
    with DAG("failing") as d:
        my_failure_solid()
    result = d.test(storage=storage)
    assert result.state is RunState.FAILED
    (ti,) = result.task_instances
    assert ti.try_number == 1  # FailTask does not retry
    (event,) = storage.events.read_events(result.run_id, kinds=[EventKind.TASK_ERROR])
    assert event.payload["error"] == "FailTask: No files to process"
    assert event.payload["metadata"] == {
        "path": {"type": "path", "value": str(tmp_path / "oh" / "my" / "path")}
    }
