"""Config of ``@task`` functions in DAGs: Config classes, config_schema, defaults, errors."""

from __future__ import annotations

from typing import Any

import pytest

from partita import DAG, Config, RunConfig, TaskState, task, task_group
from partita.exceptions import RunConfigError
from partita.storage.memory import MemoryStorage


class SayHelloConfig(Config):
    word: str
    times: int = 1


@task
def say_hello(config: SayHelloConfig) -> str:
    return " ".join([f"hello {config.word}"] * config.times)


@task
def takes_cfg(cfg: SayHelloConfig, context: Any) -> list[Any]:
    return [cfg.word, context.config.word, context["config"]["times"]]


def _dag() -> DAG:
    with DAG("configured") as d:
        say_hello()
        takes_cfg()
    return d


def test_config_from_the_run_conf_with_defaults_filled_in() -> None:
    conf = {
        "tasks": {
            "say_hello": {"config": {"word": "hi", "times": 2}},
            "takes_cfg": {"config": {"word": "yo"}},
        }
    }
    result = _dag().test(run_conf=conf)
    assert result.output("say_hello") == "hello hi hello hi"
    assert result.output("takes_cfg") == ["yo", "yo", 1]


def test_run_config_object_works_the_same() -> None:
    conf = RunConfig(tasks={"say_hello": SayHelloConfig(word="a"), "takes_cfg": {"word": "b"}})
    result = _dag().test(run_conf=conf)
    assert result.output("say_hello") == "hello a"
    assert result.run.conf["tasks"]["takes_cfg"] == {"config": {"word": "b"}}


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({}, "task 'say_hello': config is invalid: field 'word': Field required"),
        (
            {"tasks": {"say_hello": {"config": {"word": "x", "times": "often"}}}},
            "task 'say_hello': config is invalid: field 'times': Input should be a valid integer",
        ),
        (
            {"tasks": {"say_hello": {"config": {"word": "x", "loud": True}}}},
            "field 'loud': Extra inputs are not permitted",
        ),
        (
            {
                "tasks": {
                    "say_hello": {"config": {"word": "x"}},
                    "takes_cfg": {"config": {"word": "x"}},
                    "say_helo": {"config": {}},
                }
            },
            "names task 'say_helo', which the DAG does not have",
        ),
        ({"ops": {"say_hello": {"config": {"word": "x"}}}}, "'ops' is Dagster's"),
        ({"tasks": {"say_hello": {"word": "x"}}}, "unknown key\\(s\\) 'word'"),
    ],
)
def test_invalid_config_is_rejected_before_the_run(conf: dict[str, Any], message: str) -> None:
    storage = MemoryStorage()
    with pytest.raises(RunConfigError, match=message):
        _dag().test(run_conf=conf, storage=storage)
    assert storage.runs.list_runs() == []


def test_config_given_to_a_task_without_config_is_an_error() -> None:
    @task
    def plain() -> int:
        return 1

    with DAG("no_config") as d:
        plain()
    with pytest.raises(RunConfigError, match="gives config to task 'plain', which takes none"):
        d.test(run_conf={"tasks": {"plain": {"config": {"x": 1}}}})
    # The same conf keys without config are plain run conf (params), as before.
    assert d.test(run_conf={"x": 1}).success


def test_dag_config_gives_defaults_under_the_run_conf() -> None:
    defaults = RunConfig(tasks={"say_hello": SayHelloConfig(word="default", times=1)})
    with DAG("defaulted", config=defaults) as d:
        say_hello()
    assert d.test().output("say_hello") == "hello default"
    override = {"tasks": {"say_hello": {"config": {"times": 2}}}}
    assert d.test(run_conf=override).output("say_hello") == "hello default hello default"


def test_config_schema_dict_with_defaults_and_context_config() -> None:
    @task(config_schema={"n": int, "label": (str, "x")})
    def labelled(context: Any) -> str:
        return f"{context.config['label']}{context.config.n}"

    with DAG("schema") as d:
        labelled()
    assert d.test(run_conf={"tasks": {"labelled": {"config": {"n": 3}}}}).output("labelled") == "x3"


def test_a_mapped_task_takes_config_for_every_instance() -> None:
    class Offset(Config):
        by: int

    @task
    def shift(x: int, config: Offset) -> int:
        return x + config.by

    with DAG("mapped_config") as d:
        shift.expand(x=[1, 2, 3])
    result = d.test(run_conf={"tasks": {"shift": {"config": {"by": 10}}}})
    assert result.output("shift") == [11, 12, 13]
    with pytest.raises(RunConfigError, match="task 'shift': config is invalid"):
        d.test()


def test_config_objects_are_frozen_and_subscriptable() -> None:
    cfg = SayHelloConfig(word="w")
    assert cfg["word"] == "w"
    with pytest.raises(KeyError):
        cfg["nope"]
    with pytest.raises(Exception, match="frozen"):
        cfg.word = "x"  # type: ignore[misc]


def test_task_states_when_config_is_given_through_the_task_group_form() -> None:
    @task_group
    def group() -> None:
        say_hello()

    with DAG("grouped") as d:
        group()
    result = d.test(
        run_conf={"tasks": {"group": {"tasks": {"say_hello": {"config": {"word": "g"}}}}}}
    )
    assert result.task_states == {"group.say_hello": TaskState.SUCCESS}
    assert result.output("group.say_hello") == "hello g"
