"""The asset, sensor and backfill pages end to end: ``partita webserver`` as a real process
on a populated database (``asset_world``), driven in the system Chromium by Playwright:
the asset catalog with its lineage graph, an asset page with its partition strip, a sensor
page with its ticks, an operator who stops the sensor and a viewer who cannot. Screenshots
go to tests/artifacts/screenshots/ (those of docs/ui.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from asset_world import CODE, populate
from test_ui_e2e import CHROMIUM, _log_in

from partita.settings import load_settings
from partita.storage.factory import open_storage

SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
VIEWER_PASSWORD = "viewer password 1"
ADMIN_PASSWORD = "admin password 1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)"
    ),
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """``partita webserver`` on a populated home: its URL, the admin's password, a backfill."""
    home = tmp_path / "home"
    code = home / "code" / "assets_code.py"
    code.parent.mkdir(parents=True)
    code.write_text(CODE.read_text())
    (home / "partita.yaml").write_text(f"code_locations:\n  - {code}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTITA_")}
    env.update(PARTITA_HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="200")
    storage = open_storage(load_settings(env={"PARTITA_HOME": str(home)}, cwd=home))
    try:
        backfill_id = populate(storage, code)
    finally:
        storage.close()
    for username, role, secret in (("boss", "admin", ADMIN_PASSWORD),
                                   ("vera", "viewer", VIEWER_PASSWORD)):  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "partita.cli.main", "users", "create", "--username", username,
             "--role", role, "--password-stdin"],
            input=secret + "\n", env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
    command = [sys.executable, "-m", "partita.cli.main", "webserver", "--port", "0"]
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        banner = ""
        while not (match := re.search(r"UI:\s+(http://127\.0\.0\.1:\d+)/", banner)):
            line = process.stdout.readline()
            if not line:
                pytest.fail(f"partita webserver ended:\n{banner}\n{process.communicate()[1]}")
            banner += line
        yield match.group(1), ADMIN_PASSWORD, backfill_id
    finally:
        process.kill()
        process.communicate()


def test_the_asset_and_sensor_pages_in_chromium(served: tuple[str, str, str]) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    url, password, backfill_id = served
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
        _log_in(page, url, "boss", password, landing="/assets")
        # the catalog, its lineage graph, and a click on a node of the graph
        assert page.locator("a.asset-key").all_inner_texts() == [
            "daily_events", "orders", "raw_orders"
        ]  # fmt: skip
        assert page.locator("#lineage svg a.node").count() == 3
        page.screenshot(path=SHOTS / "assets.png", full_page=True)
        page.click("#lineage a.node[data-asset='raw_orders']")
        page.wait_for_url(f"{url}/assets/raw_orders")
        assert page.locator("figure.metadata[data-metadata='row_count'] circle").count() == 4
        page.screenshot(path=SHOTS / "asset.png", full_page=True)
        # a partitioned asset: its strip has a cell per day, one failed
        page.goto(f"{url}/assets/daily_events")
        assert page.locator("#partitions rect").count() == 60
        assert page.locator("#partitions rect.ps-failed").count() == 1
        page.screenshot(path=SHOTS / "asset-partitions.png", full_page=True)
        # the sensor with its ticks; the admin stops it
        page.goto(f"{url}/sensors")
        page.screenshot(path=SHOTS / "sensors.png")
        page.click("a[href='/sensors/new_files']")
        page.wait_for_url(f"{url}/sensors/new_files")
        assert page.locator("tr.tick-row").count() == 25
        page.screenshot(path=SHOTS / "sensor.png", full_page=True)
        page.click("#stop")
        page.wait_for_selector("#instigator-status.inst-stopped")
        page.click("#start")
        page.wait_for_selector("#instigator-status.inst-running")
        page.goto(f"{url}/backfills/{backfill_id}")
        assert "4 to queue" in page.inner_text("#progress-text")
        page.screenshot(path=SHOTS / "backfill.png", full_page=True)
        # a viewer sees no button, and posting the form by hand is refused
        viewer = browser.new_page(viewport={"width": 1280, "height": 800})
        _log_in(viewer, url, "vera", VIEWER_PASSWORD, landing="/assets")
        viewer.goto(f"{url}/sensors/new_files")
        assert viewer.locator("#stop").count() == 0
        answer = viewer.request.post(
            f"{url}/sensors/new_files/status", form={"status": "stopped", "csrf_token": "x"}
        )
        assert answer.status == 403
        assert viewer.inner_text("#instigator-status") == "running"
        browser.close()
    assert errors == []
