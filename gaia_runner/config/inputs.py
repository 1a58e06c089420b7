"""The one reader for every config input: gaia.toml, env files, TLS files.

A path in gaia.toml may name anything: a FIFO nobody writes (``open()`` alone would
block forever), a device, a directory, a file that never ends, a file on a hung
network mount, or a symlink an app's user planted towards root's files. So every
read here:

- opens with ``O_NONBLOCK`` (a FIFO or device never blocks the open) and ``fstat``s the
  open descriptor, so what is checked is what is read (no stat-then-open race);
- takes only a regular file, and at most ``limit_bytes`` of it;
- runs in a thread of its own and gives up after ``timeout`` seconds, so neither the
  event loop nor a worker pool waits on a hung mount (the abandoned daemon thread
  cannot keep gaia from exiting);
- with ``as_user``, reads with that user's file-system credentials (see ``_become``),
  so a symlink reaches only what that user could read anyway;
- with ``trusted``, while gaia is root, refuses a file (or a directory on its way) that
  anyone but root or gaia can change (see trust.py).
"""

from __future__ import annotations

import ctypes
import errno
import os
import pwd
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from gaia_runner.config.trust import untrusted_reason, untrusted_route

ENV_LIMIT = 1 << 20
"""gaia.toml and env files: far above any real one, far below what hurts."""
TLS_LIMIT = 4 << 20
"""TLS files: CA bundles run to a few hundred KiB."""
READ_TIMEOUT = 5.0
_CHUNK = 1 << 16

# setgroups(2) through glibc changes every thread of the process (POSIX says groups are
# per process, glibc makes it so); the raw system call changes only the calling thread.
_SETGROUPS = {"x86_64": 116, "aarch64": 159, "riscv64": 159}


