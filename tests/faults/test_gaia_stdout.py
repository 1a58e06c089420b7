"""gaia's stdout failing (`gaia up | head` exiting, a full disk under `gaia up > file`, a pipe
nobody reads) must not touch the apps, their log files, or gaia's clean exit."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from harness import FAST_TIMINGS, FIXTURES, free_port, http_get, run_cli, try_get, wait_until

Started = tuple[subprocess.Popen[bytes], int, Path]
STOP_TIMEOUT = 5


@pytest.fixture
def gaia_up(tmp_path: Path) -> Iterator[Callable[[int | IO[bytes], int], Started]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(stdout: int | IO[bytes], rate: int) -> Started:
        proc, port = _start(tmp_path, stdout, rate)
        procs.append(proc)
        return proc, port, tmp_path

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _start(
    tmp_path: Path, stdout: int | IO[bytes], rate: int
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = tmp_path / "gaia.toml"
    config.write_text(
        textwrap.dedent(f"""
        [apps.chatty]
        app = "chatty:app"
        server = "uvicorn"
        bind = "127.0.0.1:{port}"

        [gaia]
        stop_timeout = "{STOP_TIMEOUT}s"
        """)
    )
    env = {**os.environ, **FAST_TIMINGS, "PYTHONPATH": str(FIXTURES)}
    env["CHATTY_BYTES_PER_SECOND"] = str(rate)
    with (tmp_path / "stderr").open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gaia_runner", "up", "--no-tui", "-c", str(config)],
            cwd=tmp_path,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    return proc, port


def _read_until(proc: subprocess.Popen[bytes], needle: bytes, timeout: float) -> None:
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {needle!r} on stdout within {timeout}s"
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, "gaia closed its stdout"
            seen = seen[-4096:] + chunk


@pytest.mark.timeout(60)
def test_a_closed_stdout_leaves_apps_serving_and_gaia_stops_cleanly(gaia_up) -> None:
    proc, port, workdir = gaia_up(subprocess.PIPE, 200_000)
    _read_until(proc, b"chatty: starting -> running", 30)
    assert proc.stdout is not None
    proc.stdout.close()
    log = workdir / ".gaia" / "logs" / "chatty.log"
    size = log.stat().st_size
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        assert http_get(port, "/", timeout=3) == (200, "ok")
    wait_until(lambda: log.stat().st_size > size, 10, "the log file still growing")
    assert proc.poll() is None, "gaia exited"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0, (workdir / "stderr").read_text()
    assert try_get(port, timeout=0.5) is None
    assert (workdir / "stderr").read_bytes().count(b"stdout is closed") == 1


def _free(disk: Path) -> int:
    stats = os.statvfs(disk)
    return stats.f_bavail * stats.f_frsize


@pytest.mark.timeout(60)
def test_stdout_on_a_full_disk_leaves_apps_serving_and_resumes(
    tmp_path: Path, small_disk, gaia_up
) -> None:
    disk = small_disk(tmp_path / "out", "1m")
    ballast = disk / "ballast"
    with (disk / "gaia.out").open("wb") as out:
        proc, port, workdir = gaia_up(out, 2_000_000)
    wait_until(lambda: try_get(port), 30, "first answer")
    # Fill what is left: gaia's next write to its stdout fails with ENOSPC.
    with ballast.open("wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)
    stderr = workdir / "stderr"
    log = workdir / ".gaia" / "logs" / "chatty.log"
    size = log.stat().st_size
    # At 2 MB/s the app's 1 MiB pipe would fill within a second if gaia stopped reading.
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        assert http_get(port, "/", timeout=3) == (200, "ok")
    wait_until(lambda: log.stat().st_size > size, 10, "the log file still growing")
    wait_until(lambda: b"cannot write to stdout" in stderr.read_bytes(), 10, "gaia noticing")
    assert proc.poll() is None, "gaia exited"
    # Said once on stderr, not once per line that could not be shown.
    assert stderr.read_bytes().count(b"cannot write to stdout") == 1

    ballast.unlink()
    wait_until(
        lambda: re.search(
            rb"output resumed; \d+ lines were not shown", (disk / "gaia.out").read_bytes()
        ),
        10,
        "stdout resuming",
    )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0, stderr.read_text()


def _chatter_numbers(logs: Path) -> list[int]:
    files = sorted(logs.glob("chatty.log.*"), key=lambda p: -int(p.suffix[1:]))
    return [
        int(n)
        for path in [*files, logs / "chatty.log"]
        for n in re.findall(rb"chatter (\d{9}) ", path.read_bytes())
    ]


@pytest.mark.timeout(90)
def test_a_stdout_nobody_reads_blocks_neither_apps_nor_gaia(gaia_up) -> None:
    # `gaia up | sleep 600`: the read end stays open and is never read.
    read_end, write_end = os.pipe()
    try:
        proc, port, workdir = gaia_up(write_end, 1_000_000)
        os.close(write_end)
        stderr = workdir / "stderr"
        log = workdir / ".gaia" / "logs" / "chatty.log"
        # Well past what the pipe (64 KiB), gaia's queue (1 MiB) and the app's own pipe hold:
        # a gaia blocked on its stdout stops reading the app, whose requests then hang.
        wait_until(
            lambda: log.exists() and log.stat().st_size > 4_000_000,
            30,
            "the app's output flowing past a stdout nobody reads",
        )
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            assert http_get(port, "/", timeout=3) == (200, "ok")
        status = run_cli("status", "-c", str(workdir / "gaia.toml"), cwd=workdir, timeout=5)
        assert status.returncode == 0 and "chatty" in status.stdout, status.stderr
        assert proc.poll() is None, "gaia exited"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(STOP_TIMEOUT + 5) == 0, stderr.read_text()
        assert stderr.read_bytes().count(b"stdout is not being read") == 1
    finally:
        os.close(read_end)
    numbers = _chatter_numbers(workdir / ".gaia" / "logs")
    assert len(numbers) > 10_000
    assert numbers == list(range(len(numbers))), "the app's log file lost or reordered lines"
