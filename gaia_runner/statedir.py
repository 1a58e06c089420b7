"""gaia's private directories: state_dir, its logs/ and run/, and the short-socket fallback.

Everything gaia writes there (logs, the pid file, sockets, generated server configs
that get executed) is trusted later, so another local user must not be able to
plant or swap anything: the directories are ours alone, and no write follows a link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from gaia_runner.config.trust import untrusted_route

PRIVATE_MODE = 0o700
FILE_MODE = 0o600
# Another user who can write a directory can swap what gaia later reads or executes.
_FORBIDDEN_BITS = stat.S_IWGRP | stat.S_IWOTH


class StateDirError(Exception):
    """A directory gaia must trust is not private to gaia's user."""


def check_private_dir(path: Path) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise StateDirError(f"{path} does not exist") from None
    if stat.S_ISLNK(info.st_mode):
        raise StateDirError(f"{path} is a symlink; gaia needs a real directory it owns")
    if not stat.S_ISDIR(info.st_mode):
        raise StateDirError(f"{path} is not a directory")
    if info.st_uid != os.geteuid():
        raise StateDirError(
            f"{path} is owned by uid {info.st_uid}, not by gaia's user (uid {os.geteuid()}); "
            "another user could plant files there"
        )
    if info.st_mode & _FORBIDDEN_BITS:
        raise StateDirError(
            f"{path} is writable by group or others (mode {stat.S_IMODE(info.st_mode):o}); "
            f"make it private: chmod 700 {path}"
        )
    if os.geteuid() == 0:
        # A private directory is only as private as the way to it: whoever can rename an
        # ancestor can swap in a `logs` symlink between two of root's writes (a log
        # rotation then writes, as root, wherever it points).
        problem = untrusted_route(path)
        if problem is not None:
            raise StateDirError(f"state directory {path}: {problem}")


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (mode 0700) if missing; refuse it unless it is ours and not shared."""
    if not path.parent.exists():
        # Checked before anything is created: a route through another user's directory
        # would have root create directories wherever that user's symlink points.
        if os.geteuid() == 0 and (problem := untrusted_route(path)) is not None:
            raise StateDirError(f"state directory {path}: {problem}")
        path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=PRIVATE_MODE)
    check_private_dir(path)
    return path


def prepare_state_dir(state_dir: Path) -> None:
    ensure_private_dir(state_dir)
    for sub in ("logs", "run"):
        ensure_private_dir(state_dir / sub)


def write_private_file(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Atomic: a reader (or a server about to exec it) sees the old file or exactly
    these bytes. rename() replaces a link planted at `path`; it never follows it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        tmp.rename(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def open_private_append_fd(path: Path) -> int:
    """Open a log for appending without following a link planted at `path`."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        # A link in our own directory is removed, not followed: unlink acts on the link.
        path.unlink()
        fd = os.open(path, flags | os.O_EXCL, FILE_MODE)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, f"{path} is not a regular file")
    return fd


def read_private_file(path: Path) -> str:
    """Read a small file gaia wrote, refusing a link planted in its place."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(4096).decode(errors="replace")
