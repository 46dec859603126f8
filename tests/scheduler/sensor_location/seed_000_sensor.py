"""Seed 000's directory sensor: one run of ``log_file_pipeline`` per new file in a folder.

The folder is ``$PARTITA_TEST_SENSOR_DIR``; each run appends the name of its
file to ``processed.log`` next to it, so a test can count the runs that really
ran. The run key is the file name and its mtime: a file written again is new.
"""

import os
from pathlib import Path
from typing import Any

from partita import Definitions, RunRequest, dag, sensor, task

MY_DIRECTORY = os.environ.get("PARTITA_TEST_SENSOR_DIR", "/nonexistent-sensor-dir")


@task(config_schema={"filename": str})
def process_file(context: Any) -> None:
    filename = context.config["filename"]
    context.log.info(filename)
    with (Path(MY_DIRECTORY).parent / "processed.log").open("a") as log:
        log.write(filename + "\n")


@dag(schedule=None)
def log_file_pipeline() -> None:
    process_file()


@sensor(job=log_file_pipeline, minimum_interval_seconds=0.2)
def my_directory_sensor(_context: Any) -> Any:
    for filename in sorted(os.listdir(MY_DIRECTORY)):
        filepath = os.path.join(MY_DIRECTORY, filename)
        if os.path.isfile(filepath):
            mtime = os.stat(filepath).st_mtime_ns
            yield RunRequest(
                run_key=f"{filename}:{mtime}",
                run_config={"tasks": {"process_file": {"config": {"filename": filename}}}},
            )


defs = Definitions(dags=[log_file_pipeline], sensors=[my_directory_sensor])
