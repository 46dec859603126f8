"""Create (or reuse) one virtual environment per peer framework, outside partita's own.

``python bench/setup_peers.py`` installs pinned Apache Airflow, Dagster and
Prefect from the package registry, each into its own venv under one scratch
folder (``$PARTITA_BENCH_HOME``, default ``bench/.peers/``), and prepares each
peer's home there (Airflow's and Prefect's SQLite databases migrated once,
to be copied fresh for every benchmark run; Dagster's home). ``--wipe``
deletes that whole folder first. ``bench/run.py --peers`` calls
:func:`ensure` itself, so running this script is optional.

Design decision: a venv counts as ready only when its ``.ready`` marker holds
the exact pin it was built with, so a changed pin rebuilds it and an
interrupted install is never reused half-done.
"""

from __future__ import annotations

import argparse
import email.parser
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOME = Path(os.environ.get("PARTITA_BENCH_HOME", HERE / ".peers")).resolve()

# The newest certifi the registry here has; Prefect 3.9.1 asks for a newer one
# (see shared/BENCH-NOTES.md), so its other requirements are installed with this.
CERTIFI_FALLBACK = "certifi==2026.10.18"


@dataclass(frozen=True)
class Peer:
    name: str
    package: str
    version: str

    @property
    def pin(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def venv(self) -> Path:
        return HOME / "venvs" / self.name

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def home(self) -> Path:
        """The peer's own scratch home (AIRFLOW_HOME, DAGSTER_HOME, PREFECT_HOME)."""
        return HOME / "scratch" / self.name


PEERS: dict[str, Peer] = {
    "airflow": Peer("airflow", "apache-airflow", "3.3.2"),
    "dagster": Peer("dagster", "dagster", "1.13.28"),
    "prefect": Peer("prefect", "prefect", "3.9.1"),
}


def peer_env(peer: Peer) -> dict[str, str]:
    """The environment a peer's process runs with: its home in scratch, no telemetry."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "DAGSTER", "PREFECT", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    env.update({"DO_NOT_TRACK": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    if peer.name == "airflow":
        env.update(
            {
                "AIRFLOW_HOME": str(peer.home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{peer.home / 'airflow.db'}",
                "AIRFLOW__CORE__DAGS_FOLDER": str(peer.home / "dags"),
                "SCARF_ANALYTICS": "false",
                "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
            }
        )
    elif peer.name == "dagster":
        env.update({"DAGSTER_HOME": str(peer.home), "DAGSTER_DISABLE_TELEMETRY": "1"})
    elif peer.name == "prefect":
        env.update(
            {
                "PREFECT_HOME": str(peer.home),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            }
        )
    return env


def _run(cmd: list[str | Path], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, env=env)


def _prefect_requirements(pip: Path) -> list[str]:
    """Prefect's own Requires-Dist (no extras), with certifi's pin relaxed to what exists."""
    with tempfile.TemporaryDirectory() as tmp:
        _run([pip, "download", "--no-deps", "--only-binary=:all:", "-d", tmp, PEERS["prefect"].pin])
        wheel = next(Path(tmp).glob("prefect-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            meta = email.parser.Parser().parsestr(zf.read(meta_name).decode())
    reqs = []
    for req in meta.get_all("Requires-Dist") or []:
        if "extra ==" in req:
            continue
        if req.split(";")[0].strip().lower().startswith("certifi"):
            req = CERTIFI_FALLBACK
        reqs.append(req)
    return reqs


def _install(peer: Peer) -> None:
    pip = peer.venv / "bin" / "pip"
    if peer.name == "prefect":
        _run([pip, "install", *_prefect_requirements(pip)])
        _run([pip, "install", "--no-deps", peer.pin])
    else:
        _run([pip, "install", peer.pin])


def _prepare_home(peer: Peer) -> None:
    peer.home.mkdir(parents=True, exist_ok=True)
    if peer.name == "airflow":
        (peer.home / "dags").mkdir(exist_ok=True)
        _run([peer.venv / "bin" / "airflow", "db", "migrate"], env=peer_env(peer))
    elif peer.name == "dagster":
        (peer.home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    elif peer.name == "prefect":
        _run(
            [peer.venv / "bin" / "prefect", "server", "database", "upgrade", "-y"],
            env=peer_env(peer),
        )


def ensure(peer: Peer) -> None:
    """Make ``peer``'s venv and home ready, reusing them when they already are."""
    marker = peer.venv / ".ready"
    if not (marker.exists() and marker.read_text().strip() == peer.pin):
        if peer.venv.exists():
            shutil.rmtree(peer.venv)
        peer.venv.parent.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "venv", peer.venv])
        _install(peer)
        marker.write_text(peer.pin + "\n")
    home_marker = peer.home / ".ready"
    if not (home_marker.exists() and home_marker.read_text().strip() == peer.pin):
        if peer.home.exists():
            shutil.rmtree(peer.home)
        _prepare_home(peer)
        home_marker.write_text(peer.pin + "\n")
    # per-run copies a killed (timed-out) run could not delete itself
    shutil.rmtree(peer.home / "runs", ignore_errors=True)


def wipe() -> None:
    """Delete every venv and all scratch state."""
    if HOME.exists():
        print(f"removing {HOME}", flush=True)
        shutil.rmtree(HOME)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peers", nargs="*", help=f"any of {', '.join(PEERS)} (default: all)")
    parser.add_argument("--wipe", action="store_true", help=f"delete {HOME} first")
    args = parser.parse_args()
    if args.wipe:
        wipe()
    unknown = sorted(set(args.peers) - set(PEERS))
    if unknown:
        parser.error(f"unknown peer(s) {', '.join(unknown)}: choose from {', '.join(PEERS)}")
    for name in args.peers or list(PEERS):
        ensure(PEERS[name])
        print(f"{name}: ready ({PEERS[name].pin}) in {PEERS[name].venv}", flush=True)


if __name__ == "__main__":
    main()
