"""W2 for Airflow: a root, 500 independent no-op PythonOperator tasks, and a join."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def _noop() -> None:
    return None


with DAG("bench_w2_fan", schedule=None) as dag:
    root = EmptyOperator(task_id="root")
    join = EmptyOperator(task_id="join")
    for i in range(500):
        root >> PythonOperator(task_id=f"t{i}", python_callable=_noop) >> join
