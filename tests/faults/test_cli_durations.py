"""A duration on the command line is finite, not negative and bounded: refused with a
clear message before anything is started, never a traceback or a wait that never ends."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import run_cli

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("logs", "--since", "1e300"), "error: --since: must be at most 36500 days"),
        (("logs", "--since", "nan"), "error: --since: expected a duration"),
        (("up", "-d", "--wait", "-1"), "error: --wait: must not be negative"),
        (("up", "-d", "--wait", "nan"), "error: --wait: expected a duration"),
        (("up", "-d", "--wait", "inf"), "error: --wait: expected a duration"),
        (("down", "--timeout", "nan"), "error: --timeout: expected a duration"),
        (("down", "--timeout", "-5"), "error: --timeout: must not be negative"),
    ],
)
def test_a_bad_duration_flag_is_refused(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "gaia.toml").write_text('[apps.idle]\ncommand = "sleep 60"\n')
    logs = tmp_path / ".gaia" / "logs"
    logs.mkdir(parents=True, mode=0o700)
    (logs / "idle.log").write_text("2026-01-01T00:00:00.000+00:00 a line\n")
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stderr.startswith(message), done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / ".gaia" / "gaia.pid").exists()  # nothing was started
