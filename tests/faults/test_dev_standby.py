"""A dev standby that cannot run (SIGSTOPped, say by a debugger or a job-control slip)
must not cost the save: the save is served all the same, cold."""

from __future__ import annotations

import signal
from pathlib import Path

import psutil
import pytest
from harness import wait_until
from test_dev_warm import body, gone, new_code, standby, start_dev, write_helper

pytestmark = pytest.mark.timeout(120)


def test_a_stopped_standby_costs_only_a_cold_start(gaia, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    g, src, port = start_dev(gaia, tmp_path, "gunicorn", 'start_timeout = "60s"')
    first = wait_until(lambda: standby(g.pid), 20, "a standby")
    assert isinstance(first, psutil.Process)
    first.send_signal(signal.SIGSTOP)
    wait_until(lambda: first.status() == psutil.STATUS_STOPPED, 5, "the standby stopped")
    assert body(port).startswith("v1")
    write_helper(src, "v2")
    wait_until(lambda: new_code(port, "v2"), 20, "v2 served though the standby was stopped")
    assert "not applied" not in g.output() and "still serving" not in g.output()
    assert g.stop() == 0
    wait_until(lambda: gone(first), 5, "the stopped standby gone with gaia")
