"""gaia's own event log is logs/gaia.log and its lines are prefixed "gaia": no app may
take that name (a live edit that adds one is refused too: see test_bad_edits.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from harness import run_cli


def test_an_app_named_gaia_is_refused_where_it_is_written(tmp_path: Path) -> None:
    """gaia's event log is logs/gaia.log: an app of that name would write and rotate it."""
    config = tmp_path / "gaia.toml"
    config.write_text(
        textwrap.dedent(f"""\
            [gaia]
            state_dir = "{tmp_path / "state"}"

            [apps.gaia]
            command = ["python", "-c", "import time; time.sleep(120)"]
        """)
    )
    for command in (("check",), ("up", "--no-tui")):
        done = run_cli(*command, "-c", str(config), cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert f"{config}:4: apps.gaia: app name 'gaia' is reserved" in done.stderr
        assert "[apps.gaia-app]" in done.stderr  # what to write instead
    assert not (tmp_path / "state").exists()
