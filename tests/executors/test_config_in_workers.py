"""A task whose ``Config`` class is defined in the DAG file runs in a worker process: the
worker reads the validated config before it has imported that file, so the config is sent
as the file, the class's name and its values, and the worker imports the file to remake it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DAG = """
from partita import DAG, Config, task


class GreetConfig(Config):
    word: str
    times: int = 2


with DAG("configured", schedule=None) as configured:

    @task
    def greet(config: GreetConfig) -> None:
        print("said", " ".join([config.word] * config.times))

    greet()
"""


def test_a_config_class_of_a_dag_file_reaches_a_worker_process(tmp_path: Path) -> None:
    (tmp_path / "configured.py").write_text(DAG)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTITA_")}
    env["PARTITA_HOME"] = str(tmp_path / "home")
    conf = '{"tasks": {"greet": {"config": {"word": "hi"}}}}'
    command = [sys.executable, "-m", "partita.cli.main", "run", "configured.py", "configured",
               "--workers", "1", "--conf", conf]  # fmt: skip
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No module named" not in done.stderr
    run_id = done.stdout.split("Run ", 1)[1].split()[0]
    logs = subprocess.run(
        [sys.executable, "-m", "partita.cli.main", "logs", run_id, "greet"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "said hi hi" in logs.stdout, logs.stdout + logs.stderr
