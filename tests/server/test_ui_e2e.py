"""The web UI end to end: ``partita dev`` as a real process, driven in the system Chromium by
Playwright: log in, trigger runs from the launchpad and watch them finish live, a failed
task's log, a mapped task as ``name [N]`` and its instances, a task group opened and closed
in place, a running run's graph turning green without a reload, a launch from the run-config
editor of a job whose tasks take a Config, a viewer who cannot
trigger, a form without its CSRF token refused. Screenshots of the main pages go to
tests/artifacts/screenshots/."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import DAG_FILE

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
MAPPED_DAG = """

with DAG("fan_out", schedule=None, tags=["mapping"]) as fan_out:

    @task
    def double(x: int) -> int:
        print("doubling", x)
        return 2 * x

    @task
    def total(values: list[int]) -> int:
        return sum(values)

    total(double.expand(x=[1, 2, 3]))
"""
GROUPED_DAG = (Path(__file__).resolve().parent / "test_ui_graph_run.py").read_text()
GROUPED_DAG = GROUPED_DAG.split("GROUPED = '''", 1)[1].split("'''", 1)[0]
GATED_DAG = """

import time
from pathlib import Path as _Path

GATES = _Path({gates!r})


def _wait_for(name: str) -> None:
    for _ in range(1200):
        if (GATES / name).exists():
            return
        time.sleep(0.1)
    raise TimeoutError(name)


with DAG("gated", schedule=None) as gated:

    @task
    def first() -> None:
        _wait_for("first")

    @task
    def second() -> None:
        _wait_for("second")

    first() >> second()
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)"
    ),
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """``partita dev`` on a DAG folder: its URL, the admin's password, its environment."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "pipelines.py").write_text(DAG_FILE.read_text() + MAPPED_DAG)
    (dags / "grouped.py").write_text(GROUPED_DAG)
    shutil.copy(Path(__file__).resolve().parent / "config_dag.py", dags / "configured.py")
    (dags / "gated.py").write_text(
        "from partita import DAG, task\n" + GATED_DAG.format(gates=str(tmp_path / "gates"))
    )
    (tmp_path / "gates").mkdir()
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTITA_")}
    env.update(PARTITA_HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="200")
    command = [sys.executable, "-m", "partita.cli.main", "dev", "dags", "--port", "0",
               "--workers", "1"]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        banner = ""
        while not (match := re.search(r"web:\s+(http://127\.0\.0\.1:\d+)/", banner)):
            line = process.stdout.readline()
            if not line:
                pytest.fail(f"partita dev ended:\n{banner}\n{process.communicate()[1]}")
            banner += line
        password = (home / "admin-password").read_text().strip()
        yield match.group(1), password, env
    finally:
        process.kill()
        process.communicate()


def _log_in(page: object, url: str, username: str, password: str, landing: str = "/dags") -> None:
    """Open ``landing`` (which sends a stranger to the login form), log in, and land there."""
    page.goto(f"{url}{landing}")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{url}{landing}")  # type: ignore[attr-defined]


def _trigger_and_wait(page: object, url: str, dag_id: str, final: str) -> None:
    page.goto(f"{url}/dags/{dag_id}/trigger")  # type: ignore[attr-defined]
    page.click("#trigger")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r".*/runs/manual__.*"))  # type: ignore[attr-defined]
    # The page refreshes itself while the run goes on: the state changes live.
    page.wait_for_selector(f"#run-state.st-{final}", timeout=120_000)  # type: ignore[attr-defined]
    # The script reloads the page once the run ends: the finished page follows nothing.
    page.wait_for_selector("#graph-box:not([data-stream])", timeout=60_000)  # type: ignore[attr-defined]


def served_gates(env: dict[str, str]) -> Path:
    return Path(env["PARTITA_HOME"]).parent / "gates"


def _groups_open_in_place(page: object, url: str) -> None:
    """A task group is one node; a click opens it in place (no page load), then closes it."""
    _trigger_and_wait(page, url, "grouped", "success")
    page.goto(f"{url}/dags/grouped")  # type: ignore[attr-defined]
    page.evaluate("window.kept = 'same page'")  # type: ignore[attr-defined]
    assert page.locator("[data-node='prep.clean']").count() == 0  # type: ignore[attr-defined]
    page.screenshot(path=SHOTS / "dag-groups-closed.png", full_page=True)  # type: ignore[attr-defined]
    page.click("[data-node='prep']")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-node='prep.clean'] rect.st-success")  # type: ignore[attr-defined]
    assert page.locator("[data-node='prep.bad'] rect.st-failed").count() == 1  # type: ignore[attr-defined]
    assert "expand=prep" in page.url  # type: ignore[attr-defined]
    assert page.evaluate("window.kept") == "same page"  # type: ignore[attr-defined]
    page.screenshot(path=SHOTS / "dag-groups-open.png", full_page=True)  # type: ignore[attr-defined]
    page.click("a.group-toggle.open:has-text('prep')")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-node='prep'] rect.st-failed")  # type: ignore[attr-defined]
    assert page.evaluate("window.kept") == "same page"  # type: ignore[attr-defined]


def _the_live_graph_turns_green(page: object, url: str, gates: Path) -> None:
    """A running run's graph recolours itself over server-sent events, without a reload."""
    page.goto(f"{url}/dags/gated/trigger")  # type: ignore[attr-defined]
    page.click("#trigger")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r".*/runs/manual__.*"))  # type: ignore[attr-defined]
    page.wait_for_selector("[data-node='first'] rect.st-running", timeout=120_000)  # type: ignore[attr-defined]
    page.evaluate("window.kept = 'same page'")  # type: ignore[attr-defined]
    (gates / "first").touch()
    page.wait_for_selector("[data-node='first'] rect.st-success", timeout=120_000)  # type: ignore[attr-defined]
    page.wait_for_selector("[data-node='second'] rect.st-running", timeout=120_000)  # type: ignore[attr-defined]
    assert page.evaluate("window.kept") == "same page"  # type: ignore[attr-defined]
    assert page.inner_text("#run-state") == "running"  # type: ignore[attr-defined]
    square = "tr[data-task='first'] td.state .sq.st-success"
    assert page.locator(square).count() == 1  # type: ignore[attr-defined]
    page.screenshot(path=SHOTS / "run-live.png", full_page=True)  # type: ignore[attr-defined]
    (gates / "second").touch()
    page.wait_for_selector("#run-state.st-success", timeout=120_000)  # type: ignore[attr-defined]
    page.wait_for_selector("#graph-box:not([data-stream])", timeout=60_000)  # type: ignore[attr-defined]


