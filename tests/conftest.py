"""Suite-wide: a test that leaves a process behind is a failing test; the `gaia` runner fixture;
every test is marked by the suite it belongs to, so `pytest -m unit` is the everyday loop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from harness import Gaia
from nginx import socket_dir
from users import app_user, new_user, open_dir

TESTS = Path(__file__).parent
# The folder a test lives in is its suite: nothing to remember when adding a test.
SUITES = ("unit", "faults", "integration", "export", "bench")

__all__ = ["app_user", "new_user", "open_dir", "socket_dir"]  # fixtures every suite may use

# A suite started in the background by a script (`pytest &`, no job control) inherits SIGINT
# ignored, and so would every gaia it starts: a SIGINT in the instants before gaia's first line
# would be lost. Tests send SIGINT as a terminal's Ctrl-C does, to a gaia that did not inherit
# it ignored (handlers set here are reset to the default in a child at exec).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

RUN_MARK = "GAIA_TEST_RUN"
RUN_ID = uuid.uuid4().hex
os.environ[RUN_MARK] = RUN_ID  # inherited by every process a test starts


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        suite = Path(item.fspath).relative_to(TESTS).parts[0]
        if suite in SUITES:
            item.add_marker(getattr(pytest.mark, suite))


def marked_processes() -> list[psutil.Process]:
    """Every live process started by this test run, even ones reparented to init."""
    found = []
    me = os.getpid()
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get(RUN_MARK) == RUN_ID:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def wait_gone(timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while True:
        left = marked_processes()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def no_leaked_processes() -> Iterator[None]:
    yield
    left = wait_gone(5.0)
    for proc in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    assert not left, "processes left behind: " + ", ".join(
        f"{p.pid} {' '.join(p.cmdline())[:80]}" for p in left if p.is_running()
    )


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
