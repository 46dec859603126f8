"""Notifiers as task and DAG callbacks, against a real local HTTP server; seed 002's Slack DAG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from local_servers import HttpRecorder
from partita import (
    DAG,
    BaseNotifier,
    FailTask,
    PartitaError,
    PythonOperator,
    RunState,
    SlackNotifier,
    TaskState,
    WebhookNotifier,
)
from partita.loader import load_dags
from partita.storage.memory import MemoryStorage
from partita.storage.records import EventKind

REPO = Path(__file__).resolve().parents[2]
SLACK_EXAMPLE = REPO / "examples" / "slack"
TOKEN = "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


@pytest.fixture
def slack(http_recorder: HttpRecorder, monkeypatch: pytest.MonkeyPatch) -> HttpRecorder:
    """Connection ``slack_webhook`` as seed 002 sets it up, pointing at the local server."""
    conn = {"conn_type": "http", "host": f"{http_recorder.url}/services/", "password": TOKEN}
    monkeypatch.setenv("PARTITA_CONN_SLACK_WEBHOOK", json.dumps(conn))
    monkeypatch.setenv("PARTITA_BASE_URL", "https://partita.example.com/")
    return http_recorder


def _fail() -> None:
    raise FailTask("Raise Exception.")


def test_slack_notifier_posts_the_rendered_text_to_the_webhook(slack: HttpRecorder) -> None:
    notifier = SlackNotifier(
        slack_conn_id="slack_webhook", channel="#alerts",
        text="{{ dag.dag_id }}/{{ ti.task_id }} in {{ run_id }}: {{ exception }} <{{ run_url }}>",
    )  # fmt: skip
    with DAG(dag_id="slacky", schedule=None) as dag:
        PythonOperator(task_id="boom", python_callable=_fail, on_failure_callback=notifier)
    result = dag.test(verbose=False)
    (request,) = slack.requests
    assert request.path == f"/services/{TOKEN}"
    body = request.json()
    assert body["channel"] == "#alerts"
    assert body["text"] == (
        f"slacky/boom in {result.run_id}: Raise Exception. "
        f"<https://partita.example.com/dags/slacky/runs/{result.run_id}>"
    )


def test_a_list_of_notifiers_on_success_retry_and_failure(slack: HttpRecorder) -> None:
    hook = WebhookNotifier(url=f"{slack.url}/hook", payload={"event": "{{ ti.task_id }} ok"})
    retry = WebhookNotifier(conn_id="slack_webhook", endpoint="retry")
    with DAG(dag_id="many", schedule=None) as dag:
        PythonOperator(task_id="fine", python_callable=lambda: 1, on_success_callback=[hook, hook])
        PythonOperator(
            task_id="flaky", python_callable=_flaky, retries=1, retry_delay=0,
            on_retry_callback=[retry],
        )  # fmt: skip
    assert dag.test(verbose=False).state is RunState.SUCCESS
    posted = sorted((r.path, json.dumps(r.json(), sort_keys=True)) for r in slack.requests)
    assert posted[0] == ("/hook", '{"event": "fine ok"}')
    assert posted[1] == ("/hook", '{"event": "fine ok"}')
    path, payload = posted[2]
    assert path == "/services/retry"
    default = json.loads(payload)
    assert default["dag_id"] == "many" and default["task_id"] == "flaky"
    assert "first try fails" in default["exception"]


_FLAKY_TRIES: list[int] = []


def _flaky() -> int:
    _FLAKY_TRIES.append(1)
    if len(_FLAKY_TRIES) % 2 == 1:
        raise ValueError("first try fails")
    return 1


def test_a_failing_notifier_is_retried_logged_and_changes_no_state(slack: HttpRecorder) -> None:
    slack.statuses = [500, 500, 500, 500]
    task_alert = SlackNotifier(slack_conn_id="slack_webhook", text="x", retry_delay=0.01)
    dag_alert = SlackNotifier(slack_conn_id="slack_webhook", text="y", retries=0)
    with DAG(dag_id="flaky_alerts", schedule=None, on_success_callback=dag_alert) as dag:
        PythonOperator(task_id="ok", python_callable=lambda: 1, on_success_callback=task_alert)
    storage = MemoryStorage()
    result = dag.test(verbose=False, storage=storage)
    assert result.state is RunState.SUCCESS
    assert result.task_states == {"ok": TaskState.SUCCESS}
    assert len(slack.requests) == 4  # the task's notifier: 3 tries; the DAG's: 1
    log = result.logs("ok")
    assert "SlackNotifier failed after 3 tries" in log and "HTTP 500" in log
    assert TOKEN not in log  # the webhook's token is the connection's password: masked
    errors = storage.events.read_events(result.run_id, kinds=[EventKind.CALLBACK_ERROR])
    assert errors and "SlackNotifier failed after 1 tries" in str(errors[0].payload)


def test_base_notifier_needs_notify_and_checks_its_arguments() -> None:
    class Counter(BaseNotifier):
        template_fields = ("message",)

        def __init__(self, message: str) -> None:
            super().__init__(retries=0)
            self.message = message
            self.seen: list[str] = []

        def notify(self, context: object) -> None:
            self.seen.append(self.message)

    counter = Counter("{{ dag.dag_id }}:{{ ti.task_id }}")
    with DAG(dag_id="counted", schedule=None, on_success_callback=counter) as dag:
        PythonOperator(task_id="t", python_callable=lambda: 1, on_success_callback=counter)
    dag.test(verbose=False)
    assert counter.seen == ["counted:t", "counted:t"]  # the task's, then the DAG's
    assert counter.message == "{{ dag.dag_id }}:{{ ti.task_id }}"  # rendered on a copy
    with pytest.raises(PartitaError, match="exactly one of url="):
        WebhookNotifier()
    with pytest.raises(PartitaError, match="retries must be an integer"):
        SlackNotifier(retries=-1)


def _seed_dag() -> DAG:
    loaded = load_dags(SLACK_EXAMPLE)
    assert not loaded.errors
    return loaded.dags["dag_with_slack"]


def test_seed_002_dag_with_slack_posts_one_message_per_failed_run(slack: HttpRecorder) -> None:
    dag = _seed_dag()
    runs = [
        dag.test(logical_date=datetime(2024, 3, day, 12, tzinfo=UTC), verbose=False)
        for day in (1, 2)
    ]
    assert [run.state for run in runs] == [RunState.FAILED, RunState.FAILED]
    assert len(slack.requests) == 2
    for run, request in zip(runs, slack.requests, strict=True):
        text = request.json()["text"]
        assert "*DAG*: dag_with_slack" in text
        assert "*Task*: raise_exception_and_send_slack_notification" in text
        assert f"*Run*: {run.run_id}" in text and "Raise Exception." in text
        assert f"https://partita.example.com/dags/dag_with_slack/runs/{run.run_id}" in text


@pytest.mark.slow
def test_seed_002_through_partita_run_in_a_subprocess(slack: HttpRecorder, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTITA_DATABASE")}
    env["PARTITA_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-m", "partita.cli.main", "run", str(SLACK_EXAMPLE), "dag_with_slack",
         "--logical-date", "2024-06-01T12:00:00", "--workers", "1"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    (request,) = slack.requests
    text = request.json()["text"]
    assert "dag_with_slack" in text and "raise_exception_and_send_slack_notification" in text
    assert "2024-06-01" in text
