"""A unix socket's names in a directory that someone else may write (the app's user owns
/run/app, say): every change gaia makes there reaches the socket gaia bound and nothing else.

gaia often runs as root, and whoever can write the directory can swap any name in it for a
symlink or a hard link to one of root's files at any moment. So no operation goes by path:
the directory is opened once (O_NOFOLLOW), a name is opened with O_PATH|O_NOFOLLOW, and what
was opened must be a socket inode that gaia bound (its device and inode numbers, taken right
after bind() and kept while the socket lives, so they cannot be reused). Mode and owner are
then changed through /proc/self/fd/N, which names that inode and no path. (fchmod on the
socket's own fd would change the socket's in-kernel inode, not the file clients connect to.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

Inode = tuple[int, int]  # (st_dev, st_ino)


class SocketPathError(OSError):
    """A name that should be gaia's socket is something else (a symlink, another file)."""


def _check_ancestors(path: Path) -> None:
    """A symlink on the way to the socket's directory that another user owns would let that
    user choose where root binds, probes and removes sockets (`~/deep -> /` makes
    `~/deep/run/x.sock` land in /run). Symlinks gaia's own user owns (`/var/run -> /run`)
    are followed."""
    own = os.geteuid()
    for step in (*reversed(path.parents), path):
        try:
            info = os.lstat(step)
        except OSError:
            return  # the open below says what is missing
        if stat.S_ISLNK(info.st_mode) and info.st_uid not in (0, own):
            raise SocketPathError(
                f"{step} is a symlink owned by uid {info.st_uid}: gaia does not bind through "
                "another user's symlinks; name the directory it points to"
            )


@contextlib.contextmanager
def directory(path: Path) -> Iterator[int]:
    """An O_PATH fd of the socket's directory; refused when it is a symlink itself or is
    reached through another user's symlink."""
    _check_ancestors(path.parent)
    try:
        fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and path.is_symlink():
            message = f"{path} is a symlink; bind in the directory it points to"
            raise SocketPathError(message) from None
        raise
    try:
        yield fd
    finally:
        os.close(fd)


def _proc(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


# sun_path: 108 bytes with the terminating NUL.
_MAX_SUN_PATH = 107


def connect_name(dirfd: int, path: Path) -> str:
    """A path to `path` through the opened directory, which no later rename or symlink swap
    of the directory's own path can redirect (for a probe's connect(), whose name nobody
    keeps). A path whose /proc form would not fit in a unix socket address goes by its
    own name: it was bound by that name, so it must still be reachable by it."""
    name = f"{_proc(dirfd)}/{path.name}"
    return name if len(os.fsencode(name)) <= _MAX_SUN_PATH else str(path)


@contextlib.contextmanager
def opened_socket(dirfd: int, name: str, inode: Inode | None) -> Iterator[int]:
    """An O_PATH fd of `name`, which must be a socket owned by gaia's user (and, given
    `inode`, that very socket); SocketPathError otherwise."""
    fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dirfd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISSOCK(info.st_mode):
            raise SocketPathError(f"{name} is not a socket (replaced after gaia bound it?)")
        if inode is None and info.st_uid != os.geteuid():
            raise SocketPathError(f"{name} is not a socket gaia bound (owner uid {info.st_uid})")
        if inode is not None and (info.st_dev, info.st_ino) != inode:
            raise SocketPathError(f"{name} is no longer the socket gaia bound")
        yield fd
    finally:
        os.close(fd)


def bound_inode(dirfd: int, name: str) -> Inode:
    """Right after bind(): the inode of the socket file, checked to be gaia's."""
    with opened_socket(dirfd, name, None) as fd:
        info = os.fstat(fd)
        return info.st_dev, info.st_ino


def set_owner_and_mode(dirfd: int, name: str, inode: Inode, uid: int, gid: int, mode: int) -> None:
    with opened_socket(dirfd, name, inode) as fd:
        if uid != -1 or gid != -1:
            os.chown(_proc(fd), uid, gid)
        Path(_proc(fd)).chmod(mode)


def link(dirfd: int, name: str, inode: Inode, new_name: str) -> None:
    """A second name for exactly the socket gaia bound (never for what `name` became)."""
    with opened_socket(dirfd, name, inode) as fd:
        os.link(_proc(fd), new_name, dst_dir_fd=dirfd, follow_symlinks=True)


def unlink_if_ours(dirfd: int, name: str, inode: Inode | None) -> None:
    """Remove `name` if it is still gaia's socket; anything else is left where it is."""
    with contextlib.suppress(OSError):
        info = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
        if stat.S_ISSOCK(info.st_mode) and (inode is None or (info.st_dev, info.st_ino) == inode):
            os.unlink(name, dir_fd=dirfd)