def _launch_from_config(page: object, url: str) -> None:
    """The launchpad of a Config job: the browser refuses a broken editor and a missing
    required field, the script copies the fields into the run config, the run uses it."""
    p: Any = page
    p.goto(f"{url}/dags/configured/trigger")
    editor = "textarea[name=run_config]"
    assert json.loads(p.input_value(editor))["tasks"]["greet"]["config"]["times"] == 2
    p.screenshot(path=SHOTS / "launchpad-config.png", full_page=True)
    scaffold = p.input_value(editor)
    p.fill(editor, '{"tasks": ')
    p.fill("input[name='config.greet.word']", "hello")
    p.click("#trigger")  # refused in the browser: the run config does not parse
    assert p.url.endswith("/dags/configured/trigger")
    assert "not valid JSON" in p.eval_on_selector(editor, "e => e.validationMessage")
    p.fill(editor, scaffold)
    p.fill("input[name='config.greet.word']", "")
    p.click("#trigger")  # refused in the browser: the required field is empty
    assert p.eval_on_selector("input[name='config.greet.word']", "e => e.validity.valueMissing")
    p.fill("input[name='config.greet.word']", "hello")
    p.press("input[name='config.greet.word']", "Tab")
    p.fill("input[name='config.greet.times']", "3")
    p.press("input[name='config.greet.times']", "Tab")
    p.select_option("select[name='config.greet.tone']", "dry")
    written = json.loads(p.input_value(editor))["tasks"]["greet"]["config"]
    assert written == {"word": "hello", "times": 3, "loud": False, "tone": "dry"}
    p.click("#trigger")
    p.wait_for_url(re.compile(r".*/runs/manual__.*"))
    p.wait_for_selector("#run-state.st-success", timeout=120_000)
    p.wait_for_selector("#graph-box:not([data-stream])", timeout=60_000)
    p.click("tr:has(td.task-name:text-is('greet')) a:text('log')")
    p.wait_for_selector("#log-lines")
    assert "hello hello hello dry" in p.inner_text("main")