@dataclass(frozen=True)
class ReadAs:
    """File-system credentials of an app's user, for reading that app's inputs."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]

    @classmethod
    def for_user(cls, user: str | None) -> ReadAs | None:
        """The credentials to read with, or None when gaia's own are the user's (no
        user, gaia is that user, or gaia is not root and so cannot switch anyway)."""
        if user is None or os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            return None  # reported as an unknown user by the schema
        if entry.pw_uid == 0:
            return None
        groups = tuple(os.getgrouplist(user, entry.pw_gid))
        return cls(user, entry.pw_uid, entry.pw_gid, groups)


class InputError(Exception):
    """A config input that cannot be used; the message names the file and why."""

    def __init__(self, path: Path, what: str, reason: str) -> None:
        self.path = path
        self.what = what
        self.reason = reason
        super().__init__(path, what, reason)

    def __str__(self) -> str:
        return f"{self.what} {self.path} {self.reason}"


def read_input(
    path: Path,
    *,
    what: str,
    limit_bytes: int = ENV_LIMIT,
    timeout: float = READ_TIMEOUT,
    as_user: ReadAs | None = None,
    trusted: bool = False,
) -> bytes:
    """The bytes of the regular file at ``path``; InputError (and nothing else) otherwise.

    ``what`` names the input in messages ("config file", "env file", "certfile").
    """
    outcome: list[bytes | BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            if as_user is not None:
                try:
                    _become(as_user)
                except OSError as exc:
                    reason = f"cannot be read as user {as_user.name!r}: {exc.strerror}"
                    raise InputError(path, what, reason) from None
            outcome.append(_read(path, what, limit_bytes, as_user, trusted))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append(exc)
        finally:
            done.set()

    # A fresh thread per read: credentials switched in it die with it, and a read stuck
    # on a hung mount is abandoned (daemon) instead of holding up anything else.
    threading.Thread(target=work, name=f"gaia read {path.name}", daemon=True).start()
    if not done.wait(timeout):
        raise InputError(path, what, f"was not read within {timeout:g} s (a hung file system?)")
    result = outcome[0]
    if isinstance(result, InputError):
        raise result
    if isinstance(result, BaseException):
        raise InputError(path, what, f"cannot be read ({type(result).__name__})") from None
    return result


def _read(path: Path, what: str, limit: int, as_user: ReadAs | None, trusted: bool) -> bytes:
    check_trust = trusted and os.geteuid() == 0
    if check_trust:
        problem = untrusted_route(path)
        if problem is not None:
            raise InputError(path, what, f"cannot be trusted: {problem}")
    # First an O_PATH handle, which opens nothing (opening a device can have effects: a
    # tape rewinds), then the same inode, once it is known to be a regular file, reopened
    # for reading: a rename between a stat and an open cannot slip a device or FIFO in.
    handle = os.O_PATH | os.O_CLOEXEC
    try:
        where = (
            os.open(path, handle) if as_user is None else _open_without_magic_links(path, handle)
        )
    except OSError as exc:
        raise InputError(path, what, _open_problem(exc, as_user)) from None
    try:
        kind = os.fstat(where).st_mode
        if not stat.S_ISREG(kind):
            raise InputError(path, what, f"is {_kind(kind)}, expected a file")
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
        # Reopening our own handle checks read permission on that inode with this
        # thread's credentials (the app user's, for its inputs).
        fd = os.open(f"/proc/self/fd/{where}", flags)
    except OSError as exc:
        raise InputError(path, what, _open_problem(exc, as_user)) from None
    finally:
        os.close(where)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(path, what, f"is {_kind(info.st_mode)}, expected a file")
        if check_trust:
            problem = untrusted_reason(path, fd, info)
            if problem is not None:
                raise InputError(path, what, problem)
        if info.st_size > limit:
            raise InputError(path, what, f"is larger than {_size(limit)}")
        return _read_bounded(fd, path, what, limit)
    finally:
        os.close(fd)


def _read_bounded(fd: int, path: Path, what: str, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = os.read(fd, _CHUNK)
        except OSError as exc:
            raise InputError(path, what, f"cannot be read: {exc.strerror or exc}") from None
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            # It grew while being read (a log someone pointed env_file at).
            raise InputError(path, what, f"is larger than {_size(limit)}")
        chunks.append(chunk)


def _open_problem(exc: OSError, as_user: ReadAs | None) -> str:
    if exc.errno == errno.ENOENT:
        return "does not exist"
    if exc.errno in (errno.EACCES, errno.EPERM):
        if as_user is not None:
            return f"cannot be read by the app's user {as_user.name!r}: permission denied"
        return "cannot be read: permission denied"
    if exc.errno == errno.ELOOP:
        if as_user is not None:
            return "leads through a symlink loop or a /proc link, which an app's inputs may not"
        return "cannot be opened: too many levels of symbolic links"
    if exc.errno == errno.ENXIO:
        return "is a socket or a device, expected a file"
    return f"cannot be opened: {exc.strerror or exc}"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"


_libc: ctypes.CDLL | None = None


def _become(user: ReadAs) -> None:
    """Give the calling thread ``user``'s file-system identity, for good (the thread ends
    after one read).

    Why setfsuid in a thread and not a forked reader: a fork of a threaded asyncio
    process may inherit a lock held by another thread, and a fresh interpreter per
    read costs tens of milliseconds on every reload. setfsuid/setfsgid and the raw
    setgroups system call change only this thread; dropping the fsuid from 0 also
    drops the thread's file capabilities (CAP_DAC_OVERRIDE...), so the kernel checks
    every path step exactly as it would for the user.
    """
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)  # the interpreter's own libc
    libc = _libc
    machine = os.uname().machine  # what platform.machine() reads, without importing it
    number = _SETGROUPS.get(machine)
    if number is None:
        raise OSError(errno.ENOSYS, f"cannot switch groups per thread on {machine}")
    groups = (ctypes.c_uint32 * len(user.groups))(*user.groups)
    if libc.syscall(ctypes.c_long(number), ctypes.c_size_t(len(user.groups)), groups) != 0:
        raise OSError(ctypes.get_errno(), "setgroups failed")
    libc.setfsgid(ctypes.c_uint32(user.gid))
    libc.setfsuid(ctypes.c_uint32(user.uid))
    # Both return the previous id whatever happened: asking again tells whether it took.
    if libc.setfsgid(ctypes.c_uint32(user.gid)) != user.gid:
        raise OSError(errno.EPERM, "setfsgid failed")
    if libc.setfsuid(ctypes.c_uint32(user.uid)) != user.uid:
        raise OSError(errno.EPERM, "setfsuid failed")
    _drop_effective_capabilities(libc)


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


_OPENAT2 = 437  # the same number on every architecture (Linux 5.6)
_RESOLVE_NO_MAGICLINKS = 0x02
_AT_FDCWD = -100


def _open_without_magic_links(path: Path, flags: int) -> int:
    """Open ``path`` refusing /proc's magic links (/proc/self/cwd, /proc/PID/root, fd/N):
    they jump past every directory on the way, so an app's user could point its env file
    at /proc/self/cwd/... and reach a file in a directory only gaia (root) can enter."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    how = _OpenHow(flags, 0, _RESOLVE_NO_MAGICLINKS)
    fd = _libc.syscall(
        ctypes.c_long(_OPENAT2),
        ctypes.c_int(_AT_FDCWD),
        os.fsencode(path),
        ctypes.byref(how),
        ctypes.c_size_t(ctypes.sizeof(how)),
    )
    if fd >= 0:
        return int(fd)
    code = ctypes.get_errno()
    if code == errno.ENOSYS:  # before Linux 5.6: the capability drop still closes /proc/PID
        return os.open(path, flags)
    raise OSError(code, os.strerror(code), str(path))


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


_CAPABILITY_VERSION_3 = 0x20080522


def _drop_effective_capabilities(libc: ctypes.CDLL) -> None:
    """A lower fsuid drops only the file capabilities; CAP_SYS_PTRACE would still follow
    /proc/PID/cwd, /proc/PID/root and /proc/PID/fd/N of any root process, past directories
    the user cannot enter. With no effective capability left, this thread is the user.
    capset(2) changes the calling thread alone."""
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    for word in data:
        word.effective = 0
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
