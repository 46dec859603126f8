"""W3 for Airflow: numbers() -> double.expand() over 1000 items -> total() checks 999000."""

from airflow.sdk import dag, task


@dag(schedule=None)
def bench_w3_map() -> None:
    @task
    def numbers() -> list[int]:
        return list(range(1000))

    @task
    def double(x: int) -> int:
        return 2 * x

    @task
    def total(values: list[int]) -> int:
        result = sum(values)
        if result != 999000:
            raise ValueError(f"sum is {result}, expected 999000")
        return result

    total(double.expand(x=numbers()))


dag = bench_w3_map()
