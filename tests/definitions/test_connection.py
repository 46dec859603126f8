"""``Connection``: Airflow-style URIs, the JSON form, the environment, and what errors say."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from partita import BaseHook, Connection, ConnectionNotFoundError
from partita.exceptions import ConnectionURIError
from partita.masking import MASKER


@pytest.fixture(autouse=True)
def forget_secrets() -> Iterator[None]:
    yield
    MASKER.clear()


def test_a_full_uri_is_parsed_and_written_back() -> None:
    uri = "postgresql://us%40er:p%40ss%2Fw@db.example.com:5432/my%20db?sslmode=require&x=1"
    conn = Connection.from_uri("warehouse", uri)
    assert (conn.conn_type, conn.host, conn.login, conn.password, conn.port, conn.schema) == (
        "postgres", "db.example.com", "us@er", "p@ss/w", 5432, "my db",
    )  # fmt: skip
    assert conn.extra_dejson == {"sslmode": "require", "x": "1"}
    assert Connection.from_uri("warehouse", conn.get_uri()) == conn


def test_a_host_with_its_own_protocol_and_the_seed_slack_webhook() -> None:
    conn = Connection(
        "slack", conn_type="http", host="https://hooks.slack.com/services/",
        password="T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    )  # fmt: skip
    uri = conn.get_uri()
    assert uri.startswith("http://https://:")
    assert Connection.from_uri("slack", uri) == conn
    parsed = Connection.from_uri("s", "http://https://hooks.example.com/api")
    assert (parsed.host, parsed.schema) == ("https://hooks.example.com", "api")


def test_extras_that_are_not_flat_strings_travel_as_extra_json() -> None:
    conn = Connection("api", conn_type="http", host="h", extra={"timeout": 5, "h": {"a": "b"}})
    assert "__extra__=" in conn.get_uri()
    assert Connection.from_uri("api", conn.get_uri()).extra_dejson == {
        "timeout": 5, "h": {"a": "b"},
    }  # fmt: skip


def test_type_dashes_and_empty_parts() -> None:
    conn = Connection.from_uri("x", "google-cloud-platform://")
    assert conn.conn_type == "google_cloud_platform"
    assert (conn.host, conn.login, conn.password, conn.port, conn.schema) == (None,) * 5
    assert conn.get_uri() == "google-cloud-platform://"


@pytest.mark.parametrize(
    ("uri", "part"),
    [
        ("db.example.com", "has no connection type"),
        ("postgres://host:80a/db", "the port '80a' is not a number"),
        ("postgres://host:70000/db", "the port '70000'"),
        ("http://h/?__extra__=%7Bbad", "__extra__ is not valid JSON"),
        ("http://h/?__extra__=%5B1%5D", "__extra__ must be a JSON object"),
        ("http://h/?__extra__=%7B%7D&a=1", "has __extra__ and other keys"),
        ("http://h/?novalue", "is not key=value pairs"),
        ("a://b://c://d", "'://' more than twice"),
        ("http://user:pw@https://host", "a second '://' in the wrong place"),
        ("http://[::1/db", "an IPv6 host is written [::1]"),
        ("ht tp://host", "may hold only letters"),
    ],
)
def test_a_malformed_uri_is_refused_naming_the_part(uri: str, part: str) -> None:
    with pytest.raises(ConnectionURIError, match="connection 'bad'") as caught:
        Connection.from_uri("bad", uri)
    assert part in str(caught.value)


def test_a_malformed_uri_error_never_shows_the_password() -> None:
    with pytest.raises(ConnectionURIError) as caught:
        Connection.from_uri("bad", "postgres://admin:Sup3rSecret@host:nope/db")
    assert "Sup3rSecret" not in str(caught.value)
    with pytest.raises(ConnectionURIError) as caught:
        Connection.from_uri("bad", "http://admin:Sup3rSecret@https://x")
    assert "Sup3rSecret" not in str(caught.value)


def test_the_json_form_and_its_errors() -> None:
    conn = Connection.from_json("j", '{"conn_type": "http", "host": "h", "port": 8080, '
                                '"extra": {"verify": false}}')  # fmt: skip
    assert (conn.conn_type, conn.port, conn.extra_dejson) == ("http", 8080, {"verify": False})
    with pytest.raises(ConnectionURIError, match="unknown key\\(s\\) 'hots'"):
        Connection.from_json("j", '{"hots": "h"}')
    with pytest.raises(ConnectionURIError, match="the JSON is not valid"):
        Connection.from_json("j", "{nope")


def test_repr_and_to_dict_hide_the_password_and_secret_extras() -> None:
    conn = Connection(
        "c", conn_type="http", password="hunter2-pw", extra={"api_key": "k-123", "n": 1}
    )
    assert "hunter2-pw" not in repr(conn)
    assert conn.to_dict()["password"] == "***"
    assert conn.to_dict()["extra"] == {"api_key": "***", "n": 1}
    assert conn.to_dict(reveal=True)["password"] == "hunter2-pw"


def test_the_environment_defines_connections_as_uri_or_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARTITA_CONN_MY_API", "https://bob:env-pass-1@api.example.com:8443/v1")
    monkeypatch.setenv("PARTITA_CONN_MY_DB", '{"conn_type": "postgres", "host": "db"}')
    conn = Connection.get("my_api")
    assert (conn.conn_type, conn.host, conn.login, conn.port) == (
        "https", "api.example.com", "bob", 8443,
    )  # fmt: skip
    assert BaseHook.get_connection("my_db").host == "db"
    assert MASKER.mask("token env-pass-1") == "token ***"  # read once: masked from now on


def test_a_malformed_environment_connection_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARTITA_CONN_BROKEN", "postgres://h:port/db")
    with pytest.raises(ConnectionURIError, match="environment variable PARTITA_CONN_BROKEN"):
        Connection.get("broken")


def test_an_unknown_connection_says_how_to_define_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("PARTITA_HOME", str(tmp_path))
    with pytest.raises(ConnectionNotFoundError) as caught:
        Connection.get("x")
    assert str(caught.value) == (
        "connection 'x' is not defined; add it with `partita connections add x --uri ...` "
        "or set PARTITA_CONN_X"
    )


def test_base_hook_is_a_small_base_class() -> None:
    class Weather(BaseHook):
        conn_type = "http"

        def __init__(self, conn_id: str) -> None:
            super().__init__()
            self.conn_id = conn_id

    hook = Weather("w")
    with pytest.raises(NotImplementedError, match="Weather does not implement get_conn"):
        hook.get_conn()
    assert hook.test_connection()[0] is False
    with pytest.raises(TypeError, match="unexpected arguments: nope"):
        BaseHook(nope=1)
