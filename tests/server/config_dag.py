"""A DAG whose tasks take a ``Config`` (and a param): the launchpad's run-config tests serve it."""

from typing import Literal

from pydantic import Field

from partita import DAG, Config, Param, config_mapping, task


class GreetConfig(Config):
    word: str = Field(description="what to say")
    times: int = Field(2, ge=1, le=5)
    loud: bool = False
    tone: Literal["warm", "dry"] = "warm"


class SignConfig(Config):
    name: str = "partita"


with DAG("configured", schedule=None, params={"who": Param("world", type="string")}) as configured:

    @task
    def greet(config: GreetConfig) -> str:
        text = " ".join([config.word] * config.times)
        print(text.upper() if config.loud else text, config.tone)
        return text

    @task
    def sign(text: str, config: SignConfig) -> str:
        print(text, "--", config.name)
        return config.name

    sign(greet())


@task(config_schema={"word": str})
def say_hello(context: object) -> None:
    print("Hello,", context.config["word"])  # type: ignore[attr-defined]


with DAG(
    "greeting_job",
    schedule=None,
    config=config_mapping(
        config_fn=lambda cfg: {"say_hello": {"config": {"word": cfg["greeting_word"]}}},
        config_schema={"greeting_word": str, "punctuation": (str, "!")},
    ),
) as greeting_job:
    say_hello()
