"""Real `gaia up` processes for fault tests; every one is stopped, even when a test fails."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness import Gaia


@pytest.fixture
def gaia(tmp_path: Path) -> Iterator[Callable[..., Gaia]]:
    started: list[Gaia] = []

    def make(config: str, *args: str, env: dict[str, str] | None = None) -> Gaia:
        runner = Gaia(tmp_path, config, tuple(args), dict(env or {}))
        started.append(runner)
        return runner.start()

    yield make
    for runner in started:
        if runner.proc is not None and runner.proc.poll() is None:
            runner.proc.send_signal(signal.SIGTERM)
            try:
                runner.proc.wait(30)
            except subprocess.TimeoutExpired:
                runner.proc.kill()
                runner.proc.wait(5)
