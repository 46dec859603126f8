"""W1 for Airflow: 100 no-op PythonOperator tasks, each depending on the one before."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def _noop() -> None:
    return None


with DAG("bench_w1_chain", schedule=None) as dag:
    prev = None
    for i in range(100):
        t = PythonOperator(task_id=f"t{i}", python_callable=_noop)
        if prev is not None:
            prev >> t
        prev = t
