"""The Slack alert of seed 002, as a partita notifier.

It posts to the incoming webhook of the HTTP connection ``slack_webhook``:
host ``https://hooks.slack.com/services/``, and the whole
``T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX`` token as its password::

    partita connections add slack_webhook --conn-type http \\
        --host https://hooks.slack.com/services/ --password T00000000/B00000000/XXXX
"""

from partita import SlackNotifier

task_fail_slack_alert = SlackNotifier(
    slack_conn_id="slack_webhook",
    text=(
        ":red_circle: Task failed.\n"
        "*DAG*: {{ dag.dag_id }}\n"
        "*Task*: {{ ti.task_id }}\n"
        "*Run*: {{ run_id }} (logical date {{ ds }})\n"
        "*Error*: {{ exception }}\n"
        "*Log*: {{ run_url }}"
    ),
)
