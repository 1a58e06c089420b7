"""One generation of an app: the process tree started from one version of its config.

A hot reload starts generation N+1 beside N on the same public sockets, so each
generation also gets a private listener: probes sent there can only be answered by
this generation. It never lets anyone reach the app who could not already: an app
served only on unix sockets gets a unix socket in gaia's private run dir (a loopback
TCP port would open it to every local user), others a 127.0.0.1 port.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import ssl
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from gaia_runner.config.model import AppConfig, Bind, BindKind
from gaia_runner.dev.standby import Standby
from gaia_runner.process.child import ChildProcess, LineSink
from gaia_runner.process.launch import (
    LaunchSpec,
    build_launch,
    child_environment,
    imports_record,
    short_socket_path,
    switched_user,
)
from gaia_runner.process.probe import ProbeResult, http_probe
from gaia_runner.process.probe_tls import probe_context
from gaia_runner.process.sockets import Listener, bind_private_listener
from gaia_runner.process.tree import child_pids
from gaia_runner.process.worker_signals import send_each
from gaia_runner.statedir import ensure_private_dir

PROBE_INTERVAL = 0.05
PROBE_BACKOFF_MAX = 1.0


def private_listener_for(app: AppConfig, run_dir: Path, number: int) -> Listener:
    if app.bind and all(bind.kind is BindKind.UNIX for bind in app.bind):
        ensure_private_dir(run_dir)
        path = short_socket_path(run_dir / f"{app.name}.g{number}.probe.sock")
        # Bound 0600 (bind_private_listener), in gaia's own 0700 run dir: no chmod by path.
        return bind_private_listener(path)
    return bind_private_listener()


# Servers announce every socket they serve, the private one too ("Listening at: http://
# public,http://127.0.0.1:41787"); read in a log, that looks like a second public address.
# Announcements come at startup, so only a generation's first lines are looked at.
ANNOUNCE_LINES = 500
PROBE_NOTE = " (+ gaia's private probe listener)"


def _without(pattern: re.Pattern[str], line: str) -> str:
    hidden, count = pattern.subn("", line)
    return hidden + PROBE_NOTE if count else line


def hiding_private(sink: LineSink, private: Bind) -> LineSink:
    """`sink`, with the private listener's address taken out of the lines that name it."""
    address = str(private.path) if private.kind is BindKind.UNIX else str(private)
    pattern = re.compile(r",?\s*(?:(?:https?|unix):(?://)?)?" + re.escape(address) + r"(?!\d)")
    seen = 0

    def write(lines: list[str]) -> None:
        nonlocal seen
        if seen < ANNOUNCE_LINES:
            seen += len(lines)
            lines = [_without(pattern, line) if address in line else line for line in lines]
        sink(lines)

    return write


