"""Which running gaia runs a given gaia.toml, whatever state_dir the file names now.

state_dir cannot change while gaia runs (config/restart_only.py): after such an edit the
file names a directory no gaia uses yet, and the gaia that still runs must stay reachable
(status, down). Each gaia holds its state dir's lock file open for its whole life, so the
kernel says where every one is: the open fds of this user's processes name each held
gaia.lock, and the record beside it names the config that gaia runs. Nothing another user
could write is trusted: only our own processes and state dirs that pass the private check.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gaia_runner.pidfile import LOCK_FILE, Record, pid_file, running_record
from gaia_runner.statedir import StateDirError, check_private_dir

PROC = Path("/proc")


@dataclass(frozen=True)
class Found:
    state_dir: Path
    record: Record


def running_for(config: Path, proc: Path = PROC) -> Found | None:
    """The live gaia whose record names `config` (compared after resolving links)."""
    wanted = os.path.realpath(config)
    for pid, state_dir in _lock_holders(proc):
        try:
            check_private_dir(state_dir)
        except StateDirError:
            continue
        record = running_record(pid_file(state_dir))
        if record is None or record.pid != pid or record.config is None:
            continue
        if os.path.realpath(record.config) == wanted:
            return Found(state_dir, record)
    return None


def _lock_holders(proc: Path) -> Iterator[tuple[int, Path]]:
    """(pid, state dir) for each process of ours with a gaia.lock open."""
    me = os.geteuid()
    suffix = f"/{LOCK_FILE}"
    with os.scandir(proc) as entries:
        for entry in entries:
            if entry.name.isdigit() and (state_dir := _held_lock(entry, me, suffix)):
                yield int(entry.name), state_dir


def _held_lock(entry: os.DirEntry[str], me: int, suffix: str) -> Path | None:
    try:
        if entry.stat().st_uid != me:
            return None
        fds = os.scandir(f"{entry.path}/fd")
    except OSError:
        return None  # gone meanwhile, or not ours to look into
    with fds:
        for fd in fds:
            try:
                # Every fd of every process of ours (as root: all of them), before
                # `gaia up` starts anything: pathlib tripled the cost of this scan.
                target = os.readlink(fd.path)  # noqa: PTH115
            except OSError:
                continue
            # A removed file reads "... (deleted)" and is skipped.
            if target.endswith(suffix):
                return Path(target).parent
    return None
