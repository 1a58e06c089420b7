"""A very chatty app through the real gaia: every line reaches the log files, in order,
and rotation keeps each file within its size in bytes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from harness import FIXTURES, wait_until

from gaia_runner.logs.applog import KEEP_ROTATED

LINES = 400_000  # 80 bytes each (56 characters) + a 30-byte timestamp: 44 MB
MAX_LOG_BYTES = 12 * 1024 * 1024  # [gaia].logs.max_size: over three rotations, all kept


def _log_files(logs: Path) -> list[Path]:
    rotated = [logs / f"fast.log.{n}" for n in range(KEEP_ROTATED, 0, -1)]
    return [p for p in [*rotated, logs / "fast.log"] if p.exists()]


def _count(logs: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in _log_files(logs))


@pytest.mark.timeout(120)
def test_a_fast_logger_loses_no_line_and_rotation_counts_bytes(gaia, tmp_path: Path) -> None:
    report = tmp_path / "elapsed"
    g = gaia(f"""
        [gaia]
        logs = {{ max_size = "12MiB" }}

        [apps.fast]
        command = ["python", "{FIXTURES / "fast_logger.py"}", "{LINES}", "{report}"]
    """)
    logs = tmp_path / ".gaia" / "logs"
    wait_until(report.exists, 60, "the logger to finish writing")
    wait_until(lambda: _count(logs) >= LINES, 60, f"{LINES} lines in the log files")
    numbers = [
        int(m)
        for path in _log_files(logs)
        for m in re.findall(rb"^\S+ line (\d{9}) ", path.read_bytes(), re.MULTILINE)
    ]
    assert numbers == list(range(LINES)), "lines lost, doubled or out of order"
    # Multi-byte lines: a limit counted in characters would let files grow 40 % past it.
    assert all(p.stat().st_size <= MAX_LOG_BYTES for p in _log_files(logs))
    assert len(_log_files(logs)) == KEEP_ROTATED + 1
    # Throughput is measured in `python -m bench` (figure 10), not asserted on a shared box.
    assert g.stop() == 0
