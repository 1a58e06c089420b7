"""Issue 19.9 (the retry part): two apps whose prestart steps race for one resource (both
run `manage.py migrate` on one database): the loser's failed step is a failed start,
retried with the app's backoff, so both end up running instead of one FAILED for good."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import free_port, try_get, wait_until

pytestmark = pytest.mark.timeout(90)

# A migration that refuses to run while another holds the lock (a directory: mkdir is atomic).
MIGRATE = '["sh", "-c", "mkdir {lock} || {{ echo locked; exit 1; }}; sleep 1; rmdir {lock}"]'

APPS = """
    [apps.{name}]
    app = "hello:app"
    bind = "127.0.0.1:{port}"
    prestart = [{migrate}]
    backoff = {{ initial = "1s" }}
    {extra}
"""


def _config(tmp_path: Path, ports: tuple[int, int], extra: str = "") -> str:
    migrate = MIGRATE.format(lock=tmp_path / "migration.lock")
    return "".join(
        APPS.format(name=name, port=port, migrate=migrate, extra=extra)
        for name, port in zip(("one", "two"), ports, strict=True)
    )


def test_a_prestart_that_lost_a_race_is_retried(gaia, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ports = (free_port(), free_port())
    g = gaia(_config(tmp_path, ports))
    g.wait_for(r"(one|two):prestart \| locked", timeout=30)
    g.wait_for(r"(one|two): prestart -> backoff: .*retry in", timeout=30)
    for port in ports:
        wait_until(lambda p=port: try_get(p) is not None, 40, f"the app on {port}")
    assert "-> failed" not in g.output()
    assert g.stop() == 0


def test_retry_prestart_false_fails_at_once(gaia, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ports = (free_port(), free_port())
    g = gaia(_config(tmp_path, ports, extra="retry_prestart = false"))
    g.wait_for(r"(one|two): prestart -> failed: prestart .* exit code 1", timeout=30)
    assert g.stop() == 0
