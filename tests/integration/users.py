"""Real second users for the run-as-user and trust tests, deleted when the test ends."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness import FIXTURES

import gaia_runner

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


def _closed_ancestors(paths: list[Path]) -> list[Path]:
    """Directories above (and including) `paths` that others may not traverse."""
    closed: list[Path] = []
    for path in paths:
        for directory in (
            [*reversed(path.parents), path] if path.is_dir() else reversed(path.parents)
        ):
            if not directory.stat().st_mode & 0o001 and directory not in closed:
                closed.append(directory)
    return closed


@pytest.fixture
def new_user() -> Iterator[Callable[[], str]]:
    """new_user(): a fresh system user that can run this interpreter and import gaia."""
    if os.geteuid() != 0:
        pytest.skip("creating users needs root")
    made: list[str] = []
    opened: list[tuple[Path, int]] = []

    def make() -> str:
        name = f"gaiatest{uuid.uuid4().hex[:6]}"
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
            timeout=30,
        )
        made.append(name)
        if not opened:
            # The app runs this interpreter as that user. Under a private home (pyenv in
            # /root, as on this project's machines) it cannot; the directories on the way are
            # made traversable (o+x, no listing) for this test only and restored after.
            needed = [Path(sys.executable).resolve(), Path(sys.base_prefix), Path(sys.prefix)]
            # A checkout in a 0700 temp dir (CI's clean clone): its root is an import path,
            # which Python must also list (o+r), not only cross.
            import_root = Path(gaia_runner.__file__).parent.parent
            for directory in _closed_ancestors([*needed, import_root / "x", FIXTURES / "x"]):
                mode = directory.stat().st_mode & 0o7777
                listed = directory in (import_root, FIXTURES)
                directory.chmod(mode | (0o005 if listed else 0o001))
                opened.append((directory, mode))
        try:
            code = subprocess.run(
                [sys.executable, "-c", "import gaia_runner, hello"],
                user=name,
                group=name,
                extra_groups=[],
                cwd=FIXTURES,
                env={"PYTHONPATH": str(FIXTURES)},
                capture_output=True,
                timeout=30,
            ).returncode
        except PermissionError:
            code = -1
        if code != 0:
            pytest.skip(f"{sys.executable} (and gaia) cannot be run by another user here")
        return name

    try:
        yield make
    finally:
        for directory, mode in reversed(opened):
            directory.chmod(mode)
        for name in made:
            subprocess.run(["userdel", name], capture_output=True, timeout=30)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A root-owned directory every user can traverse (pytest's tmp_path sits in a 0700 one)."""
    path = Path(tempfile.mkdtemp(prefix="gaia-test-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def app_user(new_user: Callable[[], str]) -> str:
    return new_user()
