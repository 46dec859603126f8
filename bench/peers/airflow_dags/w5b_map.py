"""W5b for Airflow: a no-op task mapped over 100,000 items."""

from airflow.sdk import dag, task


@dag(schedule=None)
def bench_w5b_map() -> None:
    @task
    def noop(x: int) -> None:
        return None

    noop.expand(x=list(range(100_000)))


dag = bench_w5b_map()
