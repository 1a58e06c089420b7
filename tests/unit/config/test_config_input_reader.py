"""The one reader of config inputs: regular files only, bounded, never blocking, and
as root either root's alone (trusted) or read with an app user's credentials."""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from gaia_runner.config import inputs
from gaia_runner.config.inputs import InputError, ReadAs, read_input
from gaia_runner.config.trust import acl_grants_write

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 200_000)
    assert read_input(tmp_path / "a", what="env file") == b"x" * 200_000


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    started = time.monotonic()
    with pytest.raises(InputError, match=r"is a FIFO \(named pipe\), expected a file"):
        read_input(tmp_path / "fifo", what="env file", timeout=30)
    assert time.monotonic() - started < 5


def test_a_directory_a_socket_and_a_device_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=f"env file {tmp_path} is a directory, expected a file"):
        read_input(tmp_path, what="env file")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock"))
        with pytest.raises(InputError, match="is a socket"):
            read_input(tmp_path / "sock", what="env file")
    with pytest.raises(InputError, match="is a device, expected a file"):
        read_input(Path("/dev/zero"), what="env file")


def test_too_big_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 1001)
    with pytest.raises(InputError, match="is larger than 1000 bytes"):
        read_input(tmp_path / "big", what="env file", limit_bytes=1000)


def test_missing_and_symlink_loops(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_input(tmp_path / "nope", what="env file")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(InputError, match="too many levels of symbolic links"):
        read_input(tmp_path / "loop", what="env file")


def test_a_symlink_is_followed_with_the_readers_rights(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"A=1\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert read_input(tmp_path / "link", what="env file") == b"A=1\n"


def test_a_hung_read_is_abandoned_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def hung(*_args: object) -> bytes:
        release.wait(30)  # a read on a dead NFS server
        return b""

    monkeypatch.setattr(inputs, "_read", hung)
    try:
        with pytest.raises(InputError, match=r"was not read within 0\.2 s"):
            read_input(tmp_path / "x", what="env file", timeout=0.2)
    finally:
        release.set()


@as_root
def test_as_user_a_symlink_reaches_only_what_the_user_can_read(open_dir: Path) -> None:
    nobody = ReadAs.for_user("nobody")
    assert nobody is not None
    secret = open_dir / "secret"
    secret.write_text("ROOT_ONLY=1\n")
    secret.chmod(0o600)
    (open_dir / "link").symlink_to(secret)
    with pytest.raises(InputError, match="cannot be read by the app's user 'nobody'"):
        read_input(open_dir / "link", what="env file", as_user=nobody)
    secret.chmod(0o644)
    assert read_input(open_dir / "link", what="env file", as_user=nobody) == b"ROOT_ONLY=1\n"
    # The switch lived and died in the reading thread: this one is still root.
    assert len(read_input(Path("/etc/shadow"), what="x")) > 0


def test_no_switch_for_no_user_or_an_unknown_one() -> None:
    assert ReadAs.for_user(None) is None
    assert ReadAs.for_user("no_such_user_here_x") is None


@as_root
def test_trusted_refuses_a_writable_file_or_directory(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir(mode=0o755)
    config = folder / "gaia.toml"
    config.write_text("")
    config.chmod(0o664)
    with pytest.raises(InputError, match=r"is writable by its group.*chmod go-w"):
        read_input(config, what="config file", trusted=True)
    config.chmod(0o644)
    assert read_input(config, what="config file", trusted=True) == b""
    folder.chmod(0o777)
    with pytest.raises(InputError, match=f"directory {folder} is writable by its group and"):
        read_input(config, what="config file", trusted=True)
    folder.chmod(0o1777)  # sticky: others cannot replace root's file
    assert read_input(config, what="config file", trusted=True) == b""
    folder.chmod(0o755)
    os.chown(config, 65534, 65534)
    with pytest.raises(InputError, match=r"is owned by uid 65534, not root.*chown root"):
        read_input(config, what="config file", trusted=True)
    # Untrusted reads (an app's own inputs) take it as it is.
    assert read_input(config, what="config file") == b""


@as_root
def test_trusted_checks_the_directories_a_symlink_leads_through(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir(mode=0o755)
    deploy = tmp_path / "deploy"
    deploy.mkdir(mode=0o755)
    (deploy / "gaia.toml").write_text("")
    (tmp_path / "etc" / "gaia.toml").symlink_to(deploy / "gaia.toml")
    link = tmp_path / "etc" / "gaia.toml"
    assert read_input(link, what="config file", trusted=True) == b""
    os.chown(deploy, 65534, 65534)
    with pytest.raises(InputError, match=f"directory {deploy} is owned by uid 65534"):
        read_input(link, what="config file", trusted=True)


def _acl(*entries: tuple[int, int, int]) -> bytes:
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


def test_an_acl_with_write_for_a_named_user_or_group_counts_as_writable() -> None:
    base = [(0x01, 6, 0xFFFFFFFF), (0x04, 4, 0xFFFFFFFF), (0x10, 6, 0), (0x20, 4, 0)]
    assert not acl_grants_write(_acl(*base))
    assert not acl_grants_write(_acl(*base, (0x02, 4, 1000)))
    assert acl_grants_write(_acl(*base, (0x02, 6, 1000)))
    assert acl_grants_write(_acl(*base, (0x08, 2, 1000)))


@as_root
def test_a_real_acl_granting_write_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "gaia.toml"
    config.write_text("")
    entries = [(0x01, 6, 0xFFFFFFFF), (0x02, 6, 65534), (0x04, 4, 0xFFFFFFFF), (0x10, 4, 0)]
    try:
        os.setxattr(config, "system.posix_acl_access", _acl(*entries, (0x20, 4, 0)))
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            pytest.skip("this file system has no POSIX ACLs")
        raise
    with pytest.raises(InputError, match="writable by a user or group named in its ACL"):
        read_input(config, what="config file", trusted=True)
