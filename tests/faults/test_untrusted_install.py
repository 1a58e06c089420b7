"""gaia as root refuses to run from a Python install another user can write: that user's
`.pth` file or package would run as root at every start."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness import FIXTURES, free_port

import gaia_runner

CONFIG = """
[apps.web]
app = "hello:app"
bind = "127.0.0.1:{port}"
cwd = "{cwd}"
"""


@pytest.fixture
def venv() -> Iterator[Path]:
    """A venv of this interpreter that imports gaia and its dependencies from this checkout's
    install (one .pth file), in a directory any user may traverse."""
    root = Path(tempfile.mkdtemp(prefix="gaia-venv-"))
    root.chmod(0o755)
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root / "venv")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(root / "venv")}))
    checkout = Path(gaia_runner.__file__).parent.parent
    (purelib / "gaia-test.pth").write_text(f"{site.getsitepackages()[0]}\n{checkout}\n")
    (root / "gaia.toml").write_text(CONFIG.format(port=free_port(), cwd=FIXTURES))
    subprocess.run(["chmod", "-R", "go+rX", str(root)], check=True, timeout=30)  # any umask
    yield root
    shutil.rmtree(root, ignore_errors=True)


def gaia_from(venv: Path, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "venv" / "bin" / "python"), "-m", "gaia_runner", *args],
        cwd=venv,
        env={**os.environ, "PYTHONPATH": str(FIXTURES)},
        user=user,
        group=user,
        extra_groups=None if user is None else [],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def site_packages(venv: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(venv / "venv")}))


@pytest.mark.timeout(120)
def test_root_refuses_a_venv_whose_site_packages_another_user_owns(
    venv: Path, new_user: Callable[[], str]
) -> None:
    config = str(venv / "gaia.toml")
    # The same venv, root's alone: gaia runs from it.
    assert gaia_from(venv, "check", "-c", config).returncode == 0
    shutil.chown(site_packages(venv), new_user())
    for command in (["check", "-c", config], ["up", "--no-tui", "-c", config]):
        done = gaia_from(venv, *command)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "refusing to run as root" in done.stderr
        assert f"{site_packages(venv)}: owned by" in done.stderr
        assert "python3 -m venv /opt/gaia" in done.stderr
        assert not (venv / ".gaia").exists()  # `up` started nothing


@pytest.mark.timeout(120)
def test_export_systemd_warns_when_the_unit_would_run_a_writable_install(
    venv: Path, new_user: Callable[[], str]
) -> None:
    """Exported by the venv's owner (the deploy user), for a unit that runs gaia as root."""
    owner = new_user()
    shutil.chown(site_packages(venv), owner)
    shutil.chown(venv, owner)  # the project directory is the deploy user's too
    done = gaia_from(venv, "export", "systemd", "-c", str(venv / "gaia.toml"), user=owner)
    assert done.returncode == 0, done.stderr
    assert "ExecStart=" in done.stdout
    assert "warning: the unit runs gaia as root" in done.stderr
    assert f"{site_packages(venv)}: owned by {owner}" in done.stderr
    assert f"{venv}: owned by {owner}" in done.stderr
