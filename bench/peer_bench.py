"""``python bench/run.py --peers``: partita against Airflow, Dagster and Prefect in one run.

The same workloads (W1 chain, W2 fan, W3 map, W4 data, W5 scale) run in each
framework's in-process test mode -- ``dag.test()`` in partita and Airflow,
``execute_in_process()`` in Dagster, calling the flow in Prefect -- each in a
fresh process with its own venv (``bench/setup_peers.py``). Repetitions are
interleaved and the framework order rotates every repetition, so machine
noise hits all frameworks alike. The result is a Markdown report (per
workload: median [min-max] run time, process time, time per task, peak
memory, partita's ratio) with a pass/fail summary of issue 6's targets, and
a JSON file with every sample.

Design decision: W5 runs a peer only where its own per-task time, measured
on W2 (for W5a) or W3 (for W5b) in the same invocation, predicts it finishes
within the time limit; otherwise the cell says "skipped" with that
prediction, never a made-up number.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from measure import run_once, summarize
from setup_peers import HOME, PEERS, ensure, peer_env

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    partita: str  # the name in bench/workloads.py
    unsupported: dict[str, str] = field(default_factory=dict)  # framework -> reason
    scale_from: str | None = None  # W5: predict peers' time from this workload's per-task time


WORKLOADS: list[Workload] = [
    Workload("W1", "chain: 100 no-op tasks, each depending on the previous", "chain100"),
    Workload("W2", "fan: 1 root, 500 independent no-op tasks, 1 join", "fan500"),
    Workload(
        "W3",
        "map: list(range(1000)), a mapped task doubles each, a task sums (checked: 999000)",
        "map1k",
    ),
    Workload(
        "W4",
        "data: 5-stage chain passing a 50 MiB bytes object",
        "data50mb",
        unsupported={"airflow": "Airflow's XCom rejects bytes; see W4L"},
    ),
    Workload(
        "W4L",
        "data: 5-stage chain passing a list of 6,553,600 ints (a 50 MiB pointer array)",
        "data_list50mb",
    ),
    Workload("W5a", "scale: 10,000 independent no-op tasks", "independent10k", scale_from="W2"),
    Workload(
        "W5b", "scale: a no-op task mapped over 100,000 items", "map100k_noop", scale_from="W3"
    ),
]
WORKLOAD_KEYS = [w.key for w in WORKLOADS]


@dataclass(frozen=True)
class Variant:
    label: str
    framework: str  # partita, airflow, dagster, prefect
    argv: Callable[[Workload], list[str] | None]  # None: this variant does not run it
    note: str = ""


def _peer_argv(framework: str, *extra: str, only: set[str] | None = None) -> Callable[..., Any]:
    def build(w: Workload) -> list[str] | None:
        if only is not None and w.key not in only:
            return None
        suffixes = [e for e in extra if not e.startswith("--")]
        arg = "-".join([w.key, *suffixes])
        flags = [e for e in extra if e.startswith("--")]
        script = HERE / "peers" / f"{framework}_bench.py"
        return [str(PEERS[framework].python), str(script), arg, *flags]

    return build


VARIANTS: list[Variant] = [
    Variant(
        "partita dag.test() (memory store)",
        "partita",
        lambda w: [sys.executable, str(HERE / "workloads.py"), w.partita, "memory"],
        "dag.test()'s default store",
    ),
    Variant(
        "partita dag.test() (SQLite store)",
        "partita",
        lambda w: [sys.executable, str(HERE / "workloads.py"), w.partita, "sqlite"],
        "every state change and output persisted to SQLite",
    ),
    Variant("Airflow dag.test()", "airflow", _peer_argv("airflow")),
    Variant("Dagster execute_in_process()", "dagster", _peer_argv("dagster")),
    Variant(
        "Dagster, list[int]-annotated ops",
        "dagster",
        _peer_argv("dagster", "annotated", only={"W4L"}),
        "Dagster type-checks every element of an annotated list",
    ),
    Variant(
        "Prefect flow call (server already up)",
        "prefect",
        _peer_argv("prefect", "--warm"),
        "an untimed warm-up flow started the temporary API server first",
    ),
    Variant(
        "Prefect, list wrapped in quote()",
        "prefect",
        _peer_argv("prefect", "quoted", "--warm", only={"W4L"}),
        "quote() is Prefect's documented way to stop it visiting every element",
    ),
    Variant(
        "Prefect flow call (incl. temporary server start)",
        "prefect",
        _peer_argv("prefect", only={"W1"}),
        "the timed call is the process's first flow call, which starts the server",
    ),
]


def limit_for(framework: str, w: Workload, base: float) -> float:
    """Per-run time limit: Airflow's slow per-task path gets twice the base on W2-W4L."""
    if framework == "airflow" and w.key in {"W2", "W3", "W4L"}:
        return 2 * base
    return base


