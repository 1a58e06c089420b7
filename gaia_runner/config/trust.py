"""Whether a file gaia reads as root is under root's control alone.

gaia.toml decides what runs as root (a prestart step, an app without `user`), and
`[gaia].env_file` goes into every app's environment. Whoever can change either one,
or any directory on the way to it, or a symlink followed on the way, can run code as
root. So, while gaia is root, such a file must be owned by root (or gaia's own uid),
writable by no one else, and every directory in which its path is looked up must be
the same, except that a sticky directory (/tmp) lets others add entries but not replace
root's. Write access through a POSIX ACL counts like write access through the mode.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from pathlib import Path

_ACL_XATTR = "system.posix_acl_access"
_ACL_NAMED_USER = 0x02
_ACL_NAMED_GROUP = 0x08
_ACL_WRITE = 0x02
_MAX_SYMLINKS = 40


def _trusted_owners() -> set[int]:
    return {0, os.getuid()}


def acl_grants_write(xattr: bytes) -> bool:
    """True when the ACL (the kernel's xattr encoding) gives a named user or group write."""
    # A 4-byte version header, then entries of (tag u16, perm u16, id u32), little-endian.
    for offset in range(4, len(xattr) - 7, 8):
        tag, perm, _ = struct.unpack_from("<HHI", xattr, offset)
        if tag in (_ACL_NAMED_USER, _ACL_NAMED_GROUP) and perm & _ACL_WRITE:
            return True
    return False


def _acl_of(target: int | Path) -> bytes:
    try:
        if isinstance(target, int):
            return os.getxattr(target, _ACL_XATTR)
        return os.getxattr(target, _ACL_XATTR, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
            return b""  # no ACL beyond the mode
        raise


def _writers(info: os.stat_result, acl: bytes) -> str | None:
    group, others = info.st_mode & stat.S_IWGRP, info.st_mode & stat.S_IWOTH
    if group or others:
        return "writable by " + " and ".join(
            name for name, bit in (("its group", group), ("others", others)) if bit
        )
    if acl_grants_write(acl):
        return "writable by a user or group named in its ACL"
    return None


def _owner_problem(path: Path, info: os.stat_result, kind: str) -> str | None:
    if info.st_uid in _trusted_owners():
        return None
    return (
        f"{kind} {path} is owned by uid {info.st_uid}, not root; gaia runs as root, so "
        f"whoever owns it could run commands as root (fix: chown root {path})"
    )


def _directory_problem(directory: Path) -> str | None:
    info = os.lstat(directory)
    problem = _owner_problem(directory, info, "directory")
    if problem is not None:
        return problem
    if info.st_mode & stat.S_ISVTX:
        return None  # others may add entries here, not replace root's
    writers = _writers(info, _acl_of(directory))
    if writers is None:
        return None
    return (
        f"directory {directory} is {writers}; gaia runs as root, so anyone who can write "
        f"there could replace the file (fix: chmod go-w {directory}, and remove write "
        "entries from its ACL)"
    )


def untrusted_route(path: Path) -> str | None:
    """Why a directory in which ``path`` is looked up (symlinks followed) is not root's
    alone, or None. A missing entry ends the walk: opening it reports that."""
    pending = list(path.absolute().parts[1:])
    current = Path("/")
    hops = 0
    while pending:
        name = pending.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            current = current.parent
            continue
        problem = _directory_problem(current)
        if problem is not None:
            return problem
        entry = current / name
        try:
            info = os.lstat(entry)
        except OSError:
            return None
        if stat.S_ISLNK(info.st_mode):
            hops += 1
            if hops > _MAX_SYMLINKS:
                return None
            target = entry.readlink()
            if target.is_absolute():
                current = Path("/")
            pending = [*target.parts[1 if target.is_absolute() else 0 :], *pending]
            continue
        current = entry
    return None


def untrusted_reason(path: Path, fd: int, info: os.stat_result) -> str | None:
    """Why the opened file ``fd`` (``info`` is its fstat) is not root's alone, or None."""
    problem = _owner_problem(path, info, "it")
    if problem is not None:
        return problem.removeprefix(f"it {path} ")
    writers = _writers(info, _acl_of(fd))
    if writers is None:
        return None
    return (
        f"is {writers}; gaia runs as root, so that could run commands as root "
        f"(fix: chmod go-w {path}, and remove write entries from its ACL)"
    )
