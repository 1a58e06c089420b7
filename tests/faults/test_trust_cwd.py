"""An app's working directory is entered as the app's user, never as root: a `current ->
releases/N` link the user owns cannot take root into a directory only root may enter (found
by the adversarial pass of issue 18)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")

CONFIG = """
    [apps.peek]
    command = ["python", "-c", "print('read:', open('backup.sql').read(), flush=True)"]
    user = "{user}"
    cwd = "{cwd}"
    restart = "never"
"""


@pytest.mark.timeout(60)
def test_a_cwd_link_to_roots_directory_is_not_entered(
    gaia, app_user: str, tmp_path: Path, open_dir: Path
) -> None:
    vault = tmp_path / "vault"  # closed: only root may pass
    vault.mkdir(mode=0o700)
    data = vault / "data"  # open inside, as data directories often are
    data.mkdir(mode=0o755)
    (data / "backup.sql").write_text("root's data\n")
    (data / "backup.sql").chmod(0o644)
    current = open_dir / "current"
    current.symlink_to(data)  # the user's own link, in the user's own directory
    g = gaia(CONFIG.format(user=app_user, cwd=current))
    g.wait_for(r"peek: .*cannot enter the working directory", timeout=30)
    assert "root's data" not in g.output()
    assert g.stop() == 0


@pytest.mark.timeout(30)
def test_dev_mode_as_root_refuses_apps_of_other_users(tmp_path: Path) -> None:
    """The code watch would walk the user's directory as root, through the user's links."""
    from harness import run_cli

    (tmp_path / "gaia.toml").write_text(
        '[apps.peek]\ncommand = ["true"]\nuser = "nobody"\ncwd = "/tmp"\n'
    )
    done = run_cli("up", "--dev", "--no-tui", "-c", str(tmp_path / "gaia.toml"), cwd=tmp_path)
    assert done.returncode == 2
    assert "--dev as root with apps that run as another user (peek)" in done.stderr
