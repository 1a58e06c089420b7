"""One child process tree: its own session, output piped line by line, stopped as a group."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import pwd
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gaia_runner.process.off_loop import ExecTimeout, Exited, popen_off_loop
from gaia_runner.process.orphans import ORIGIN_ENV, ORPHANS
from gaia_runner.process.output import LineSink, OutputReader, output_pipe
from gaia_runner.process.pdeathsig import die_with_parent

__all__ = ["ChildProcess", "LineSink", "SpawnError", "describe_exit", "signal_group"]


class SpawnError(OSError):
    """The command could not be started at all: a missing cwd or program, EMFILE, ENOMEM,
    an argument the kernel cannot take. An OSError, so it is a failed start like any other
    and never an internal error; its message never holds an env value."""


def _spawn_error(exc: OSError | ValueError) -> SpawnError:
    if isinstance(exc, ValueError):
        # subprocess's own words ("embedded null byte", "illegal environment variable
        # name") never quote the value.
        return SpawnError(errno.EINVAL, f"argv, env or cwd the kernel cannot take: {exc}")
    error = SpawnError(exc.errno, exc.strerror or str(exc))
    error.filename = exc.filename
    return error


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def _session_strays(sid: int) -> list[int]:
    """Processes of the child's session that left its process group (setpgid, a shell's
    job control, a daemon's first fork): killpg misses them, the session does not."""
    strays: list[int] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or (pid := int(entry.name)) == sid:
                continue
            with contextlib.suppress(OSError):
                if os.getsid(pid) == sid and os.getpgid(pid) != sid:
                    strays.append(pid)
    return strays


def signal_group(pgid: int, sig: int) -> bool:
    """Signal a whole process group; False when nothing was left to signal."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def switch_user_options(user: str | None) -> dict[str, Any]:
    """subprocess options that run the child as `user`: its uid, primary group and
    supplementary groups (as initgroups would), set in the child before exec."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    if entry.pw_uid == os.geteuid():
        return {}
    if os.geteuid() != 0:
        raise PermissionError(
            errno.EPERM,
            f"only root can run an app as user {user!r}; gaia runs as uid {os.geteuid()}",
        )
    return {
        "user": entry.pw_uid,
        "group": entry.pw_gid,
        "extra_groups": os.getgrouplist(user, entry.pw_gid),
    }


class ChildProcess:
    """A spawned command. Its pid is also its process group id (start_new_session)."""

    def __init__(self, proc: Exited, output: OutputReader, origin: str) -> None:
        self._proc = proc
        self._output = output
        self.pid = proc.pid
        self.origin = origin  # the mark its descendants carry (see orphans.py)
        self._exited = asyncio.create_task(self._wait(), name=f"wait-{proc.pid}")

    @classmethod
    async def spawn(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        sink: LineSink,
        pass_fds: Sequence[int] = (),
        user: str | None = None,
    ) -> ChildProcess:
        parent = os.getpid()
        try:
            switch = switch_user_options(user)
            read_end, write_end = output_pipe()
        except KeyError:
            raise SpawnError(errno.ENOENT, f"no user named {user!r}") from None
        except OSError as exc:
            raise _spawn_error(exc) from exc
        origin = ORPHANS.new_origin()

        def in_child() -> None:
            # Runs after the user switch, which would clear the parent-death signal.
            die_with_parent(expected_parent=parent)
            if switch:
                # subprocess enters `cwd` before it switches users, as root: a symlink the
                # app's user planted there (a `current -> releases/N` they own) would be
                # followed with root's rights. Entered here, the kernel checks the user's.
                os.chdir(cwd)

        try:
            with ORPHANS.spawning():
                popen = await popen_off_loop(
                    args=list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=write_end,
                    stderr=write_end,
                    cwd=None if switch else cwd,
                    env={**env, ORIGIN_ENV: origin},
                    pass_fds=tuple(pass_fds),
                    start_new_session=True,
                    preexec_fn=in_child,
                    **switch,
                )
                ORPHANS.spawned(popen.pid)
        except ExecTimeout as exc:
            os.close(read_end)
            raise SpawnError(errno.ETIMEDOUT, str(exc)) from None
        except (OSError, ValueError) as exc:
            os.close(read_end)
            raise _spawn_error(exc) from exc
        except subprocess.SubprocessError:  # in_child failed: the user cannot enter cwd
            os.close(read_end)
            raise SpawnError(
                errno.EACCES, f"user {user!r} cannot enter the working directory {cwd}"
            ) from None
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        proc = Exited(popen)
        output = OutputReader(sink, name=f"pid {proc.pid}")
        # The transport owns the file from here on and closes it at EOF or in drain().
        pipe = open(read_end, "rb", buffering=0)  # noqa: SIM115
        await asyncio.get_running_loop().connect_read_pipe(lambda: output, pipe)
        return cls(proc, output, origin)

    async def _wait(self) -> int:
        try:
            return await self._proc.wait()
        finally:
            ORPHANS.exited(self.pid)

    def remember(self, descendants: list[int]) -> None:
        """What the sampler found below this child now (see orphans.py)."""
        ORPHANS.remember(self.origin, descendants)

    @property
    def exited(self) -> asyncio.Task[int]:
        """Done the moment the leader exits (asyncio's child watcher, not polling)."""
        return self._exited

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    def send_signal(self, sig: int) -> None:
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(sig)

    def kill_group(self) -> None:
        """SIGKILL everything left in the child's session, e.g. workers orphaned by a dead
        master or a daemon's background half, and what left the session."""
        if self._pid_taken_over():
            # So the group and session are empty, and a killpg would reach that
            # process (another user's, or another app's) if it leads a group.
            ORPHANS.kill(self.origin)
            return
        signal_group(self.pid, signal.SIGKILL)
        for pid in _session_strays(self.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        ORPHANS.kill(self.origin)

    def _pid_taken_over(self) -> bool:
        """The leader was reaped and its pid names a process again: a new one, since no
        pid still in use as a group or session id is handed out."""
        if self.returncode is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    async def stop(
        self, timeout: float, sig: int = signal.SIGTERM, leader_only: bool = False
    ) -> int:
        """Graceful stop: `sig` to the group (or only to its leader, a server master that
        stops its own workers), then SIGKILL to the group after `timeout`."""
        if self._proc.returncode is None:
            if leader_only:
                self.send_signal(sig)
            else:
                signal_group(self.pid, sig)
            # Daemons it started get the same warning; no master stops them.
            ORPHANS.signal(self.origin, sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._exited), timeout)
        self.kill_group()
        code = await self._exited
        await self.drain()
        return code

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait for the output pipe to close so the last lines reach the log."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._output.done), timeout)
        if not self._output.done.done():
            # Grandchildren that outlived the group kill still hold the pipe open.
            self._output.close()
