"""W5a for Airflow: 10,000 independent no-op PythonOperator tasks."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def _noop() -> None:
    return None


with DAG("bench_w5a_independent", schedule=None) as dag:
    for i in range(10_000):
        PythonOperator(task_id=f"t{i}", python_callable=_noop)