class Generation:
    def __init__(
        self,
        number: int,
        app: AppConfig,
        spec: LaunchSpec,
        private: Listener | None,
        children: list[ChildProcess],
        sink: LineSink,
    ) -> None:
        self.number = number
        self.app = app
        self.spec = spec
        self.private = private
        self.children = children
        self._sink = sink
        self.workers_desired = app.workers
        self.launched_workers = app.workers  # what its master's own config says
        self.relaunch: Callable[[AppConfig], LaunchSpec] | None = None
        """Writes this generation's server config file again, for another version of the app."""
        self.command_grace = 1.0
        self.last_probe: str | None = None  # what the last readiness probe got
        self._retired: set[ChildProcess] = set()
        self._changed = asyncio.Event()
        self.probe_tls: ssl.SSLContext | None = None
        self.served = asyncio.Event()  # set once wait_serving returned

    @classmethod
    async def start(
        cls,
        number: int,
        app: AppConfig,
        public: Sequence[Listener],
        run_dir: Path,
        base_env: Mapping[str, str],
        sink: LineSink,
        *,
        debug: bool = False,
    ) -> Generation:
        private = None if app.command is not None else private_listener_for(app, run_dir, number)
        listeners = [*public, *([private] if private else [])]
        if private is not None:
            sink = hiding_private(sink, private.bind)
        fds = [listener.fd for listener in listeners]
        relaunch = functools.partial(
            build_launch,
            fds=fds,
            run_dir=run_dir,
            generation=number,
            base_env=base_env,
            debug=debug,
        )
        spec = relaunch(app)
        copies = app.workers if app.command is not None else 1
        children: list[ChildProcess] = []
        try:
            for _ in range(copies):
                child = await ChildProcess.spawn(
                    spec.argv,
                    env=spec.env,
                    cwd=spec.cwd,
                    sink=sink,
                    pass_fds=spec.pass_fds,
                    user=app.user,
                )
                children.append(child)
        except BaseException:
            spec.close_config_fd()
            for child in children:
                child.kill_group()
            if private is not None:
                private.close()
            raise
        spec.close_config_fd()
        generation = cls(number, app, spec, private, children, sink)
        generation.probe_tls = probe_context(app, run_dir)
        generation.relaunch = relaunch
        return generation

    @staticmethod
    async def standby(
        number: int,
        app: AppConfig,
        public: Sequence[Listener],
        run_dir: Path,
        base_env: Mapping[str, str],
        sink: LineSink,
    ) -> Standby | None:
        """Dev mode: generation `number`'s process, started ahead (see dev/standby.py). None
        for what has no warm start: a command, an app run as another user."""
        if app.command is not None or switched_user(app) is not None:
            return None
        private = private_listener_for(app, run_dir, number)
        env = child_environment(app, base_env)
        sink = hiding_private(sink, private.bind)
        imports = imports_record(run_dir, app)
        try:
            return await Standby.spawn(number, private, public, env, app.cwd, sink, imports)
        except BaseException:
            private.close()
            raise

    @classmethod
    def from_standby(
        cls,
        standby: Standby,
        app: AppConfig,
        public: Sequence[Listener],
        run_dir: Path,
        base_env: Mapping[str, str],
        *,
        debug: bool = False,
    ) -> Generation | None:
        """Release `standby` as this generation; None if it does not fit any more."""
        fds = [*(listener.fd for listener in public), standby.private.fd]
        spec = build_launch(app, fds, run_dir, standby.number, base_env, debug=debug)
        if not standby.fits(spec, public):
            spec.close_config_fd()
            spec.remove_files()  # the cold start gets a number of its own
            return None
        try:
            child = standby.release(spec.argv)
        except OSError:  # it died just now
            return None
        generation = cls(standby.number, app, spec, standby.private, [child], standby.sink)
        generation.probe_tls = probe_context(app, run_dir)
        return generation

    @property
    def server(self) -> str:
        return "command" if self.app.command is not None else self.app.server.value

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.children]

    @property
    def leader(self) -> ChildProcess:
        return self.children[0]

    async def first_exit(self) -> ChildProcess:
        """Resolves when any root process exits that gaia did not retire on purpose."""
        while True:
            self._changed.clear()
            changed = asyncio.ensure_future(self._changed.wait())
            waiting = {child.exited: child for child in self.children}
            try:
                done, _ = await asyncio.wait(
                    [*waiting, changed], return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                # Also when the caller is cancelled (a failed start): a task left pending on
                # the event is collected with the generation ("Task was destroyed ...").
                changed.cancel()
            for task in done:
                child = waiting.get(task)
                if child is not None and child not in self._retired:
                    return child

    async def _spawn_copy(self) -> ChildProcess:
        return await ChildProcess.spawn(
            self.spec.argv,
            env=self.spec.env,
            cwd=self.spec.cwd,
            sink=self._sink,
            pass_fds=self.spec.pass_fds,
            user=self.app.user,
        )

    async def respawn_copy(self, pid: int, timeout: float) -> None:
        """Replace one copy of a plain command: the new one starts before the old one stops."""
        old = next((c for c in self.children if c.pid == pid), None)
        if old is None:
            return
        self.children.append(await self._spawn_copy())
        await self._retire_copy(old, timeout)

    async def _retire_copy(self, child: ChildProcess, timeout: float) -> None:
        self._retired.add(child)
        self._changed.set()
        await child.stop(timeout)
        self.children.remove(child)
        self._retired.discard(child)

    async def scale_copies(self, count: int, timeout: float) -> None:
        while len(self.children) < count:
            self.children.append(await self._spawn_copy())
            self._changed.set()
        extra = self.children[count:]
        await asyncio.gather(*(self._retire_copy(c, timeout) for c in extra))

    async def probe(self, path: str, timeout: float) -> ProbeResult:
        assert self.private is not None
        return await http_probe(self.private.bind, path, timeout, tls=self.probe_tls)

    async def wait_serving(self) -> None:
        """Returns once an HTTP request through the private socket got an answer: any
        answer to "/", or a healthy one when a health check is configured.

        A command has no socket; it counts as up once it survived a short grace time.
        """
        if self.private is None:
            await asyncio.sleep(self.command_grace)
            self.served.set()
            return
        health = self.app.health
        path, timeout = (health.path, health.timeout) if health else ("/", 5.0)
        # The public socket is gaia's, so a booting server's probe waits in its backlog
        # and is answered the moment it accepts: backing off costs no start time, and
        # an app answering "not healthy" is not hit ~20 times a second.
        delay = PROBE_INTERVAL
        while True:
            result = await self.probe(path, timeout=timeout)
            self.last_probe = result.describe(path)
            if result.healthy if health else result.answered:
                self.served.set()
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, PROBE_BACKOFF_MAX)

    async def scale_signal(self, delta: int) -> None:
        """One TTIN (or TTOU) per worker, each after the one before was taken."""
        master = self.leader
        await send_each(master.send_signal, lambda: child_pids(master.pid), delta)

    def kill_leftovers(self) -> None:
        for child in self.children:
            child.kill_group()

    async def stop(self, timeout: float) -> None:
        # A server master stops its workers itself. Signalled too, uvicorn's workers can
        # exit while their parent waits on a health-check ping to them, and that wait
        # lasts the whole worker timeout before it notices its own SIGTERM.
        master = self.server != "command"
        with contextlib.suppress(Exception):
            await asyncio.gather(
                *(child.stop(timeout, leader_only=master) for child in self.children)
            )
        if self.private is not None:
            self.private.close()
        self.spec.remove_files()
