"""An app's user cannot reach root's files through /proc's magic links: a per-app input is
read with no capability left in the reading thread, so /proc/PID/cwd of a root process is as
closed to it as the directory itself (found by the adversarial pass of issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gaia_runner.config.inputs import InputError, ReadAs, read_input

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.skipif(os.geteuid() != 0, reason="reading as another user needs root"),
]


def test_a_root_processs_cwd_is_not_a_way_in(tmp_path: Path, open_dir: Path) -> None:
    nobody = ReadAs.for_user("nobody")
    assert nobody is not None
    vault = tmp_path / "vault"  # root's, closed to everyone else
    vault.mkdir(mode=0o700)
    (vault / "backup.env").write_text("DB_PASSWORD=hunter2\n")
    (vault / "backup.env").chmod(0o644)  # readable, but only past a closed directory
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=vault)
    try:
        own_cwd = Path.cwd()
        os.chdir(vault)  # gaia itself started from inside the vault: /proc/self/cwd
        try:
            link = open_dir / "app.env"
            link.symlink_to("/proc/self/cwd/backup.env")
            with pytest.raises(InputError, match="/proc link"):
                read_input(link, what="env file", as_user=nobody)
        finally:
            os.chdir(own_cwd)
        for target in (
            f"/proc/{sleeper.pid}/cwd/backup.env",
            f"/proc/{sleeper.pid}/root{vault}/backup.env",
        ):
            link = open_dir / "app.env"
            link.unlink(missing_ok=True)
            link.symlink_to(target)
            with pytest.raises(InputError):
                read_input(link, what="env file", as_user=nobody)
        # gaia's own reads (no user) still work: root may read its own files.
        assert read_input(vault / "backup.env", what="env file") == b"DB_PASSWORD=hunter2\n"
    finally:
        sleeper.kill()
        sleeper.wait(5)


def test_the_change_check_reads_an_apps_files_as_its_user(open_dir: Path, tmp_path: Path) -> None:
    """gaia's periodic content check must not be a root reader an app's user can aim: the
    digest of a link to root's file cannot change with that file's content."""
    from gaia_runner.watch import fingerprint

    nobody = ReadAs.for_user("nobody")
    secret = tmp_path / "secret.env"  # tmp_path is closed to others
    secret.write_text("A=1\n")
    link = open_dir / "app.env"
    link.symlink_to(secret)
    before = fingerprint([link], readers={link: nobody})
    secret.write_text("A=2\n")
    assert fingerprint([link], readers={link: nobody}) == before
    assert fingerprint([link]) != before  # as gaia's own user the change shows
