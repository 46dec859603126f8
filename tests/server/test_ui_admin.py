"""The admin pages (users, pools, connections, variables): admin only, even by direct POST,
CSRF on every form, and no secret ever in a page's HTML. Pages that read the stores run on
SQLite and PostgreSQL (``world``)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from server_helpers import ApiWorld
from test_ui_pages import log_in

from partita.storage.auth import Role
from partita.storage.secrets import VariableRecord

SECTIONS = ("users", "pools", "connections", "variables")


def _post(client: TestClient, section: str, csrf: str, **fields: str) -> httpx.Response:
    return client.post(
        f"/admin/{section}", data={"csrf_token": csrf, **fields}, follow_redirects=False
    )


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_admins_see_or_change_the_admin_pages(sqlite_world: ApiWorld, role: str) -> None:
    client = sqlite_world.client(None)
    csrf = log_in(client, role)
    assert "/admin/users" not in client.get("/dags").text  # no Admin link for them
    for section in SECTIONS:
        page = client.get(f"/admin/{section}")
        assert page.status_code == 403 and "needs admin" in page.text
        # A hidden button is not the protection: a direct POST with a valid token is refused.
        answer = client.post(
            f"/admin/{section}",
            data={"csrf_token": csrf, "action": "delete", "username": "admin", "name": "p",
                  "conn_id": "c", "key": "k"},
        )  # fmt: skip
        assert answer.status_code == 403
    assert sqlite_world.storage.auth.get_user("admin") is not None


def test_every_admin_form_needs_its_csrf_token(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    csrf = log_in(client, "admin")
    sqlite_world.storage.variables.set_variable(VariableRecord("keep_me", "1"))
    for section in SECTIONS:
        page = client.get(f"/admin/{section}")
        assert page.status_code == 200
        assert f'name="csrf_token" value="{csrf}"' in page.text
        forged = client.post(
            f"/admin/{section}", data={"csrf_token": "forged", "action": "delete", "key": "keep_me"}
        )
        assert forged.status_code == 403 and "CSRF" in forged.text
        missing = client.post(f"/admin/{section}", data={"action": "delete", "key": "keep_me"})
        assert missing.status_code == 403
    assert sqlite_world.storage.variables.get_variable("keep_me") is not None


def test_users_are_created_given_roles_new_passwords_and_deleted(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    csrf = log_in(client, "admin")
    auth = sqlite_world.storage.auth
    created = _post(client, "users", csrf, action="create", username="carol", role="viewer",
                    password="carols long password")  # fmt: skip
    assert created.status_code == 303
    listed = client.get(created.headers["location"])
    assert "User &#39;carol&#39; created." in listed.text and 'data-user="carol"' in listed.text
    assert "carols long password" not in listed.text
    _post(client, "users", csrf, action="role", username="carol", role="operator")
    carol = auth.get_user("carol")
    assert carol is not None and carol.role is Role.OPERATOR
    _post(client, "users", csrf, action="password", username="carol", password="another password1")
    other = TestClient(client.app)
    log_in(other, "carol", "another password1")  # the new password works
    short = _post(client, "users", csrf, action="create", username="dave", role="viewer",
                  password="short")  # fmt: skip
    assert short.status_code == 400 and "too short" in short.text
    bad_role = _post(client, "users", csrf, action="role", username="carol", role="root")
    assert bad_role.status_code == 400 and "unknown role" in bad_role.text
    myself = _post(client, "users", csrf, action="delete", username="admin")
    assert myself.status_code == 409
    _post(client, "users", csrf, action="delete", username="carol")
    assert auth.get_user("carol") is None


def test_pools_are_set_resized_and_deleted(world: ApiWorld) -> None:
    client = world.client(None)
    csrf = log_in(client, "admin")
    _post(client, "pools", csrf, action="set", name="warehouse", slots="4", description="the DB")
    assert [(p.name, p.slots) for p in world.storage.pools.list_pools()] == [("warehouse", 4)]
    _post(client, "pools", csrf, action="set", name="warehouse", slots="2", description="the DB")
    page = client.get("/admin/pools")
    assert 'data-pool="warehouse"' in page.text and 'value="2"' in page.text
    bad = _post(client, "pools", csrf, action="set", name="warehouse", slots="many")
    assert bad.status_code == 400 and "whole number" in bad.text
    bad_name = _post(client, "pools", csrf, action="set", name="a b", slots="1")
    assert bad_name.status_code == 400
    _post(client, "pools", csrf, action="delete", name="warehouse")
    assert world.storage.pools.list_pools() == []


def test_connections_are_added_edited_tested_and_deleted_never_showing_secrets(
    world: ApiWorld,
) -> None:
    secret = f"Ui-{uuid.uuid4().hex[:12]}"
    client = world.client(None)
    csrf = log_in(client, "admin")
    saved = _post(client, "connections", csrf, action="save", original="", conn_id="warehouse",
                  conn_type="postgres", host="db.example.com", port="5432", login="etl",
                  password=secret, schema="dw", extra=f'{{"api_key": "k-{secret}", "a": "b"}}',
                  description="the DW")  # fmt: skip
    assert saved.status_code == 303
    listed = client.get("/admin/connections")
    edit = client.get("/admin/connections?edit=warehouse")
    assert 'data-conn="warehouse"' in listed.text and "db.example.com" in listed.text
    assert "unchanged (leave empty to keep it)" in edit.text
    for page in (listed, edit):
        assert secret not in page.text and "***" in page.text
    # Saving the edit form as shown (empty password, secret extra ***) keeps the secrets.
    _post(client, "connections", csrf, action="save", original="warehouse", conn_id="warehouse",
          conn_type="postgres", host="db2.example.com", password="",
          extra='{"api_key": "***", "a": "c"}')  # fmt: skip
    stored = world.storage.connections.get_connection("warehouse")
    assert stored is not None and stored.host == "db2.example.com"
    assert stored.password == secret
    assert stored.extra_dejson == {"api_key": f"k-{secret}", "a": "c"}
    twice = _post(client, "connections", csrf, action="save", original="", conn_id="warehouse",
                  conn_type="http")  # fmt: skip
    assert twice.status_code == 400 and "already exists" in twice.text
    bad = _post(client, "connections", csrf, action="save", original="", conn_id="x",
                conn_type="http", extra="{not json")  # fmt: skip
    assert bad.status_code == 400 and "extra is not valid JSON" in bad.text
    _post(client, "connections", csrf, action="save", original="", conn_id="closed",
          conn_type="ftp", host="127.0.0.1", port="1")  # fmt: skip
    tested = _post(client, "connections", csrf, action="test", conn_id="closed")
    assert tested.status_code == 200 and 'id="test-result"' in tested.text
    assert "Test of closed: failed" in tested.text
    _post(client, "connections", csrf, action="delete", conn_id="closed")
    assert world.storage.connections.get_connection("closed") is None


def test_variables_are_set_and_deleted_with_secret_values_masked(world: ApiWorld) -> None:
    secret = f"tok-{uuid.uuid4().hex[:12]}"
    client = world.client(None)
    csrf = log_in(client, "admin")
    _post(client, "variables", csrf, action="set", key="slack_token", value=secret)
    _post(client, "variables", csrf, action="set", key="limits", value='{"rows": 10}',
          description="caps")  # fmt: skip
    _post(client, "variables", csrf, action="set", key="motd", value=f"the token is {secret}")
    page = client.get("/admin/variables")
    assert 'data-key="slack_token"' in page.text and 'data-key="limits"' in page.text
    assert "the token is ***" in page.text and secret not in page.text
    _post(client, "variables", csrf, action="set", key="slack_token", value="***")
    kept = world.storage.variables.get_variable("slack_token")
    assert kept is not None and kept.value == secret
    _post(client, "variables", csrf, action="delete", key="motd")
    assert world.storage.variables.get_variable("motd") is None
    missing = _post(client, "variables", csrf, action="delete", key="motd")
    assert missing.status_code == 400 and "no variable" in missing.text
