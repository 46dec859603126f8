"""The web UI's pages through the app (TestClient): login, layout, home, DAG list, run page,
DAG page, launchpad; roles and CSRF enforced by the pages themselves. The pages that read
the stores run on SQLite and PostgreSQL (``world``), the others on SQLite."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from server_helpers import PASSWORD, ApiWorld

from partita.storage.auth import Role


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match is not None, f"no field {name} in the page"
    return match.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; the session's CSRF token (from the next page)."""
    client.headers.pop("Authorization", None)
    form = client.get("/login")
    assert form.status_code == 200
    answer = client.post(
        "/login",
        data={"csrf_token": _field(form.text, "csrf_token"), "username": username,
              "password": password, "next": "/dags"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/dags"
    return _field(client.get("/dags").text, "csrf_token")


def test_a_page_without_a_session_goes_to_the_login_page(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    answer = client.get("/dags?tag=team-a", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fdags%3Ftag%3Dteam-a"
    login = client.get("/login?next=/dags")
    assert 'name="password"' in login.text
    assert "script-src 'self'" in login.headers["content-security-policy"]
    assert "<script>" not in login.text  # no inline script


def test_login_logout_and_the_layout(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    csrf = log_in(client, "operator")
    home = client.get("/")
    assert home.status_code == 200
    assert 'class="user">operator<' in home.text and "role-operator" in home.text
    assert 'href="/dags"' in home.text
    refused = client.post("/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_bad_password_and_the_rate_limit_are_shown_on_the_form(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    for _ in range(sqlite_world.config.login_attempts):
        form = client.get("/login")
        answer = client.post(
            "/login",
            data={"csrf_token": _field(form.text, "csrf_token"), "username": "viewer",
                  "password": "wrong"},
        )  # fmt: skip
        assert answer.status_code == 401
        assert "wrong username or password" in answer.text
        assert 'value="viewer"' in answer.text  # the username stays filled in
    form = client.get("/login")
    blocked = client.post(
        "/login",
        data={"csrf_token": _field(form.text, "csrf_token"), "username": "viewer",
              "password": PASSWORD},
    )  # fmt: skip
    assert blocked.status_code == 429 and "too many failed logins" in blocked.text


def test_the_login_form_needs_its_csrf_token(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    client.get("/login")
    answer = client.post("/login", data={"username": "viewer", "password": PASSWORD})
    assert answer.status_code == 403 and "the form expired" in answer.text
    assert "partita_session" not in answer.cookies


def test_home_counts_failed_runs_and_shows_the_scheduler_health(world: ApiWorld) -> None:
    client = world.client(None)
    log_in(client, "viewer")
    home = client.get("/").text
    assert re.search(r'id="failed">1<', home)  # the broken DAG's run
    assert "No scheduler alive" in home and "no heartbeat ever" in home
    assert world.broken_run in home


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
def test_the_dag_list_search_tags_and_last_runs(sqlite_world: ApiWorld, role: Role) -> None:
    client = sqlite_world.client(None)
    log_in(client, role.value)
    page = client.get("/dags").text
    assert 'data-dag="etl"' in page and 'data-dag="broken"' in page
    assert f'href="/runs/{sqlite_world.broken_run}"' in page and "sq st-failed" in page
    assert 'data-dag="broken"' not in client.get("/dags?q=et").text
    assert 'data-dag="etl"' not in client.get("/dags?tag=team-b").text
    assert ("/pause" in page) is (role is Role.OPERATOR)  # viewers get no toggle


def test_pause_toggle_needs_operator_and_csrf(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    csrf = log_in(client, "viewer")
    refused = client.post("/dags/etl/pause", data={"csrf_token": csrf, "paused": "true"})
    assert refused.status_code == 403 and "needs operator" in refused.text
    csrf = log_in(client, "operator")
    forged = client.post("/dags/etl/pause", data={"csrf_token": "x", "paused": "true"})
    assert forged.status_code == 403
    assert not sqlite_world.storage.registry.get_dag("etl").is_paused  # type: ignore[union-attr]
    done = client.post(
        "/dags/etl/pause", data={"csrf_token": csrf, "paused": "true", "back": "/dags?q=etl"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/dags?q=etl"
    assert sqlite_world.storage.registry.get_dag("etl").is_paused  # type: ignore[union-attr]
    assert client.post("/dags/nope/pause", data={"csrf_token": csrf}).status_code == 404


def test_the_run_page_gantt_and_a_failed_tasks_log(world: ApiWorld) -> None:
    client = world.client(None)
    log_in(client, "viewer")
    run = world.broken_run
    page = client.get(f"/runs/{run}").text
    assert 'class="gantt"' in page and "<rect" in page
    assert "fail" in page and "upstream_failed" in page
    assert "Retry failed tasks" not in page  # a viewer sees no buttons
    log = client.get(f"/runs/{run}", params={"task": "fail"}).text
    assert "ValueError: the source is down" in log
    assert "Traceback" in log
    assert "data-stream" not in log  # a finished try is not followed
    assert client.get("/runs/nope").status_code == 404
    assert client.get(f"/runs/{run}", params={"task": "nope"}).status_code == 404


def test_run_controls_need_operator_and_csrf(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    run = sqlite_world.broken_run
    csrf = log_in(client, "viewer")
    viewer = client.post(f"/runs/{run}/control", data={"csrf_token": csrf, "action": "retry"})
    assert viewer.status_code == 403
    csrf = log_in(client, "operator")
    assert client.post(f"/runs/{run}/control", data={"action": "retry"}).status_code == 403
    page = client.get(f"/runs/{run}").text
    assert "Retry failed tasks" in page and "Mark success" in page
    done = client.post(
        f"/runs/{run}/control", data={"csrf_token": csrf, "action": "retry"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    assert sqlite_world.storage.runs.get_run(run).state == "queued"
    again = client.post(f"/runs/{run}/control", data={"csrf_token": csrf, "action": "retry"})
    assert again.status_code == 409 and "already queued" in again.text


def test_the_launchpad_form_comes_from_the_params_and_triggers(world: ApiWorld) -> None:
    client = world.client(None)
    csrf = log_in(client, "operator")
    assert 'href="/dags/etl/trigger"' in client.get("/dags").text
    form = client.get("/dags/etl/trigger").text
    assert re.search(r'<input type="number" name="param.n" value="3" step="1"\s+min="1"', form)
    bad = client.post("/dags/etl/trigger", data={"csrf_token": csrf, "param.n": "three"})
    assert bad.status_code == 422 and "integer expected" in bad.text
    low = client.post("/dags/etl/trigger", data={"csrf_token": csrf, "param.n": "0"})
    assert low.status_code == 422 and "minimum" in low.text  # the API's own check
    assert client.post("/dags/etl/trigger", data={"param.n": "4"}).status_code == 403
    before = world.storage.runs.count_runs("etl")
    done = client.post(
        "/dags/etl/trigger", data={"csrf_token": csrf, "param.n": "4"}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/runs/manual__")
    assert world.storage.runs.count_runs("etl") == before + 1
    run_id = done.headers["location"].removeprefix("/runs/")
    assert world.storage.runs.get_run(run_id).conf == {"n": 4}


def test_a_viewer_cannot_open_or_post_the_launchpad(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    csrf = log_in(client, "viewer")
    assert "/trigger" not in client.get("/dags").text
    assert client.get("/dags/etl/trigger").status_code == 403
    answer = client.post("/dags/etl/trigger", data={"csrf_token": csrf, "param.n": "4"})
    assert answer.status_code == 403 and "needs operator" in answer.text
    assert client.get("/dags/nope/trigger").status_code == 403  # the role is checked first


def test_the_dag_page_graph_grid_history_and_code(world: ApiWorld) -> None:
    client = world.client(None)
    log_in(client, "viewer")
    page = client.get("/dags/broken").text
    assert 'class="graph"' in page
    assert re.search(r'data-node="fail"><rect class="st-failed"', page)
    assert re.search(r'data-node="after"><rect class="st-upstream_failed"', page)
    assert '<td class="task-name">fail</td>' in page
    assert f'href="/runs/{world.broken_run}"' in page
    assert "raise ValueError(&#34;the source is down&#34;)" in page  # the code, escaped
    assert "/trigger" not in page  # a viewer
    assert client.get("/dags/nope").status_code == 404


def test_layers_put_a_task_right_of_its_furthest_upstream() -> None:
    from partita.server.ui.svg import layers

    upstream = {"a": [], "b": ["a"], "c": ["b"], "d": ["a", "c"], "e": []}
    assert layers(upstream) == [["a", "e"], ["b"], ["c"], ["d"]]


def test_a_mapped_cell_shows_the_state_that_needs_attention() -> None:
    from partita.definitions.states import TaskState
    from partita.server.ui.dag_page import cell_state
    from partita.storage.records import TaskInstanceRecord

    def ti(i: int, state: TaskState) -> TaskInstanceRecord:
        return TaskInstanceRecord("r", "t", map_index=i, state=state)

    assert cell_state([ti(0, TaskState.SUCCESS), ti(1, TaskState.FAILED)]) == "failed"
    assert cell_state([ti(0, TaskState.SUCCESS), ti(1, TaskState.SUCCESS)]) == "success"
    assert cell_state([]) == "none"


def test_a_running_try_is_followed_from_the_last_line_shown(sqlite_world: ApiWorld) -> None:
    from datetime import UTC, datetime

    from partita.definitions.states import TaskState
    from partita.storage.records import LogLineRecord, TaskInstanceRecord, WriteBatch

    storage, run_id, now = sqlite_world.storage, sqlite_world.etl_run, datetime.now(UTC)

    def line(seq: int) -> LogLineRecord:
        return LogLineRecord(run_id, "extract", -1, 2, seq, now, "INFO", f"live {seq}")

    running = TaskInstanceRecord(run_id, "extract", -1, 2, 2, TaskState.RUNNING)
    storage.write(WriteBatch(task_instances=[running], log_lines=[line(0)]))
    client = sqlite_world.client(None)
    log_in(client, "viewer")
    page = client.get(f"/runs/{run_id}", params={"task": "extract"}).text
    match = re.search(r'data-stream="([^"]+)"', page)
    assert match is not None and "live 0" in page
    stream = match.group(1).replace("&amp;", "&")
    assert stream.endswith("map_index=-1&try_number=2&offset=1")
    done = running.finished(TaskState.SUCCESS, now, now, 0.1, "host")
    storage.write(WriteBatch(task_instances=[done], log_lines=[line(1)]))
    events = client.get(stream).text  # with the session cookie, as the page's script
    assert "live 1" in events and "live 0" not in events and "event: end" in events


def test_the_dag_list_is_paged(sqlite_world: ApiWorld) -> None:
    from datetime import UTC, datetime

    from partita.storage.dag_records import DagParse, ParsedDag

    many = [ParsedDag(f"bulk_{i:02d}", "/elsewhere/bulk.py") for i in range(30)]
    sqlite_world.storage.registry.record_parse(DagParse("/elsewhere", many, {}, datetime.now(UTC)))
    client = sqlite_world.client(None)
    log_in(client, "viewer")
    first = client.get("/dags").text
    assert "Page 1 of 2" in first and 'data-dag="bulk_23"' in first
    assert 'data-dag="bulk_24"' not in first and "page=2" in first
    second = client.get("/dags", params={"page": 2}).text
    assert 'data-dag="bulk_24"' in second and 'data-dag="etl"' in second
    assert "Page 1 of 1" in client.get("/dags", params={"q": "bulk_2*"}).text
