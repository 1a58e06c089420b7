"""gaia changes the mode, owner and names of the unix socket it bound, never of what a name
was swapped for: the directory may belong to the app's user, who can plant links there."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from gaia_runner.config.model import Bind, BindKind
from gaia_runner.process import socket_path
from gaia_runner.process.socket_path import SocketPathError
from gaia_runner.process.sockets import BindError, SocketAccess, apply_access, bind_listener


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A private file of gaia's user: what a planted link points at."""
    path = tmp_path / "secret"
    path.write_text("key")
    path.chmod(0o600)
    return path


def swap_for_link(name: Path, target: Path) -> None:
    """What the directory's owner can do at any moment: replace a name atomically."""
    planted = name.with_name("planted")
    planted.symlink_to(target)
    planted.rename(name)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_hidden_entry_swapped_for_a_link_is_not_followed(tmp_path: Path, victim: Path) -> None:
    public = tmp_path / "web.sock"
    listener = bind_listener(Bind(kind=BindKind.UNIX, path=public), SocketAccess(0o660))
    try:
        swap_for_link(tmp_path / ".web.sock.gaia", victim)
        listener.set_access(SocketAccess(0o666))  # a reload or a restart
        assert mode(victim) == 0o600
        assert mode(public) == 0o666  # the socket itself got the new mode
    finally:
        listener.close()
    assert victim.exists()


def test_a_published_name_swapped_for_a_link_is_reported_and_left(
    tmp_path: Path, victim: Path
) -> None:
    public = tmp_path / "web.sock"
    listener = bind_listener(Bind(kind=BindKind.UNIX, path=public), SocketAccess(0o660))
    try:
        swap_for_link(public, victim)
        problems = apply_access((listener,), SocketAccess(0o666))
        assert len(problems) == 1 and "not applied" in problems[0], problems
        assert mode(victim) == 0o600
    finally:
        listener.close()
    assert public.is_symlink()  # close() removes only gaia's own socket


def test_a_name_swapped_between_bind_and_chmod_is_refused(tmp_path: Path, victim: Path) -> None:
    """The window inside bind_listener, made deterministic: the name is replaced after
    bind(), before gaia looks at it (bound_inode) or after (set_owner_and_mode)."""
    with socket_path.directory(tmp_path) as dirfd:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(tmp_path / "a.sock"))
            swap_for_link(tmp_path / "a.sock", victim)
            with pytest.raises(SocketPathError):
                socket_path.bound_inode(dirfd, "a.sock")
            sock.close()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(str(tmp_path / "b.sock"))
            inode = socket_path.bound_inode(dirfd, "b.sock")
            swap_for_link(tmp_path / "b.sock", victim)
            with pytest.raises(SocketPathError):
                socket_path.set_owner_and_mode(dirfd, "b.sock", inode, -1, -1, 0o666)
            with pytest.raises(SocketPathError):
                socket_path.link(dirfd, "b.sock", inode, "c.sock")
        finally:
            sock.close()
    assert mode(victim) == 0o600
    assert not (tmp_path / "c.sock").exists()


def test_a_hard_link_to_another_socket_is_not_gaias(tmp_path: Path) -> None:
    """Another socket under the name (a sibling app's, or one its owner bound) is refused
    by its inode even when gaia's user owns it."""
    with socket_path.directory(tmp_path) as dirfd:
        ours = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            ours.bind(str(tmp_path / "ours.sock"))
            other.bind(str(tmp_path / "other.sock"))
            inode = socket_path.bound_inode(dirfd, "ours.sock")
            (tmp_path / "other.sock").replace(tmp_path / "ours.sock")
            with pytest.raises(SocketPathError):
                socket_path.set_owner_and_mode(dirfd, "ours.sock", inode, -1, -1, 0o666)
        finally:
            ours.close()
            other.close()


def test_a_socket_directory_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(BindError, match="is a symlink"):
        bind_listener(Bind(kind=BindKind.UNIX, path=tmp_path / "link" / "web.sock"))


def test_a_resumed_socket_is_the_one_gaia_then_changes(tmp_path: Path) -> None:
    """Suspended (FAILED/FATAL) and bound again: a new inode, and the one access goes to."""
    public = tmp_path / "web.sock"
    listener = bind_listener(Bind(kind=BindKind.UNIX, path=public), SocketAccess(0o660))
    try:
        listener.suspend()
        assert not public.exists()
        listener.resume()
        listener.set_access(SocketAccess(0o600))
        assert mode(public) == 0o600
    finally:
        listener.close()
    assert not public.exists() and not (tmp_path / ".web.sock.gaia").exists()


def test_a_stale_socket_with_a_long_name_is_reclaimed() -> None:
    """Bindable by its own name, but its /proc/self/fd/N/NAME form is over sun_path's 108
    bytes: the stale check must still reach it (a gaia SIGKILLed left it)."""
    import os
    import shutil

    top = Path(f"/tmp/g{os.getpid() % 1000}")  # short: the private name adds 6 bytes
    top.mkdir()
    try:
        path = top / ("s" * (95 - len(str(top))) + ".sock")
        assert len(f"{top}/.{path.name}.gaia") <= 107 < len(f"/proc/self/fd/10/{path.name}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
            stale.bind(str(path))  # closed without unlinking: what a killed gaia leaves
        listener = bind_listener(Bind(kind=BindKind.UNIX, path=path))
        listener.sock.close()
    finally:
        shutil.rmtree(top)
