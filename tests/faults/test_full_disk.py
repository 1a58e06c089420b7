"""A full disk under the log files must not freeze the apps that write them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import free_port, http_get, try_get, wait_until

BALLAST_CHUNK = 64 * 1024


def _fill(disk: Path, leave: int) -> Path:
    """Fill the disk with a ballast file until about `leave` bytes are free."""
    ballast = disk / "ballast"
    with ballast.open("wb") as f:
        while _free(disk) > leave + BALLAST_CHUNK:
            f.write(b"\0" * BALLAST_CHUNK)
            f.flush()
    return ballast


def _free(disk: Path) -> int:
    stats = os.statvfs(disk)
    return stats.f_bavail * stats.f_frsize


def _serves_for(port: int, seconds: float) -> int:
    """Every request in `seconds` must be answered (each logs a line before answering)."""
    answered = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, body = http_get(port, "/", timeout=3)
        assert (status, body) == (200, "ok")
        answered += 1
    return answered


@pytest.mark.timeout(90)
def test_a_full_disk_neither_freezes_the_app_nor_stops_its_output(small_disk, gaia) -> None:
    port = free_port()
    g = gaia(
        f"""
        [apps.chatty]
        app = "chatty:app"
        server = "uvicorn"
        bind = "127.0.0.1:{port}"
        """,
        env={"CHATTY_BYTES_PER_SECOND": "2000000"},
        start=False,
    )
    disk = small_disk(g.workdir / ".gaia" / "logs", "4m")
    ballast = _fill(disk, leave=512 * 1024)
    g.start()
    wait_until(lambda: try_get(port), 20, "first answer")
    wait_until(lambda: _free(disk) < BALLAST_CHUNK, 20, "the disk to fill up")
    # The 1 MiB pipe would fill within a second at 2 MB/s if gaia had stopped reading.
    assert _serves_for(port, 3.0) > 0
    g.wait_for(r"chatty: cannot write .*chatty\.log \(No space left on device\)", timeout=10)
    status = subprocess.run(
        [sys.executable, "-m", "gaia_runner", "status", "-c", str(g.config_path)],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=g.workdir,
    )
    unwritten = re.search(r"chatty: (\d+) output lines could not be written", status.stdout)
    assert unwritten, status.stdout + status.stderr
    assert int(unwritten.group(1)) > 0
    assert len(re.findall(r"cannot write .*chatty\.log", g.output())) == 1, (
        "one line, not one per line"
    )

    mark = g.mark()
    ballast.unlink()
    resumed = g.wait_for(r"chatty: writing .*chatty\.log again; (\d+) lines were lost", start=mark)
    assert int(resumed.group(1)) > 0
    log = disk / "chatty.log"
    wait_until(
        lambda: re.search(rb"\[gaia\] \d+ lines could not be written here", log.read_bytes()),
        10,
        "the gap recorded in the log file",
    )
    size = log.stat().st_size
    wait_until(lambda: log.stat().st_size > size, 10, "the log file growing again")
    assert _serves_for(port, 1.0) > 0
    assert g.stop() == 0
