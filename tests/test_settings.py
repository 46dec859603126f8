"""Settings: environment over partita.yaml over defaults, and clear errors for bad files."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from partita.exceptions import ConfigurationError
from partita.settings import Settings, load_settings


def _write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "partita.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_live_under_dot_partita_in_the_working_directory(tmp_path: Path) -> None:
    settings = load_settings(env={}, cwd=tmp_path)

    home = tmp_path.resolve() / ".partita"
    assert settings == Settings(
        home=home,
        database_url=f"sqlite:///{home / 'partita.db'}",
        storage_dir=home / "storage",
        inline_output_limit=262144,
    )
    assert settings.config_file == home / "partita.yaml"
    assert not home.exists(), "loading settings must not create anything"


def test_partita_home_relative_to_the_working_directory(tmp_path: Path) -> None:
    settings = load_settings(env={"PARTITA_HOME": "state/here"}, cwd=tmp_path)

    assert settings.home == tmp_path.resolve() / "state" / "here"
    assert settings.storage_dir == settings.home / "storage"


def test_the_config_file_is_used_when_the_environment_says_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _write_config(
        home,
        "database_url: postgresql://db/partita\nstorage_dir: blobs\ninline_output_limit: 1024\n",
    )

    settings = load_settings(env={"PARTITA_HOME": str(home)}, cwd=tmp_path)

    assert settings.database_url == "postgresql://db/partita"
    assert settings.storage_dir == home.resolve() / "blobs"
    assert settings.inline_output_limit == 1024


def test_the_environment_wins_over_the_config_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _write_config(home, "database_url: postgresql://db/partita\ninline_output_limit: 1024\n")
    env = {
        "PARTITA_HOME": str(home),
        "PARTITA_DATABASE_URL": "sqlite:///other.db",
        "PARTITA_STORAGE_DIR": "out",
        "PARTITA_INLINE_OUTPUT_LIMIT": "0",
    }

    settings = load_settings(env=env, cwd=tmp_path)

    assert settings.database_url == "sqlite:///other.db"
    assert settings.storage_dir == tmp_path.resolve() / "out"
    assert settings.inline_output_limit == 0


def test_os_environ_and_cwd_are_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARTITA_HOME", "h")
    monkeypatch.setenv("PARTITA_DATABASE_URL", "sqlite:///x.db")

    settings = load_settings()

    assert settings.home == tmp_path.resolve() / "h"
    assert settings.database_url == "sqlite:///x.db"


def test_an_empty_config_file_means_defaults(tmp_path: Path) -> None:
    _write_config(tmp_path / ".partita", "# nothing yet\n")

    assert load_settings(env={}, cwd=tmp_path) == load_settings(env={}, cwd=tmp_path / "x" / "..")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("database_url: [unclosed\n", r"is not valid YAML .*line 2"),
        ("- just\n- a list\n", "must be a mapping"),
        ("databse_url: sqlite:///x.db\n", r"unknown key 'databse_url' \(known keys: database_url"),
        ("inline_output_limit: lots\n", "key 'inline_output_limit'.*fix its value"),
        ("inline_output_limit: -5\n", "key 'inline_output_limit'.*greater than or equal to 0"),
    ],
)
def test_a_bad_config_file_names_the_file_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write_config(tmp_path / ".partita", text)

    with pytest.raises(ConfigurationError, match=expected) as caught:
        load_settings(env={}, cwd=tmp_path)
    assert str(caught.value).startswith(f"{path.resolve()}: ")


def test_a_bad_limit_in_the_environment_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PARTITA_INLINE_OUTPUT_LIMIT='big'"):
        load_settings(env={"PARTITA_INLINE_OUTPUT_LIMIT": "big"}, cwd=tmp_path)


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(env={}, cwd=tmp_path)

    with pytest.raises(FrozenInstanceError):
        settings.database_url = "sqlite:///elsewhere.db"  # type: ignore[misc]


def test_reading_settings_without_a_config_file_imports_no_yaml_or_pydantic(
    tmp_path: Path,
) -> None:
    probe = (
        "import sys; from pathlib import Path; from partita.settings import load_settings; "
        f"load_settings(env={{}}, cwd=Path({str(tmp_path)!r})); "
        "print([m for m in ('yaml', 'pydantic') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_a_negative_inline_output_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="inline_output_limit must be"):
        Settings(
            home=tmp_path, database_url="sqlite://", storage_dir=tmp_path, inline_output_limit=-1
        )


def test_default_timezone_from_the_file_and_the_environment(tmp_path: Path) -> None:
    home = tmp_path / ".partita"
    _write_config(home, "default_timezone: Asia/Seoul\n")
    assert load_settings(env={}, cwd=tmp_path).default_timezone == "Asia/Seoul"
    env = {"PARTITA_DEFAULT_TIMEZONE": "Europe/Berlin"}
    assert load_settings(env=env, cwd=tmp_path).default_timezone == "Europe/Berlin"
    assert load_settings(env={}, cwd=tmp_path / "elsewhere").default_timezone == "UTC"


def test_an_unknown_default_timezone_names_where_it_came_from(tmp_path: Path) -> None:
    config = _write_config(tmp_path / ".partita", "default_timezone: Europe/Atlantis\n")
    with pytest.raises(ConfigurationError) as info:
        load_settings(env={}, cwd=tmp_path)
    assert str(info.value).startswith(f"{config}: key 'default_timezone': time zone ")
    assert "'Europe/Atlantis' is not a known IANA time zone" in str(info.value)
    with pytest.raises(ConfigurationError, match="environment variable PARTITA_DEFAULT_TIMEZONE"):
        load_settings(env={"PARTITA_DEFAULT_TIMEZONE": "Nowhere"}, cwd=tmp_path)


def test_dags_paused_at_creation_from_the_file_and_the_environment(tmp_path: Path) -> None:
    assert load_settings(env={}, cwd=tmp_path).dags_paused_at_creation is False
    _write_config(tmp_path / ".partita", "dags_paused_at_creation: true\n")
    assert load_settings(env={}, cwd=tmp_path).dags_paused_at_creation is True
    env = {"PARTITA_DAGS_PAUSED_AT_CREATION": "false"}
    assert load_settings(env=env, cwd=tmp_path).dags_paused_at_creation is False


def test_a_bad_dags_paused_at_creation_is_named(tmp_path: Path) -> None:
    config = _write_config(tmp_path / ".partita", "dags_paused_at_creation: maybe\n")
    with pytest.raises(ConfigurationError, match="key 'dags_paused_at_creation'") as info:
        load_settings(env={}, cwd=tmp_path)
    assert str(info.value).startswith(f"{config}: ")
    with pytest.raises(ConfigurationError, match="PARTITA_DAGS_PAUSED_AT_CREATION='sometimes'"):
        env = {"PARTITA_DAGS_PAUSED_AT_CREATION": "sometimes"}
        load_settings(env=env, cwd=tmp_path / "elsewhere")


def test_import_timeout_from_the_environment_over_the_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _write_config(home, "import_timeout: 12.5\n")
    assert load_settings(env={"PARTITA_HOME": str(home)}, cwd=tmp_path).import_timeout == 12.5
    env = {"PARTITA_HOME": str(home), "PARTITA_IMPORT_TIMEOUT": "2"}
    settings = load_settings(env=env, cwd=tmp_path)
    assert settings.import_timeout == 2.0
    assert settings.dag_index_file == home.resolve() / "dag_index.json"


@pytest.mark.parametrize("raw", ["soon", "0", "-1", "nan", "inf"])
def test_a_bad_import_timeout_names_the_variable(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigurationError, match=f"PARTITA_IMPORT_TIMEOUT={raw!r}"):
        load_settings(env={"PARTITA_IMPORT_TIMEOUT": raw}, cwd=tmp_path)


def test_worker_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _write_config(home, "worker_heartbeat_timeout: 12\nmax_lost_attempts: 5\n")
    settings = load_settings(env={"PARTITA_HOME": str(home)}, cwd=tmp_path)
    assert (settings.worker_heartbeat_interval, settings.worker_heartbeat_timeout) == (1.0, 12.0)
    assert settings.max_lost_attempts == 5
    env = {"PARTITA_HOME": str(home), "PARTITA_MAX_LOST_ATTEMPTS": "2"}
    assert load_settings(env=env, cwd=tmp_path).max_lost_attempts == 2


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PARTITA_MAX_LOST_ATTEMPTS": "often"}, "PARTITA_MAX_LOST_ATTEMPTS='often'"),
        ({"PARTITA_MAX_LOST_ATTEMPTS": "0"}, "max_lost_attempts must be"),
        ({"PARTITA_WORKER_HEARTBEAT_TIMEOUT": "0.5"}, "must be longer than"),
    ],
)
def test_bad_worker_settings_name_the_fix(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings(env=env, cwd=tmp_path)


def test_scheduler_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "dags").mkdir(parents=True)
    _write_config(home, "code_locations: [dags, my_pkg.defs]\nmax_concurrent_runs: 4\n")
    settings = load_settings(env={"PARTITA_HOME": str(home)}, cwd=tmp_path)
    assert settings.code_locations == (str(home.resolve() / "dags"), "my_pkg.defs")
    assert settings.max_concurrent_runs == 4
    assert settings.scheduler_clock is None
    env = {
        "PARTITA_HOME": str(home),
        "PARTITA_MAX_CONCURRENT_RUNS": "32",
        "PARTITA_SCHEDULER_CLOCK": "2024-01-01T00:00:00+00:00:60",
    }
    settings = load_settings(env=env, cwd=tmp_path)
    assert settings.max_concurrent_runs == 32
    assert settings.scheduler_clock == "2024-01-01T00:00:00+00:00:60"


@pytest.mark.parametrize("raw", ["many", "0", "-3"])
def test_a_bad_max_concurrent_runs_names_the_variable(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigurationError, match=f"PARTITA_MAX_CONCURRENT_RUNS={raw!r}"):
        load_settings(env={"PARTITA_MAX_CONCURRENT_RUNS": raw}, cwd=tmp_path)
    _write_config(tmp_path / ".partita", "max_concurrent_runs: 0\n")
    with pytest.raises(ConfigurationError, match="key 'max_concurrent_runs'"):
        load_settings(env={}, cwd=tmp_path)


def test_run_tag_limits_from_the_file(tmp_path: Path) -> None:
    _write_config(tmp_path / ".partita", "run_tag_limits: {warehouse: 2, nightly: 1}\n")
    settings = load_settings(env={}, cwd=tmp_path)
    assert settings.run_tag_limits == (("nightly", 1), ("warehouse", 2))
    _write_config(tmp_path / ".partita", "run_tag_limits: {warehouse: 0}\n")
    with pytest.raises(ConfigurationError, match=r"key 'run_tag_limits\.warehouse'"):
        load_settings(env={}, cwd=tmp_path)


def test_sensor_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    assert load_settings(env={}, cwd=tmp_path).sensors_default_status == "running"
    _write_config(
        tmp_path / ".partita", "sensors_default_status: stopped\nsensor_evaluation_timeout: 5\n"
    )
    settings = load_settings(env={}, cwd=tmp_path)
    assert (settings.sensors_default_status, settings.sensor_evaluation_timeout) == ("stopped", 5)
    env = {"PARTITA_SENSORS_DEFAULT_STATUS": "Running", "PARTITA_SENSOR_EVALUATION_TIMEOUT": "2"}
    settings = load_settings(env=env, cwd=tmp_path)
    assert (settings.sensors_default_status, settings.sensor_evaluation_timeout) == ("running", 2)


def test_bad_sensor_settings_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PARTITA_SENSORS_DEFAULT_STATUS='on'"):
        load_settings(env={"PARTITA_SENSORS_DEFAULT_STATUS": "on"}, cwd=tmp_path)
    _write_config(tmp_path / ".partita", "sensors_default_status: paused\n")
    with pytest.raises(ConfigurationError, match="key 'sensors_default_status'"):
        load_settings(env={}, cwd=tmp_path)


def test_base_url_from_the_environment_or_the_file_and_a_bad_one_is_named(tmp_path: Path) -> None:
    assert load_settings({}, tmp_path).base_url == "http://localhost:8080"
    home = tmp_path / ".partita"
    _write_config(home, "base_url: https://ui.example.com\n")
    assert load_settings({}, tmp_path).base_url == "https://ui.example.com"
    env = {"PARTITA_BASE_URL": "http://other:9000"}
    assert load_settings(env, tmp_path).base_url == "http://other:9000"
    with pytest.raises(ConfigurationError, match="base_url must be an http:// or https:// URL"):
        load_settings({"PARTITA_BASE_URL": "ui.example.com"}, tmp_path)
    _write_config(home, "base_url: ftp://x\n")
    with pytest.raises(ConfigurationError, match="base_url"):
        load_settings({}, tmp_path)


def test_the_executor_and_celery_broker_come_from_the_file_or_the_environment(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    assert load_settings(env={"PARTITA_HOME": str(home)}, cwd=tmp_path).executor == "local"
    _write_config(home, "executor: celery\ncelery_broker_url: amqp://guest@mq//\n")
    from_file = load_settings(env={"PARTITA_HOME": str(home)}, cwd=tmp_path)
    assert (from_file.executor, from_file.celery_broker_url) == ("celery", "amqp://guest@mq//")
    env = {
        "PARTITA_HOME": str(home),
        "PARTITA_EXECUTOR": "local",
        "PARTITA_CELERY_BROKER_URL": "redis://cache:6379/3",
    }
    from_env = load_settings(env=env, cwd=tmp_path)
    assert (from_env.executor, from_env.celery_broker_url) == ("local", "redis://cache:6379/3")


def test_an_unknown_executor_in_the_file_is_refused_naming_the_choices(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _write_config(home, "executor: kubernetes\n")
    with pytest.raises(ConfigurationError, match="executor") as caught:
        load_settings(env={"PARTITA_HOME": str(home)}, cwd=tmp_path)
    assert "'local'" in str(caught.value) and "'celery'" in str(caught.value)


def test_database_pool_sizes_and_timeouts_come_from_the_file_or_the_environment(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    defaults = load_settings(env={"PARTITA_HOME": str(home)}, cwd=tmp_path)
    assert (
        defaults.database_pool_size, defaults.database_max_overflow,
        defaults.database_pool_timeout, defaults.database_connect_timeout,
    ) == (5, 10, 30.0, 10.0)  # fmt: skip
    _write_config(
        home,
        "database_pool_size: 20\ndatabase_max_overflow: 0\ndatabase_pool_timeout: 5\n"
        "database_connect_timeout: 3\n",
    )
    from_file = load_settings(env={"PARTITA_HOME": str(home)}, cwd=tmp_path)
    assert (
        from_file.database_pool_size, from_file.database_max_overflow,
        from_file.database_pool_timeout, from_file.database_connect_timeout,
    ) == (20, 0, 5.0, 3.0)  # fmt: skip
    env = {"PARTITA_HOME": str(home), "PARTITA_DATABASE_POOL_SIZE": "8"}
    assert load_settings(env=env, cwd=tmp_path).database_pool_size == 8


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PARTITA_DATABASE_POOL_SIZE": "0"}, "PARTITA_DATABASE_POOL_SIZE"),
        ({"PARTITA_DATABASE_MAX_OVERFLOW": "many"}, "PARTITA_DATABASE_MAX_OVERFLOW"),
        ({"PARTITA_DATABASE_POOL_TIMEOUT": "-1"}, "PARTITA_DATABASE_POOL_TIMEOUT"),
        ({"PARTITA_DATABASE_CONNECT_TIMEOUT": "soon"}, "PARTITA_DATABASE_CONNECT_TIMEOUT"),
    ],
)
def test_a_bad_database_pool_setting_is_refused_naming_it(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        load_settings(env={"PARTITA_HOME": str(tmp_path / "home"), **env}, cwd=tmp_path)