def test_the_ui_in_chromium(served: tuple[str, str, dict[str, str]]) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    url, password, env = served
    subprocess.run(
        [sys.executable, "-m", "partita.cli.main", "users", "create", "--username", "vera",
         "--role", "viewer", "--password-stdin"],
        input="viewer password 1\n", env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if "Refused" in m.text else None)
        page.goto(f"{url}/")
        page.wait_for_url(re.compile(r".*/login\?next=.*"))
        page.screenshot(path=SHOTS / "login.png")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
        assert "wrong username or password" in page.inner_text(".error")
        _log_in(page, url, "admin", password)
        page.screenshot(path=SHOTS / "dags.png", full_page=True)
        page.goto(f"{url}/dags/etl/trigger")
        assert page.input_value("input[name='param.n']") == "3"
        page.screenshot(path=SHOTS / "launchpad.png")
        page.fill("input[name='param.n']", "0")
        page.click("#trigger")  # the browser refuses the field (min 1) before sending
        assert page.url.endswith("/dags/etl/trigger")
        assert page.eval_on_selector("input[name='param.n']", "e => !e.validity.valid")
        page.fill("input[name='param.n']", "5")
        page.click("#trigger")
        page.wait_for_url(re.compile(r".*/runs/manual__.*"))
        page.wait_for_selector("#run-state.st-success", timeout=120_000)
        page.wait_for_selector("#graph-box:not([data-stream])", timeout=60_000)
        page.screenshot(path=SHOTS / "run.png", full_page=True)

        _trigger_and_wait(page, url, "broken", "failed")
        page.click("tr:has(td.task-name:text-is('fail')) a:text('log')")
        page.wait_for_selector("#log-lines")
        assert "ValueError: the source is down" in page.inner_text("main")
        page.screenshot(path=SHOTS / "failed-log.png", full_page=True)

        _trigger_and_wait(page, url, "fan_out", "success")
        assert {"double [3]", "total"} <= set(page.locator("td.task-name").all_inner_texts())
        page.click("td.task-name a:text('double [3]')")  # the mapped task's instances
        page.wait_for_selector("#instances")
        names = page.locator("table.instances td.task-name").all_inner_texts()
        assert names == ["double [0]", "double [1]", "double [2]"]
        page.screenshot(path=SHOTS / "run-mapped.png", full_page=True)
        page.goto(f"{url}/dags/fan_out")
        assert "double [3]" in page.locator("table.runs-grid td.task-name").all_inner_texts()
        page.screenshot(path=SHOTS / "dag.png", full_page=True)
        page.goto(f"{url}/dags/broken")
        page.screenshot(path=SHOTS / "dag-broken.png", full_page=True)
        page.goto(f"{url}/")
        page.screenshot(path=SHOTS / "home.png")
        _groups_open_in_place(page, url)
        _the_live_graph_turns_green(page, url, served_gates(env))
        _launch_from_config(page, url)
        assert errors == []  # no script error, nothing the CSP refused

        viewer = browser.new_context().new_page()
        _log_in(viewer, url, "vera", "viewer password 1")
        assert viewer.locator("a:text('Trigger')").count() == 0
        assert viewer.locator("form[action$='/pause']").count() == 0
        viewer.goto(f"{url}/dags/etl/trigger")
        assert "needs operator" in viewer.inner_text("main")
        refused = page.request.post(f"{url}/dags/etl/pause", form={"paused": "true"})
        assert refused.status == 403 and "CSRF" in refused.text()
        browser.close()
