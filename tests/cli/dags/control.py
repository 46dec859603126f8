"""DAGs for the run-control tests: a mapped task with one failing instance, and a plain chain."""

from partita import DAG, EmptyOperator, task

with DAG("control") as control:

    @task
    def numbers() -> list[int]:
        return [1, 2, 3]

    @task
    def double(x: int) -> int:
        if x == 2:
            raise ValueError("two is not welcome")
        return 2 * x

    @task
    def total(values: list[int]) -> int:
        return sum(values)

    @task
    def side() -> str:
        return "side"

    total(double.expand(x=numbers()))
    side()


with DAG("chain") as chain:
    first = EmptyOperator(task_id="first")
    middle = EmptyOperator(task_id="middle")
    last = EmptyOperator(task_id="last")
    first >> middle >> last
