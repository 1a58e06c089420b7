from __future__ import annotations

import os
from pathlib import Path

import pytest

from gaia_runner.install_trust import untrusted


def reasons(path: Path, tmp_path: Path) -> dict[Path, str]:
    """Findings below pytest's tmp dir: whoever runs the tests owns it and what is above."""
    found = untrusted([path])
    return {f.path: f.reason for f in found if f.path.is_relative_to(tmp_path / "t")}


def test_a_sticky_world_writable_directory_is_fine_above_but_not_as_the_path(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "t" / "shared"
    (shared / "lib").mkdir(parents=True)
    shared.chmod(0o1777)
    assert reasons(shared / "lib", tmp_path) == {}
    assert reasons(shared, tmp_path) == {shared: "writable by every user"}


def test_group_writable_anywhere_on_the_way(tmp_path: Path) -> None:
    venv = tmp_path / "t" / "venv"
    (venv / "lib").mkdir(parents=True)
    venv.chmod(0o775)
    found = reasons(venv / "lib", tmp_path)
    assert list(found) == [venv]
    assert found[venv].startswith("writable by group")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owned_by_another_user_is_named_by_its_uid(tmp_path: Path) -> None:
    site = tmp_path / "t" / "site-packages"
    site.mkdir(parents=True)
    os.chown(site, 48213, 0)
    assert reasons(site, tmp_path) == {site: "owned by uid 48213"}
