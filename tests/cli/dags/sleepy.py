"""A DAG that sleeps, for the tests that stop a ``partita run`` in the middle."""

import time

from partita import DAG, EmptyOperator, PythonOperator

with DAG("sleepy") as sleepy:
    warm_up = PythonOperator(task_id="warm_up", python_callable=lambda: time.sleep(0.5))
    nap = PythonOperator(task_id="nap", python_callable=lambda: time.sleep(120))
    after = EmptyOperator(task_id="after")
    warm_up >> nap >> after
