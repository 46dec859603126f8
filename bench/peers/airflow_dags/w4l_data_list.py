"""W4 for Airflow: a 5-stage chain passing a 50 MiB list of ints (XCom rejects bytes).

The list holds 6,553,600 ints, so its pointer array alone is 50 MiB.
show_return_value_in_logs is off, or every task would log the whole list.
"""

from airflow.sdk import dag, task

N = 50 * 1024 * 1024 // 8


@dag(schedule=None)
def bench_w4l_data_list() -> None:
    @task(show_return_value_in_logs=False)
    def make() -> list[int]:
        return list(range(N))

    @task(show_return_value_in_logs=False)
    def passthrough(blob: list[int]) -> list[int]:
        return blob

    value = make()
    for _ in range(4):
        value = passthrough(value)


dag = bench_w4l_data_list()
