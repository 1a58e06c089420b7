"""The benchmark harness must not rot: `python -m bench --quick` runs and yields every figure.

Never asserts a timing: this machine is shared and noisy. A figure or a column that cannot
run here (wrk, peers or a gaia feature missing) must say so with an explicit "n/a" reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = (
    "f1_throughput",
    "f2_cold_start",
    "f3_footprint",
    "f4_kills",
    "f5_config_change",
    "f6_memory_limit",
    "f7_crash_loop",
    "f8_reload",
    "f9_scale",
    "f10_log_throughput",
    "f11_metrics",
    "f12_table_cpu",
    "f13_dev_reload",
    "f14_top_cpu",
    "f15_adaptive",
)


def _cell_ok(value: object) -> bool:
    if isinstance(value, dict):
        return "median" in value
    return isinstance(value, str) and bool(value)


@pytest.mark.timeout(660)
def test_quick_bench_produces_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json-out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=640,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| target |" in done.stdout
    figures = json.loads(out.read_text())["figures"]
    assert set(FIGURES) <= set(figures), sorted(figures)
    for key in FIGURES:
        figure = figures[key]
        if figure["status"] != "ok":
            assert figure["status"].startswith("n/a"), (key, figure["status"])
            continue
        assert figure["rows"], key
        for row in figure["rows"]:
            for column in figure["columns"]:
                assert _cell_ok(row["values"].get(column)), (key, row["target"], column)
