from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness import Gaia


@pytest.fixture
def gaia(tmp_path: Path) -> Iterator[Callable[..., Gaia]]:
    started: list[Gaia] = []

    def make(
        config: str, *args: str, env: dict[str, str] | None = None, start: bool = True
    ) -> Gaia:
        runner = Gaia(tmp_path, config, tuple(args), dict(env or {}))
        started.append(runner)
        return runner.start() if start else runner

    yield make
    for runner in started:
        if runner.proc is not None and runner.proc.poll() is None:
            runner.proc.send_signal(signal.SIGTERM)
            try:
                runner.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(runner.proc.pid, signal.SIGKILL)
                runner.proc.wait(5)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[Path, str], Path]]:
    """mount(path, size): a tmpfs of that size at path, unmounted at the end whatever happens."""
    mounted: list[Path] = []

    def mount(path: Path, size: str) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("a small disk needs root and mount(8)")
        done = subprocess.run(
            [
                "mount",
                "-t",
                "tmpfs",
                "-o",
                f"size={size}",
                f"gaia-test-{uuid.uuid4().hex[:8]}",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode != 0:
            pytest.skip(f"mounting a tmpfs is not allowed here: {done.stderr.strip()}")
        mounted.append(path)
        return path

    try:
        yield mount
    finally:
        for path in reversed(mounted):
            # Lazy: a process that still holds a log file open must not leave the mount behind.
            subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=10)