def versions(frameworks: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        from importlib.metadata import version

        out["partita"] = version("partita")
    except Exception:  # not installed: report what is known
        out["partita"] = "unknown"
    try:
        commit = subprocess.run(
            ["git", "-C", str(HERE), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        out["partita"] += f" (git {commit})"
    except (OSError, subprocess.CalledProcessError):
        pass
    for name in sorted(frameworks - {"partita"}):
        peer = PEERS[name]
        proc = subprocess.run(
            [
                str(peer.python),
                "-c",
                f"import importlib.metadata as m; print(m.version({peer.package!r}))",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        out[name] = proc.stdout.strip() or f"unknown ({proc.stderr.strip()[-100:]})"
    return out


def _env_for(framework: str) -> dict[str, str] | None:
    return None if framework == "partita" else peer_env(PEERS[framework])


def _cell_key(w: Workload, v: Variant) -> str:
    return f"{w.key}|{v.label}"


def _scale_skip(
    w: Workload, v: Variant, results: dict[str, dict[str, Any]], limit: float
) -> str | None:
    """Why a peer's W5 run is skipped, or None to run it."""
    if v.framework == "partita" or w.scale_from is None:
        return None
    base = results.get(f"{w.scale_from}|{v.label}")
    if base is None:
        return None  # nothing to predict from: run it, the limit still applies
    if "error" in base:
        return f"skipped: {v.framework} {w.scale_from} did not finish ({base['error']})"
    partita_n = {"W5a": 10_000, "W5b": 100_000}[w.key]
    predicted = base["per_task_ms"] / 1e3 * partita_n
    if predicted > 0.8 * limit:
        return (
            f"skipped: {w.scale_from} took {base['run_s']['median']:.1f} s for "
            f"{base['instances']} tasks ({base['per_task_ms']:.3g} ms/task); "
            f"{partita_n:,} tasks would take ~{predicted:.0f} s, over the {limit:.0f} s limit"
        )
    return None


def run_matrix(
    keys: list[str],
    frameworks: set[str],
    repeat: int,
    scale_repeat: int,
    base_limit: float,
    slow: float,
) -> dict[str, dict[str, Any]]:
    chosen = [w for w in WORKLOADS if w.key in keys]
    variants = [v for v in VARIANTS if v.framework in frameworks]
    for name in sorted(frameworks - {"partita"}):
        ensure(PEERS[name])
    results: dict[str, dict[str, Any]] = {}
    for phase in ([w for w in chosen if w.scale_from is None], [w for w in chosen if w.scale_from]):
        samples: dict[str, list[dict[str, Any]]] = {}
        skips: dict[str, str] = {}
        for w in phase:
            for v in variants:
                key = _cell_key(w, v)
                if v.argv(w) is None:
                    continue
                if v.framework in w.unsupported:
                    skips[key] = f"n/a: {w.unsupported[v.framework]}"
                    continue
                reason = _scale_skip(w, v, results, limit_for(v.framework, w, base_limit))
                if reason:
                    skips[key] = reason
                    continue
                samples[key] = []
        rounds = repeat
        for r in range(rounds):
            for w in phase:
                order = variants[r % len(variants) :] + variants[: r % len(variants)]
                for v in order:
                    key = _cell_key(w, v)
                    if key not in samples:
                        continue
                    done = samples[key]
                    if any(s.get("timed_out") for s in done):
                        continue  # one time-out is the answer; do not spend the limit again
                    if v.framework != "partita" and any(s.get("run_s", 0) > slow for s in done):
                        continue  # a peer run over `slow` seconds is measured once
                    if w.scale_from and v.framework != "partita" and len(done) >= scale_repeat:
                        continue
                    argv = v.argv(w)
                    assert argv is not None
                    limit = limit_for(v.framework, w, base_limit)
                    print(
                        f"  [{r + 1}/{rounds}] {w.key} {v.label} ...",
                        end="",
                        flush=True,
                        file=sys.stderr,
                    )
                    sample = run_once(argv, limit, env=_env_for(v.framework))
                    done.append(sample)
                    shown = sample.get("error") or f"{sample['run_s']:.3f} s"
                    print(f" {shown}", file=sys.stderr, flush=True)
        for key, s in samples.items():
            results[key] = summarize(s)
            if any(x.get("timed_out") for x in s):
                results[key]["timed_out"] = next(x["error"] for x in s if x.get("timed_out"))
            if len(s) < repeat and any(x.get("run_s", 0) > slow for x in s):
                results[key]["not_repeated"] = f"over {slow:.0f} s: not repeated"
        for key, reason in skips.items():
            results[key] = {"skipped": reason}
    return results


# -- reporting ----------------------------------------------------------------------


def _fmt_ms(ms: float) -> str:
    return f"{ms:,.0f}" if ms >= 1000 else f"{ms:.3g}"


def _fastest_peer(
    w: Workload, results: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any]] | None:
    best: tuple[str, dict[str, Any]] | None = None
    for v in VARIANTS:
        r = results.get(_cell_key(w, v))
        if v.framework == "partita" or r is None or "per_task_ms" not in r:
            continue
        if best is None or r["per_task_ms"] < best[1]["per_task_ms"]:
            best = (v.label, r)
    return best


def _ratio(peer: dict[str, Any], mine: dict[str, Any] | None) -> float | None:
    if not mine or "per_task_ms" not in mine or "per_task_ms" not in peer:
        return None
    return float(peer["per_task_ms"] / mine["per_task_ms"])


def workload_table(w: Workload, results: dict[str, dict[str, Any]]) -> str:
    mem = results.get(_cell_key(w, VARIANTS[0]))
    sql = results.get(_cell_key(w, VARIANTS[1]))
    lines = [
        f"**{w.key}** {w.title}",
        "",
        "| framework | runs | run s, median [min-max] | process s | ms / task | peak MB "
        "| peer ÷ partita (memory / SQLite) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for v in VARIANTS:
        r = results.get(_cell_key(w, v))
        if r is None:
            continue
        if "skipped" in r:
            lines.append(f"| {v.label} | 0 | {r['skipped']} | | | | |")
            continue
        if "per_task_ms" not in r:
            what = (
                f"**{r['error']}** (not repeated)"
                if r.get("timed_out")
                else (f"**failed**: {r['error']}")
            )
            lines.append(f"| {v.label} | 0 | {what} | | | | |")
            continue
        run = r["run_s"]
        runs = f"{r['runs']}" + (f" (+{r['failures']} failed)" if r["failures"] else "")
        if r.get("timed_out"):
            runs += f" (+1 {r['timed_out']})"
        if r.get("not_repeated"):
            runs += f" ({r['not_repeated']})"
        ratio = ""
        if v.framework != "partita":
            parts = [_ratio(r, mem), _ratio(r, sql)]
            ratio = " / ".join(
                f"{p:,.0f}x" if p and p >= 10 else (f"{p:.2f}x" if p else "-") for p in parts
            )
        label = v.label
        if "server_s" in r:
            label += f" [untimed warm-up incl. server start: {r['server_s']:.1f} s]"
        lines.append(
            f"| {label} | {runs} | {run['median']:.4g} [{run['min']:.4g}-{run['max']:.4g}] "
            f"| {r['process_s']:.2f} | {_fmt_ms(r['per_task_ms'])} | {r['peak_mb']:.0f} | {ratio} |"
        )
    return "\n".join(lines)


TARGETS = {"W1": 50.0, "W2": 50.0, "W3": 50.0, "W4": 1.0, "W4L": 1.0}


def targets(results: dict[str, dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    out = []
    for w in WORKLOADS:
        if w.key not in TARGETS or w.key not in keys:
            continue
        need = TARGETS[w.key]
        fastest = _fastest_peer(w, results)
        mem = results.get(_cell_key(w, VARIANTS[0]))
        sql = results.get(_cell_key(w, VARIANTS[1]))
        row: dict[str, Any] = {"workload": w.key, "needed": need}
        if fastest is None or not mem or "per_task_ms" not in mem:
            row["result"] = "not measured"
            out.append(row)
            continue
        row.update(
            fastest_peer=fastest[0],
            peer_ms=fastest[1]["per_task_ms"],
            partita_ms=mem["per_task_ms"],
            ratio=_ratio(fastest[1], mem),
            ratio_sqlite=_ratio(fastest[1], sql),
        )
        row["result"] = "PASS" if row["ratio"] >= need else "FAIL"
        out.append(row)
    return out


def targets_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| target | fastest peer | its ms / task | partita ms / task (memory) "
        "| ratio (memory) | ratio (SQLite) | result |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        need = row["needed"]
        what = (
            f"{row['workload']}: ≥ {need:.0f}x faster per task"
            if need > 1
            else f"{row['workload']}: no slower than the fastest peer"
        )
        if "ratio" not in row:
            lines.append(f"| {what} | | | | | | {row['result']} |")
            continue
        sqlite = f"{row['ratio_sqlite']:,.1f}x" if row.get("ratio_sqlite") else "-"
        lines.append(
            f"| {what} | {row['fastest_peer']} | {_fmt_ms(row['peer_ms'])} "
            f"| {_fmt_ms(row['partita_ms'])} | {row['ratio']:,.1f}x | {sqlite} "
            f"| **{row['result']}** |"
        )
    return "\n".join(lines)


def report(meta: dict[str, Any], results: dict[str, dict[str, Any]], keys: list[str]) -> str:
    v = meta["versions"]
    peers = ", ".join(f"{k} {val}" for k, val in v.items() if k != "partita")
    head = [
        f"Run {meta['date']:%Y-%m-%d %H:%M} UTC on {meta['machine']} (Python "
        f"{meta['python']}); partita {v.get('partita')}; {peers or 'no peers'}. "
        f"{meta['repeat']} repetitions per cell (W5 peers: {meta['scale_repeat']}; a peer run "
        f"over {meta['slow']:.0f} s is not repeated), "
        f"base time limit {meta['limit']:.0f} s per run; load average "
        f"{meta['load_start']} at start, {meta['load_end']} at end.",
        "",
        "Mode: in-process test run. The production path (partita's scheduler and worker "
        "pool against Airflow's scheduler + LocalExecutor, Dagster's multiprocess executor "
        "and Prefect's process pool) is measured by `bench/run.py --production --peers`; "
        "see the section on it above.",
        "",
    ]
    body = [workload_table(w, results) + "\n" for w in WORKLOADS if w.key in keys]
    tgt = ["**Targets** (issue 6; ratio = fastest peer's time per task ÷ partita's)", ""]
    tgt.append(targets_table(meta["targets"]))
    return "\n".join(head + body + tgt)


def main(
    keys: list[str],
    frameworks: set[str],
    repeat: int,
    scale_repeat: int,
    limit: float,
    slow: float,
) -> dict[str, Any]:
    frameworks = frameworks | {"partita"}
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    meta: dict[str, Any] = {
        "date": datetime.now(UTC),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "repeat": repeat,
        "scale_repeat": scale_repeat,
        "limit": limit,
        "slow": slow,
        "load_start": load_start,
        "bench_home": str(HOME),
    }
    print(f"peers home: {HOME}", file=sys.stderr)
    results = run_matrix(keys, frameworks, repeat, scale_repeat, limit, slow)
    meta["versions"] = versions(frameworks)
    meta["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    meta["targets"] = targets(results, keys)
    meta["markdown"] = report(meta, results, keys)
    meta["results"] = results
    return meta
