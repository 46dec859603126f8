"""DAGs for the crash-safety tests: a quick task before a long one, a bash grandchild."""

import os
import time

from partita import DAG, BashOperator, PythonOperator

with DAG("quick_then_long") as quick_then_long:
    quick = PythonOperator(task_id="quick", python_callable=lambda: None)
    nap = PythonOperator(task_id="nap", python_callable=lambda: time.sleep(120))
    quick >> nap

with DAG("bash_grandchild") as bash_grandchild:
    # bash starts `sleep` as its child (partita's grandchild) and writes its pid down.
    BashOperator(
        task_id="spawn",
        bash_command='sleep 1000 & echo $! > "$GRANDCHILD_PID_FILE"; wait',
        env={"GRANDCHILD_PID_FILE": os.environ.get("GRANDCHILD_PID_FILE", "/dev/null")},
        append_env=True,
    )
