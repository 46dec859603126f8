"""The admin pages end to end in the system Chromium (``partita dev`` as a real process): an
admin adds a connection with a password, edits it, adds a secret variable and a pool; the
password and the secret never appear in any page's HTML. Screenshots of the admin pages go
to tests/artifacts/screenshots/ (docs/ui.md shows them)."""

from __future__ import annotations

import pytest
from test_ui_e2e import CHROMIUM, SHOTS, _log_in, served

__all__ = ["served"]  # the fixture, shared with test_ui_e2e

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)"
    ),
]

PASSWORD = "E2e-Conn-Pa55word"
TOKEN = "E2e-Slack-T0ken-xyz"


def test_an_admin_adds_a_connection_and_never_sees_its_password(
    served: tuple[str, str, dict[str, str]],
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    url, admin_password, _ = served
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
        _log_in(page, url, "admin", admin_password)
        page.click("header nav a:text('Admin')")
        page.wait_for_url(f"{url}/admin/users")
        page.fill("#new-user input[name=username]", "olga")
        page.select_option("#new-user select[name=role]", "operator")
        page.fill("#new-user input[name=password]", "olgas password 1")
        page.click("#new-user button[type=submit]")
        page.wait_for_selector("tr[data-user=olga]")
        page.screenshot(path=SHOTS / "admin-users.png", full_page=True)

        page.click(".admin-tabs a:text('Connections')")
        form = "#connection-form"
        page.fill(f"{form} input[name=conn_id]", "slack_alerts")
        page.fill(f"{form} input[name=conn_type]", "http")
        page.fill(f"{form} input[name=host]", "https://hooks.slack.com/services/")
        page.fill(f"{form} input[name=login]", "bot")
        page.fill(f"{form} input[name=password]", PASSWORD)
        page.fill(f"{form} textarea[name=extra]", '{"timeout": 10}')
        page.fill(f"{form} input[name=description]", "alerts channel")
        page.click(f"{form} button[type=submit]")
        page.wait_for_selector("tr[data-conn=slack_alerts]")
        assert "Connection 'slack_alerts' saved." in page.inner_text(".notice")
        row = page.inner_text("tr[data-conn=slack_alerts]")
        assert "hooks.slack.com" in row and "***" in row
        assert PASSWORD not in page.content()
        page.click("tr[data-conn=slack_alerts] a:text('Edit')")
        page.wait_for_selector("input[name=password][placeholder^=unchanged]")
        assert PASSWORD not in page.content()
        page.fill(f"{form} input[name=host]", "https://hooks.slack.com/services/T000")
        page.click(f"{form} button[type=submit]")
        page.wait_for_selector("tr[data-conn=slack_alerts]:has-text('T000')")
        assert PASSWORD not in page.content()
        page.screenshot(path=SHOTS / "admin-connections.png", full_page=True)

        page.click(".admin-tabs a:text('Variables')")
        page.fill("#variable-form input[name=key]", "slack_token")
        page.fill("#variable-form textarea[name=value]", TOKEN)
        page.click("#variable-form button[type=submit]")
        page.wait_for_selector("tr[data-key=slack_token]")
        page.fill("#variable-form input[name=key]", "report_recipients")
        page.fill("#variable-form textarea[name=value]", '["ops@example.com"]')
        page.click("#variable-form button[type=submit]")
        page.wait_for_selector("tr[data-key=report_recipients]")
        assert "***" in page.inner_text("tr[data-key=slack_token]")
        assert TOKEN not in page.content()
        page.screenshot(path=SHOTS / "admin-variables.png", full_page=True)

        page.click(".admin-tabs a:text('Pools')")
        page.fill("#new-pool input[name=name]", "warehouse")
        page.fill("#new-pool input[name=slots]", "4")
        page.fill("#new-pool input[name=description]", "the DW takes 4 queries at once")
        page.click("#new-pool button[type=submit]")
        page.wait_for_selector("tr[data-pool=warehouse]")
        page.screenshot(path=SHOTS / "admin-pools.png", full_page=True)
        assert errors == []  # no script error, nothing the CSP refused

        # The same pages refuse an operator, even by a direct POST.
        operator = browser.new_context().new_page()
        _log_in(operator, url, "olga", "olgas password 1")
        assert operator.locator("header nav a:text('Admin')").count() == 0
        operator.goto(f"{url}/admin/connections")
        assert "needs admin" in operator.inner_text("main")
        browser.close()
