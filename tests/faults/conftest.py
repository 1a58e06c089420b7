"""Fault tests: the real `gaia` CLI against hostile state dirs, stale pids, bad clients."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness import FIXTURES, Gaia


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
                runner.proc.kill()
                runner.proc.wait(5)


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """One short-lived gaia command (check, reload, status...)."""
    import os

    full_env = {**os.environ, "PYTHONPATH": str(FIXTURES), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gaia_runner", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
