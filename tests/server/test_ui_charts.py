"""The SVG pictures of the asset and backfill pages (``ui.charts``) and the server's code
cache (``server.code``): a strip of many partitions drawn as ranges, a line chart, a
progress bar, lineage links; code loaded again when a file changes."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from partita.server.code import CodeCache
from partita.server.ui.charts import STRIP_CELLS, line_chart, lineage, partition_strip, progress_bar
from partita.settings import load_settings


def test_a_strip_of_many_partitions_draws_one_cell_per_range() -> None:
    keys = [f"k{i:05d}" for i in range(10_000)]
    status = {k: "materialized" for k in keys[:6000]} | {keys[6000]: "failed"}
    strip = partition_strip(keys, status)
    cells = re.findall(r'class="ps-(\w+)" x="[^"]+" y="0" width="([^"]+)"', strip)
    assert [c[0] for c in cells] == ["materialized", "failed", "missing"]
    assert float(cells[0][1]) > 100 * float(cells[1][1])  # widths follow the counts
    assert "k00000...k05999 (6000)" in strip
    few = partition_strip(keys[:STRIP_CELLS], status)
    assert few.count("<rect") == STRIP_CELLS  # up to STRIP_CELLS: a cell per key


def test_a_line_chart_has_a_dot_per_value_and_escapes_its_name() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    points = [(t0 + timedelta(hours=i), float(v)) for i, v in enumerate([3, 9, 4])]
    svg = line_chart("<rows>", points)
    assert svg.count('<circle class="dot"') == 3 and "&lt;rows&gt;" in svg
    assert ">9<" in svg and ">3<" in svg  # the axis runs from the lowest to the highest
    ys = [float(y) for y in re.findall(r'cy="([^"]+)"', svg)]
    assert ys[1] < ys[2] < ys[0]  # higher values are drawn higher
    assert "No value" in line_chart("x", [])


def test_a_progress_bar_splits_by_state_and_lineage_links_each_asset() -> None:
    bar = progress_bar({"success": 3, "failed": 1, "queued": 0}, 8)
    assert re.findall(r'class="st-(\w+)" x="[^"]+" y="0" width="([^"]+)"', bar) == [
        ("success", "225.0"), ("failed", "75.0")
    ]  # fmt: skip
    graph = lineage({"a/b": [], "c": ["a/b"]}, {"a/b": "fresh", "c": "stale"}, focus="c")
    assert 'href="/assets/a/b"' in graph and 'class="node focus" data-asset="c"' in graph
    assert graph.count('class="edge"') == 1


CODE = """
from partita import DAG, Definitions, RunRequest, sensor

with DAG("x", schedule=None) as x:
    pass

@sensor(job="x")
def first(context):
    yield RunRequest()

defs = Definitions(dags=[x], sensors=[first])
"""


def test_the_code_cache_loads_again_when_a_file_changes(tmp_path: Path) -> None:
    code = tmp_path / "code.py"
    code.write_text(CODE)
    (tmp_path / "partita.yaml").write_text(f"code_locations:\n  - {code}\n")
    cache = CodeCache(load_settings(env={"PARTITA_HOME": str(tmp_path)}, cwd=tmp_path))
    assert list(cache.get().sensors) == ["first"]
    assert cache.get() is cache.get()  # unchanged files: not loaded again
    code.write_text(code.read_text().replace("first", "second"))
    stat = code.stat()
    os.utime(code, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert list(cache.get().sensors) == ["second"]
