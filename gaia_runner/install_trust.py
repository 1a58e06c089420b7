"""Whether the Python install gaia runs from can be written by anyone but root.

A root gaia imports from its interpreter's prefix and every directory on sys.path; whoever
can write there (a `.pth` file in site-packages runs at every interpreter start) is root.
By the time this runs, such code has already run once: refusing only keeps gaia, and the
apps it would start as root, from running on top of it, and says how to fix the install.
"""

from __future__ import annotations

import grp
import pwd
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import gaia_runner


@dataclass(frozen=True)
class Finding:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class UntrustedInstall(Exception):
    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        lines = "\n".join(f"  {finding}" for finding in findings)
        super().__init__(
            "refusing to run as root from a Python install that other users can write:\n"
            f"{lines}\n"
            "Whoever can write there runs code as root whenever gaia starts (any package or\n"
            "`.pth` file). Install gaia, and the dependencies of the apps it serves, in a\n"
            "virtualenv only root can write, for example:\n"
            "  sudo python3 -m venv /opt/gaia && sudo /opt/gaia/bin/pip install gaia-runner ...\n"
            "and start /opt/gaia/bin/gaia (see docs/security.md)."
        )


def install_paths() -> list[Path]:
    """Everything a root gaia executes or imports from."""
    executable = Path(sys.executable)
    paths = [executable.parent, executable, Path(sys.prefix), Path(sys.base_prefix)]
    paths += [Path(entry) if entry else Path.cwd() for entry in sys.path]
    paths.append(Path(gaia_runner.__file__).parent)
    return paths


def untrusted(paths: Iterable[Path]) -> list[Finding]:
    """Each path, followed through symlinks, and every directory above it: a path itself
    must be writable by root alone; above it a world-writable sticky directory (/tmp) is
    fine, since nobody else can rename what root owns in it."""
    strict: dict[Path, bool] = {}
    for path in paths:
        resolved = path.resolve()
        if resolved.exists():
            strict[resolved] = True
        for parent in resolved.parents:
            strict.setdefault(parent, False)
    found = []
    for path, is_root in sorted(strict.items()):
        reason = _writable_by_others(path, sticky_ok=not is_root)
        if reason is not None:
            found.append(Finding(path, reason))
    return found


def check_install() -> None:
    """Raise UntrustedInstall when this process's install is not root's alone."""
    found = untrusted(install_paths())
    if found:
        raise UntrustedInstall(found)


def _writable_by_others(path: Path, *, sticky_ok: bool) -> str | None:
    try:
        info = path.stat()
    except OSError:
        return None  # gone: nothing there to import; its parent is still checked
    if info.st_uid != 0:
        return f"owned by {_user_name(info.st_uid)}"
    if sticky_ok and info.st_mode & stat.S_ISVTX:
        return None
    # With a POSIX ACL the group bits are its mask, so a named user or group that may
    # write shows up here as group-writable too.
    if info.st_mode & stat.S_IWOTH:
        return "writable by every user"
    if info.st_mode & stat.S_IWGRP:
        return f"writable by group {_group_name(info.st_gid)}"
    return None


def _user_name(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _group_name(gid: int) -> str:
    try:
        return f"{grp.getgrgid(gid).gr_name} (gid {gid})"
    except KeyError:
        return f"gid {gid}"
