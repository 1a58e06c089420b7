"""Finding the gaia that runs a file, from the lock each gaia holds open; and the lock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gaia_runner.discover import running_for
from gaia_runner.pidfile import AlreadyRunning, pid_record, read_record


def private(path: Path) -> Path:
    path.mkdir(mode=0o700)
    return path


def fake_proc(tmp_path: Path, holders: dict[int, Path]) -> Path:
    """A /proc with one process per pid, whose fd 3 is `path` (a held gaia.lock)."""
    proc = tmp_path / "proc"
    for pid, path in holders.items():
        (proc / str(pid) / "fd").mkdir(parents=True)
        (proc / str(pid) / "fd" / "3").symlink_to(path)
    (proc / "self").mkdir()  # not a pid: skipped
    return proc


def test_the_gaia_running_a_file_is_found_by_its_state_dir(tmp_path: Path) -> None:
    state = private(tmp_path / "state")
    config = tmp_path / "gaia.toml"
    config.write_text("")
    (tmp_path / "link.toml").symlink_to(config)
    with pid_record(state, config):
        proc = fake_proc(tmp_path, {os.getpid(): state / "gaia.lock"})
        found = running_for(tmp_path / "link.toml", proc)
        assert found is not None and found.state_dir == state
        assert found.record.pid == os.getpid()
        assert running_for(tmp_path / "other.toml", proc) is None
        # A record that is not the lock holder's, or a state dir others may write: nobody.
        assert running_for(config, fake_proc(tmp_path / "a", {1: state / "gaia.lock"})) is None
        state.chmod(0o770)
        assert running_for(config, proc) is None
        state.chmod(0o700)
    assert running_for(config, proc) is None  # stopped: its record is gone


def test_the_state_dir_lock_admits_one_holder(tmp_path: Path) -> None:
    state = private(tmp_path / "state")
    config = tmp_path / "gaia.toml"
    with pid_record(state, config):
        record = read_record(state / "gaia.pid")
        assert record is not None and record.config == str(config)
        with pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}"), pid_record(state, config):
            pass
        assert read_record(state / "gaia.pid") == record  # the loser removed nothing
    assert not (state / "gaia.pid").exists() and (state / "gaia.lock").exists()
    with pid_record(state, config):  # released on exit
        pass
