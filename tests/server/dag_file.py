"""The DAGs the web server tests serve (written to a file, imported by the server)."""

from partita import DAG, Param, task

with DAG(
    "etl",
    schedule=None,
    params={"n": Param(3, type="integer", minimum=1)},
    tags=["team-a", "daily"],
    description="extract then load",
) as etl:

    @task
    def extract() -> list[int]:
        for i in range(30):
            print(f"line {i}")
        return [1, 2, 3]

    @task
    def load(rows: list[int]) -> int:
        print("loaded", rows)
        return sum(rows)

    load(extract())

with DAG("broken", schedule=None, tags=["team-b"]) as broken:

    @task
    def fail() -> None:
        raise ValueError("the source is down")

    @task
    def after() -> None:
        print("never")

    fail() >> after()
