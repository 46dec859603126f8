"""The launchpad of a DAG whose tasks take a ``Config``: the run-config scaffold with defaults
and required fields, one generated field per config field, refusals naming the task and the
field, and a run queued with the run config (SQLite and PostgreSQL)."""

from __future__ import annotations

import html
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from server_helpers import ApiWorld
from test_ui_pages import log_in

from partita.storage.dag_records import DagParse, ParsedDag

CONFIG_DAG = Path(__file__).resolve().parent / "config_dag.py"


def _serve_config_dag(world: ApiWorld) -> None:
    path = world.dag_file.parent / "configured.py"
    shutil.copy(CONFIG_DAG, path)
    parsed = [ParsedDag("configured", str(path)), ParsedDag("greeting_job", str(path))]
    parse = DagParse(str(path), parsed, {}, datetime.now(UTC))
    world.storage.registry.record_parse(parse)


def _editor(page: str) -> dict[str, object]:
    match = re.search(r'<textarea name="run_config"[^>]*>(.*?)</textarea>', page, re.S)
    assert match is not None, "no run-config editor in the page"
    return json.loads(html.unescape(match.group(1)))


def test_the_scaffold_has_every_task_config_with_defaults_and_required_fields(
    world: ApiWorld,
) -> None:
    _serve_config_dag(world)
    client = world.client(None)
    log_in(client, "operator")
    page = client.get("/dags/configured/trigger").text
    assert _editor(page) == {"tasks": {
        "greet": {"config": {"word": None, "times": 2, "loud": False, "tone": "warm"}},
        "sign": {"config": {"name": "partita"}},
    }}  # fmt: skip
    assert re.search(r'<input type="text" name="config.greet.word" value=""\s+required', page)
    assert "greet.word <em>(required)</em>" in page and "what to say" in page
    assert re.search(
        r'name="config.greet.times" value="2" step="1"\s+min="1" max="5"', page
    )  # the pydantic bounds become the browser's
    assert re.search(r'<select name="config.greet.tone"[^>]*><option value="warm" selected', page)
    assert 'name="param.who" value="world"' in page  # params and Config together
    assert "No run config" not in client.get("/dags/etl/trigger").text
    assert 'name="run_config"' not in client.get("/dags/etl/trigger").text  # no Config tasks


def test_a_bad_config_value_is_refused_naming_the_task_and_the_field(world: ApiWorld) -> None:
    _serve_config_dag(world)
    client = world.client(None)
    csrf = log_in(client, "operator")
    scaffold = json.dumps(_editor(client.get("/dags/configured/trigger").text))
    before = world.storage.runs.count_runs("configured")
    missing = client.post("/dags/configured/trigger", data={
        "csrf_token": csrf, "param.who": "you", "run_config": scaffold})  # fmt: skip
    assert missing.status_code == 422
    text = html.unescape(missing.text)
    assert "task 'greet'" in text and "field 'word'" in text  # resolve_run_config's message
    assert re.search(r'name="config.greet.word".*?<small class="error">', missing.text, re.S)
    high = client.post("/dags/configured/trigger", data={
        "csrf_token": csrf, "run_config": scaffold, "config.greet.word": "hi",
        "config.greet.times": "9"})  # fmt: skip
    assert high.status_code == 422
    assert "field 'times'" in html.unescape(high.text) and "less than or equal to 5" in high.text
    broken = client.post("/dags/configured/trigger", data={
        "csrf_token": csrf, "run_config": "{tasks: nope", "config.greet.word": "hi"})  # fmt: skip
    assert broken.status_code == 422 and "not valid JSON" in broken.text
    unknown = client.post("/dags/configured/trigger", data={
        "csrf_token": csrf, "run_config": '{"tasks": {"gret": {"config": {}}}}',
        "config.greet.word": "hi"})  # fmt: skip
    assert unknown.status_code == 422 and "gret" in html.unescape(unknown.text)
    forged = client.post("/dags/configured/trigger", data={"run_config": scaffold})
    assert forged.status_code == 403
    assert world.storage.runs.count_runs("configured") == before


def test_a_good_submit_queues_a_run_whose_conf_holds_the_run_config(world: ApiWorld) -> None:
    _serve_config_dag(world)
    client = world.client(None)
    csrf = log_in(client, "operator")
    editor = '{"tasks": {"greet": {"config": {"word": "x", "loud": true}}, "sign": {}}}'
    done = client.post("/dags/configured/trigger", data={
        "csrf_token": csrf, "param.who": "you", "run_config": editor,
        "config.greet.word": "hello", "config.greet.times": "3", "config.greet.loud": "false",
        "config.greet.tone": "dry", "config.sign.name": ""}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303, done.text
    run_id = done.headers["location"].removeprefix("/runs/")
    assert world.storage.runs.get_run(run_id).conf == {
        "who": "you",
        "tasks": {"greet": {"config": {"word": "hello", "times": 3, "loud": False,
                                       "tone": "dry"}},
                  "sign": {}},  # an empty field leaves the editor's value (the default)
    }  # fmt: skip


def test_a_config_mapping_job_gets_the_editor_with_its_own_fields(world: ApiWorld) -> None:
    _serve_config_dag(world)
    client = world.client(None)
    csrf = log_in(client, "operator")
    page = client.get("/dags/greeting_job/trigger").text
    assert _editor(page) == {"greeting_word": None, "punctuation": "!"}
    refused = client.post("/dags/greeting_job/trigger", data={
        "csrf_token": csrf, "run_config": '{"punctuation": "?"}'})  # fmt: skip
    assert refused.status_code == 422 and "field 'greeting_word'" in html.unescape(refused.text)
    good = {"csrf_token": csrf, "run_config": '{"greeting_word": "hi"}'}
    done = client.post("/dags/greeting_job/trigger", data=good, follow_redirects=False)
    assert done.status_code == 303, done.text
    run_id = done.headers["location"].removeprefix("/runs/")
    assert world.storage.runs.get_run(run_id).conf == {"greeting_word": "hi"}
