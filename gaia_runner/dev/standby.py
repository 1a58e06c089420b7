"""Dev mode's standby: the app's next generation, started ahead and held at a gate.

A save must not wait for a fresh interpreter to import the server and the app's libraries
(most of a restart's time). So once a generation serves, gaia starts the next one's
process early: `warm_main` imports those libraries, never the app's own modules, and
waits. A save releases it with exactly the argv a cold start would execute; it then only
imports the app's own code, fresh. It is an ordinary child of gaia (own session, output
piped, parent-death signal), spawned with the environment, directory and sockets the
next generation would get; if those no longer match, it is discarded and the
generation starts cold.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from gaia_runner.process.child import ChildProcess, LineSink
from gaia_runner.process.launch import LaunchSpec, metrics_fds
from gaia_runner.process.sockets import Listener

WARM_MAIN = "gaia_runner.dev.warm_main"


def _runnable(pid: int) -> bool:
    """Not stopped (SIGSTOP, a debugger) nor a zombie: released, it would never serve and
    the save would wait out start_timeout only to be rejected; a cold start serves it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    # The command name in parentheses may hold anything; the state follows its last ')'.
    return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] not in (b"T", b"t", b"Z", b"X")


class Standby:
    def __init__(
        self,
        number: int,
        child: ChildProcess,
        gate: int,
        private: Listener,
        public: Sequence[Listener],
        env: Mapping[str, str],
        cwd: Path,
        sink: LineSink,
    ) -> None:
        self.number = number
        self.child = child
        self.private = private
        self.sink = sink
        self._gate: int | None = gate
        self._public: tuple[tuple[Listener, socket.socket], ...] = tuple(
            (listener, listener.sock) for listener in public
        )
        self._env = dict(env)
        self._cwd = cwd
        self._fds = (*(listener.fd for listener in public), private.fd, *metrics_fds(env))

    @classmethod
    async def spawn(
        cls,
        number: int,
        private: Listener,
        public: Sequence[Listener],
        env: Mapping[str, str],
        cwd: Path,
        sink: LineSink,
        imports: Path,
    ) -> Standby:
        fds = (*(listener.fd for listener in public), private.fd, *metrics_fds(env))
        read_end, write_end = os.pipe()  # gaia's end is not inherited by any child
        try:
            argv = (sys.executable, "-m", WARM_MAIN, str(read_end), str(imports))
            child = await ChildProcess.spawn(
                argv, env=env, cwd=cwd, sink=sink, pass_fds=(*fds, read_end)
            )
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        return cls(number, child, write_end, private, public, env, cwd, sink)

    def fits(self, spec: LaunchSpec, public: Sequence[Listener]) -> bool:
        """Would the next generation start the way this standby was started? The same
        sockets (not re-bound meanwhile), environment and directory; no config fd."""
        same_sockets = len(public) == len(self._public) and all(
            listener is held and listener.sock is sock and not listener.suspended
            for listener, (held, sock) in zip(public, self._public, strict=False)
        )
        return (
            self._gate is not None
            and self.child.returncode is None
            and _runnable(self.child.pid)
            and same_sockets
            and tuple(spec.pass_fds) == self._fds
            and spec.config_fd is None
            and dict(spec.env) == self._env
            and spec.cwd == self._cwd
        )

    def release(self, argv: Sequence[str]) -> ChildProcess:
        """Let it run `argv`; it is the new generation's leader from here on."""
        assert self._gate is not None
        gate, self._gate = self._gate, None
        try:
            os.write(gate, json.dumps(list(argv)).encode())
        finally:
            os.close(gate)
        return self.child

    def discard(self) -> None:
        """Not needed after all: it dies with everything it holds."""
        if self._gate is not None:
            with contextlib.suppress(OSError):
                os.close(self._gate)
            self._gate = None
        self.child.kill_group()
        self.private.close()

    async def wait(self) -> None:
        """Once discarded: until it is gone and its last output is read."""
        await self.child.exited
        await self.child.drain()
