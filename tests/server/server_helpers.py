"""Helpers of the web server tests: a store with DAGs, runs and users, the app on it, and a
client per role (API tokens). The fixtures are in conftest.py."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from partita.definitions.dag import DAG
from partita.discovery import locate_dag
from partita.server.app import create_app
from partita.server.auth.accounts import create_token
from partita.server.auth.secrets import hash_password
from partita.server.config import ServerConfig
from partita.settings import load_settings
from partita.storage.auth import Role, UserRecord
from partita.storage.base import Storage
from partita.storage.dag_records import DagParse, ParsedDag

DAG_FILE = Path(__file__).resolve().parent / "dag_file.py"
PASSWORD = "correct horse battery"


@dataclass
class ApiWorld:
    """A store with two DAGs (``etl`` ran ok, ``broken`` failed), users, and the app."""

    storage: Storage
    config: ServerConfig
    app_client: TestClient
    tokens: dict[Role, str]
    etl_run: str
    broken_run: str
    dag_file: Path

    def client(self, role: Role | None) -> TestClient:
        """The client with ``role``'s bearer token (None: no credentials)."""
        client = self.app_client
        client.headers.pop("Authorization", None)
        if role is not None:
            client.headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return client


@functools.cache
def password_hash() -> str:
    """The argon2 hash of ``PASSWORD``, computed once per test session."""
    return hash_password(PASSWORD)


def load_test_dag(path: Path, dag_id: str) -> DAG:
    return locate_dag(str(path), dag_id, import_timeout=30).dag


def build_world(storage: Storage, home: Path, **config: object) -> Iterator[ApiWorld]:
    dag_file = home / "dags" / "pipelines.py"
    dag_file.parent.mkdir(parents=True)
    shutil.copy(DAG_FILE, dag_file)
    storage.registry.record_parse(
        DagParse(
            str(dag_file),
            [ParsedDag("etl", str(dag_file), tags=("team-a", "daily")),
             ParsedDag("broken", str(dag_file), tags=("team-b",))],
            {},
            datetime.now(UTC),
        )
    )  # fmt: skip
    etl = load_test_dag(dag_file, "etl").test(storage=storage, verbose=False)
    broken = load_test_dag(dag_file, "broken").test(storage=storage, verbose=False)
    tokens = {}
    for role in Role:  # one argon2 hash for all (hashing takes a good part of a second)
        storage.auth.create_user(UserRecord(role.value, role, password_hash(), datetime.now(UTC)))
        tokens[role] = create_token(storage.auth, role.value).secret
    settings = load_settings(env={"PARTITA_HOME": str(home)}, cwd=home)
    server_config = ServerConfig(settings, log_poll_interval=0.05, **config)  # type: ignore[arg-type]
    with TestClient(create_app(storage, server_config)) as client:
        yield ApiWorld(storage, server_config, client, tokens, etl.run_id, broken.run_id, dag_file)
