"""`gaia logs -f` on a logger so fast that its file rotates every few milliseconds: every line
shows exactly once, in order, and following never crashes on a file rotated away."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from harness import FIXTURES, wait_until

LINES = 300_000  # ~110 bytes each in the log file: ~33 MB, some 16 rotations at 2 MiB


@pytest.mark.timeout(180)
def test_following_a_fast_rotating_log_shows_every_line_once_in_order(gaia, tmp_path: Path) -> None:
    report, go = tmp_path / "elapsed", tmp_path / "go"
    # The logger waits for `go`, so that following starts before its first line.
    script = (
        f"echo ready; while [ ! -e {go} ]; do sleep 0.05; done;"
        f" exec python {FIXTURES / 'fast_logger.py'} {LINES} {report}"
    )
    # keep = 8: a follower descheduled on a loaded machine has 16 MiB of rotations to
    # find the next file in; a gap past that is reported (unit tests), not under test here.
    g = gaia(f"""
        [gaia]
        logs = {{ max_size = "2MiB", keep = 8 }}

        [apps.fast]
        command = ["sh", "-c", "{script}"]
    """)
    logs = tmp_path / ".gaia" / "logs"
    wait_until(lambda: b"ready" in _read(logs / "fast.log"), 30, "the logger waiting")
    shown = tmp_path / "shown"
    with shown.open("wb") as out:
        follow = subprocess.Popen(
            [sys.executable, "-m", "gaia_runner", "logs", "-f", "-n", "1", "fast"],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        # The recent lines are printed once the files are held open: following has begun.
        wait_until(lambda: b"ready" in shown.read_bytes(), 30, "gaia logs -f to start")
        go.touch()
        wait_until(report.exists, 90, "the logger to finish writing")
        last = f"line {LINES - 1:09d} ".encode()
        wait_until(lambda: last in shown.read_bytes(), 60, "gaia logs -f to show the last line")
        assert follow.poll() is None, shown.read_bytes()[-2000:]
    finally:
        follow.send_signal(signal.SIGTERM)
        follow.wait(10)
    text = shown.read_bytes()
    assert b"Traceback" not in text, text[-3000:]
    numbers = [int(n) for n in re.findall(rb"^fast \| line (\d{9}) ", text, re.MULTILINE)]
    assert numbers == list(range(LINES)), "lines lost, doubled or out of order"
    assert b"lines may be missing" not in text
    assert g.stop() == 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
