"""A first DAG in the classic Airflow style: hello, the date from bash, world.

Run it with ``partita run examples/dags example_dag``; ``partita logs RUN_ID
print_date`` then shows what ``date`` printed.
"""

from datetime import datetime

from partita import DAG, BashOperator, PythonOperator


def print_hello() -> str:
    return "Hello"


def print_world() -> str:
    return "World"


# A DAG defined with the `with` statement: its id, tags, when it starts and how often it runs.
with DAG(
    dag_id="example_dag",  # the DAG's identifier
    description="Hello, the date, and world",
    schedule="0 * * * *",  # every hour, on the hour
    start_date=datetime(2025, 1, 1),
    depends_on_past=False,  # a run does not wait for the previous run's tasks
    catchup=False,  # do not run the intervals missed since start_date
    tags=["example"],  # for searching
) as dag:
    # Tasks are operator instances; each operator takes its own arguments.
    task1 = PythonOperator(
        task_id="print_hello",
        python_callable=print_hello,
    )
    task2 = BashOperator(
        task_id="print_date",
        bash_command="date",
        retries=3,  # retried up to three times when it fails
    )
    task3 = PythonOperator(
        task_id="print_world",
        python_callable=print_world,
    )

    # The order of the tasks.
    task1 >> task2 >> task3
