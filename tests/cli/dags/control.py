"""DAGs for the run-control tests: a mapped task with one failing instance, and a plain chain."""

from partita import DAG, BashOperator, EmptyOperator, task

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


with DAG("holding") as holding:
    warm_up = BashOperator(task_id="warm_up", bash_command="sleep 0.3")
    hold = BashOperator(
        task_id="hold", bash_command='sleep 300 & echo $! > "$CONTROL_PID_FILE"; wait'
    )
    done = EmptyOperator(task_id="done")
    warm_up >> hold >> done


with DAG("stubborn") as stubborn:
    # The command and its `sleep` ignore SIGTERM: only the SIGKILL after the grace stops them.
    warm_up = BashOperator(task_id="warm_up", bash_command="sleep 0.3")
    hold = BashOperator(
        task_id="hold",
        bash_command="trap '' TERM; sleep 300 & echo $! > \"$CONTROL_PID_FILE\"; wait",
    )
    done = EmptyOperator(task_id="done")
    warm_up >> hold >> done
