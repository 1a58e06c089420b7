"""Processes that left their child's session (a daemon's double fork, `setsid cmd &`):
found again, killed with the child they came from, and reaped.

gaia is the child subreaper, so such orphans become gaia's children instead of init's;
their session and group are new, so killpg and the session scan miss them. Two ways
tell where one came from:
- every spawn carries a mark in its environment (ORIGIN_ENV), inherited by whatever it
  starts: read back from the orphans gaia adopted;
- every process the sampler saw under a child is remembered with its start time (a
  reused pid is not the same process), for a daemon that cleared its environment.
An orphan of unknown origin is reaped when it exits and killed when gaia stops.

Only specific pids are waited for, never waitpid(-1): asyncio's child watcher (the
ThreadedChildWatcher on 3.11) waits for each pid it spawned, and must get its status.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from typing import Protocol

from gaia_runner.process.tree import child_pids, descendant_pids

ORIGIN_ENV = "GAIA_ORIGIN"
KILL_WAIT = 2.0  # at exit: how long killed orphans get to become reapable
_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux 3.4+); False where that cannot be had."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


class Procfs(Protocol):
    """What the registry reads of and does to processes (a fake in unit tests)."""

    def children(self, pid: int) -> list[int]: ...
    def descendants(self, pid: int) -> list[int]: ...
    def started(self, pid: int) -> int | None: ...
    def origin(self, pid: int) -> str | None: ...
    def is_zombie(self, pid: int) -> bool: ...
    def kill(self, pid: int, sig: int) -> None: ...
    def reap(self, pid: int) -> bool: ...


def _stat_fields(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            raw = file.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ")".
    return raw[raw.rfind(b")") + 2 :].split()


class SystemProcfs:
    def children(self, pid: int) -> list[int]:
        return child_pids(pid)

    def descendants(self, pid: int) -> list[int]:
        return descendant_pids(pid)

    def started(self, pid: int) -> int | None:
        fields = _stat_fields(pid)
        return int(fields[19]) if fields and len(fields) > 19 else None

    def origin(self, pid: int) -> str | None:
        try:
            with open(f"/proc/{pid}/environ", "rb") as file:
                raw = file.read()
        except OSError:
            return None
        prefix = ORIGIN_ENV.encode() + b"="
        for entry in raw.split(b"\0"):
            if entry.startswith(prefix):
                return entry[len(prefix) :].decode(errors="replace")
        return None

    def is_zombie(self, pid: int) -> bool:
        fields = _stat_fields(pid)
        return bool(fields) and fields[0] == b"Z"  # type: ignore[index]

    def kill(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)

    def reap(self, pid: int) -> bool:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        return done == pid


class Orphans:
    """Who spawned what, for one gaia process."""

    def __init__(self, proc: Procfs | None = None, me: int | None = None) -> None:
        self._proc: Procfs = proc or SystemProcfs()
        self._fixed_me = me
        self._serial = itertools.count(1)
        self._spawned: set[int] = set()  # pids asyncio's child watcher waits for
        self._spawning = 0
        self._seen: dict[str, dict[int, int]] = {}  # origin -> {pid: start time}

    @property
    def _me(self) -> int:
        return os.getpid() if self._fixed_me is None else self._fixed_me

    def new_origin(self) -> str:
        return f"{self._me}.{next(self._serial)}"

    @contextlib.contextmanager
    def spawning(self) -> Iterator[None]:
        """Around a spawn: between fork and `spawned`, the new child is gaia's and
        unknown, and must not be reaped (its exit status is asyncio's)."""
        self._spawning += 1
        try:
            yield
        finally:
            self._spawning -= 1

    def spawned(self, pid: int) -> None:
        self._spawned.add(pid)

    def exited(self, pid: int) -> None:
        self._spawned.discard(pid)

    def remember(self, origin: str, pids: Iterable[int]) -> None:
        """`pids` are under `origin`'s child now. A remembered one no longer there is kept
        while it lives (it may have escaped) and forgotten once it is gone."""
        seen = self._seen.setdefault(origin, {})
        current = set(pids)
        for pid in list(seen):
            if pid not in current and self._proc.started(pid) != seen[pid]:
                del seen[pid]
        for pid in current - set(seen):
            started = self._proc.started(pid)
            if started is not None:
                seen[pid] = started

    def _adopted(self) -> list[int]:
        return [p for p in self._proc.children(self._me) if p not in self._spawned]

    def escaped(self, origin: str) -> set[int]:
        """Live processes that came from `origin`, and everything below them."""
        found = {p for p in self._adopted() if self._proc.origin(p) == origin}
        for pid, started in self._seen.get(origin, {}).items():
            if self._proc.started(pid) == started:
                found.add(pid)
        for pid in list(found):
            found.update(self._proc.descendants(pid))
        found.discard(self._me)
        return found

    def signal(self, origin: str, sig: int) -> None:
        for pid in self.escaped(origin):
            self._proc.kill(pid, sig)

    def kill(self, origin: str) -> None:
        self.signal(origin, signal.SIGKILL)
        self._seen.pop(origin, None)
        self.reap()

    def reap(self) -> None:
        """Wait for adopted orphans that exited. Not while a spawn is under way."""
        if self._spawning:
            return
        for pid in self._adopted():
            if self._proc.is_zombie(pid):
                self._proc.reap(pid)

    def kill_all(self) -> list[int]:
        """gaia is stopping and its apps are stopped: what is left is orphans. Returns the
        pids still to be reaped."""
        left = self._adopted()
        for pid in list(left):
            left += self._proc.descendants(pid)
        for pid in left:
            self._proc.kill(pid, signal.SIGKILL)
        self._seen.clear()
        return [p for p in self._adopted() if not self._proc.reap(p)]


ORPHANS = Orphans()


def adopt_orphans(interval: float) -> list[asyncio.Task[None]]:
    """Make gaia the subreaper; the task reaps adopted orphans every `interval`, and once
    cancelled (gaia's apps are stopped) kills and reaps whatever is left."""
    if not become_subreaper():
        return []
    return [asyncio.create_task(_reap_forever(interval), name="orphans")]


async def _reap_forever(interval: float) -> None:
    try:
        while True:
            await asyncio.sleep(interval)
            ORPHANS.reap()
    finally:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KILL_WAIT
        while ORPHANS.kill_all() and loop.time() < deadline:
            await asyncio.sleep(0.02)
