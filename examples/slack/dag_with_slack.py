"""Seed 002's Slack alert: a DAG whose failures post a message to a Slack channel.

The task always fails; the DAG's ``on_failure_callback`` (a ``SlackNotifier``,
in ``utils/slack_notifier.py``) posts one message per failed run naming the
DAG, the task and the run. Add the ``slack_webhook`` connection first (see
``utils/slack_notifier.py``), then ``partita run examples/slack dag_with_slack``.
"""

from datetime import datetime

from utils.slack_notifier import task_fail_slack_alert

from partita import DAG, FailTask, PythonOperator

default_args = {
    "owner": "choonb",
    "depends_on_past": False,
    "start_date": datetime(2024, 1, 1),
    "end_date": datetime(2025, 1, 1),
}


def _handle_job_error() -> None:
    raise FailTask("Raise Exception.")


with DAG(
    dag_id="dag_with_slack",
    default_args=default_args,
    schedule="0 12 * * * ",  # UTC: 21:00 in Korea
    tags=["slack"],
    catchup=True,
    on_failure_callback=task_fail_slack_alert,
) as dag:
    send_slack_notification = PythonOperator(
        task_id="raise_exception_and_send_slack_notification",
        python_callable=_handle_job_error,
    )

    send_slack_notification  # noqa: B018 -- kept as the article writes it (a DAG of one task)
