"""The supervisor's decisions with a fake clock and fake process trees: no processes, no sleeps."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gaia_runner.config.model import AppConfig, Backoff, RestartPolicy
from gaia_runner.logs.applog import AppLog
from gaia_runner.model.state import AppState
from gaia_runner.supervise.commands import Replace, Scale, Stop
from gaia_runner.supervise.supervisor import AppSupervisor
from gaia_runner.supervise.timing import Timings


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


@dataclass
class FakeChild:
    pid: int
    returncode: int | None = None


@dataclass
class FakeGeneration:
    """Plays one scripted life: ("crash", code) dies before serving; ("serve", code)
    serves, then dies with `code` when the test sets `die`; ("serve", None) serves on."""

    number: int
    app: AppConfig
    script: tuple[str, int | None]
    die: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: bool = False
    server: str = "command"
    private: None = None
    command_grace: float = 0.0
    workers_desired: int = 1
    gate: asyncio.Event = field(default_factory=asyncio.Event)  # ("gated", _) serves once set
    scale_runs_out: bool = True

    def __post_init__(self) -> None:
        self.leader = FakeChild(pid=900000 + self.number)
        self.children = [self.leader]
        if self.script[0] == "crash":
            self.die.set()

    @property
    def pids(self) -> list[int]:
        return []

    async def first_exit(self) -> FakeChild:
        await self.die.wait()
        self.leader.returncode = self.script[1]
        return self.leader

    async def wait_serving(self) -> None:
        if self.script[0] in ("crash", "hang"):
            await asyncio.Event().wait()
        if self.script[0] == "gated":
            await self.gate.wait()

    def kill_leftovers(self) -> None:
        pass

    async def scale_copies(self, count: int, timeout: float) -> None:
        """One more copy starts, then the process runs out of file descriptors."""
        if not self.scale_runs_out:
            self.workers_desired = count
            return
        self.children.append(FakeChild(pid=self.leader.pid + 1))
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    async def stop(self, timeout: float) -> None:
        self.stopped = True


class Harness:
    def __init__(self, tmp_path: Path, scripts: list[tuple[str, int | None]], **app: Any) -> None:
        self.scale_runs_out = True
        self.clock = FakeClock()
        self.scripts = scripts
        self.generations: list[FakeGeneration] = []
        self.events: list[str] = []
        config = AppConfig(name="job", command=("true",), cwd=tmp_path, **app)
        self.sup = AppSupervisor(
            config,
            (),
            run_dir=tmp_path / "run",
            log=AppLog("job", tmp_path / "logs", lambda *_: None),
            base_env={},
            stop_timeout=1.0,
            notify=self.events.append,
            timings=Timings(sample=0.01),
            clock=self.clock,
            spawn=self.spawn,
        )

    async def spawn(self, number: int, app: AppConfig, *rest: Any, **kw: Any) -> FakeGeneration:
        script = self.scripts.pop(0)
        if script[0] == "oserror":  # the spawn itself fails: cwd gone, EMFILE, ENOMEM
            raise OSError(script[1], os.strerror(script[1] or 0))
        gen = FakeGeneration(number, app, script, scale_runs_out=self.scale_runs_out)
        self.generations.append(gen)
        return gen

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not predicate():
                await asyncio.sleep(0.001)

    def states(self) -> list[str]:
        return [e.split(":")[0] for e in self.events if " -> " in e]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_failed_starts_back_off_exponentially_then_go_fatal(tmp_path: Path) -> None:
    async def main() -> Harness:
        h = Harness(tmp_path, [("crash", 1)] * 5)
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: h.sup.state is AppState.FATAL)
        assert h.clock.slept == [1.0, 2.0, 4.0, 8.0]
        assert len(h.generations) == 5
        assert "gave up after 5 failed starts (last: exit code 1)" in h.sup.detail
        h.sup.send(Stop())
        await task
        h.sup.log.close()
        return h

    h = run(main())
    assert h.sup.state is AppState.STOPPED
    assert h.states().count("starting -> stopping") == 5


def test_a_crash_after_serving_backs_off_and_counts_the_reason(tmp_path: Path) -> None:
    async def main() -> Harness:
        h = Harness(tmp_path, [("serve", 3), ("serve", None)])
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: h.sup.state is AppState.RUNNING)
        h.generations[0].die.set()
        await h.until(lambda: len(h.generations) == 2 and h.sup.state is AppState.RUNNING)
        assert h.sup.restarts == 1
        assert h.sup.last_reason == "exit code 3"
        assert h.clock.slept == [1.0]
        snap = h.sup.snapshot()
        assert snap.restarts == 1 and snap.last_restart_reason == "exit code 3"
        h.sup.send(Stop())
        await task
        h.sup.log.close()
        assert all(g.stopped for g in h.generations)
        return h

    run(main())


@pytest.mark.parametrize(
    ("code", "policy", "state"),
    [
        (2, RestartPolicy.NEVER, AppState.FAILED),
        # A one-shot command that exited 0 completed: stopped, not failed (depends_on).
        (0, RestartPolicy.ON_FAILURE, AppState.STOPPED),
    ],
)
def test_restart_never_leaves_the_app_failed_or_completed(
    tmp_path: Path, code: int, policy: RestartPolicy, state: AppState
) -> None:
    async def main() -> None:
        h = Harness(tmp_path, [("serve", code)], restart=policy)
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: h.sup.state is AppState.RUNNING)
        h.generations[0].die.set()
        await h.until(lambda: h.sup.state is state)
        assert h.sup.detail == f"exit code {code} (restart = {policy.value})"
        assert h.sup.snapshot().completed is (code == 0)
        assert h.clock.slept == []
        h.sup.send(Stop())
        await task
        h.sup.log.close()

    run(main())


def test_a_config_change_leaves_fatal_and_forgives_the_past(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path, [("crash", 1), ("serve", None)], max_start_failures=1)
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: h.sup.state is AppState.FATAL)
        fixed = dataclasses.replace(h.sup.app, env={"FIXED": "1"})
        h.sup.send(Replace(fixed, ()))
        await h.until(lambda: h.sup.state is AppState.RUNNING)
        assert h.sup.app.env == {"FIXED": "1"}
        h.sup.send(Stop())
        await task
        h.sup.log.close()

    run(main())


def test_stop_during_backoff_stops_at_once(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path, [("crash", 1)] * 3)
        h.clock.sleep = _never  # type: ignore[method-assign]
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: h.sup.state is AppState.BACKOFF)
        h.sup.send(Stop())
        await task
        h.sup.log.close()
        assert h.sup.state is AppState.STOPPED
        assert h.states()[-1] == "backoff -> stopped"

    run(main())


async def _never(seconds: float) -> None:
    await asyncio.Event().wait()


def test_a_bug_while_supervising_becomes_a_restart_not_a_dead_task(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path, [("serve", None), ("serve", None)])
        real_spawn = h.spawn
        calls = 0

        async def flaky_spawn(*args: Any, **kw: Any) -> FakeGeneration:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("a bug in gaia")
            return await real_spawn(*args, **kw)

        h.sup._starter._spawn = flaky_spawn
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: h.sup.state is AppState.RUNNING)
        assert h.sup.last_reason == "internal error"
        assert any("internal error" in e for e in h.events)
        assert "RuntimeError: a bug in gaia" in h.sup.log.path.read_text()
        h.sup.send(Stop())
        await task
        assert h.sup.state is AppState.STOPPED
        h.sup.log.close()

    run(scenario())


def test_commands_sent_during_a_timed_out_start_are_not_lost(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path, [("hang", None)] * 50, start_timeout=0.05)
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: len(h.generations) >= 2)
        h.sup.send(Stop())
        async with asyncio.timeout(5):
            await task
        assert h.sup.state is AppState.STOPPED
        h.sup.log.close()

    run(scenario())


@pytest.mark.parametrize(("errors", "ends"), [(2, AppState.RUNNING), (3, AppState.FATAL)])
def test_a_spawn_error_is_a_failed_start(tmp_path: Path, errors: int, ends: AppState) -> None:
    """A cwd swapped away for a moment (ENOENT), EMFILE: retried with backoff, so the app
    comes back on its own, and counted toward max_start_failures."""

    async def scenario() -> None:
        scripts = [
            ("oserror", (errno.ENOENT, errno.EMFILE, errno.ENOMEM)[i]) for i in range(errors)
        ]
        h = Harness(tmp_path, [*scripts, ("serve", None)], max_start_failures=3)
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: h.sup.state is ends)
        assert h.clock.slept == [1.0, 2.0]
        assert "starting -> failed" not in h.states()
        if ends is AppState.FATAL:
            assert "gave up after 3 failed starts (last: could not start:" in h.sup.detail
        else:
            assert h.sup.last_reason == "could not start"
        h.sup.send(Stop())
        await task
        h.sup.log.close()

    run(scenario())


def test_a_scale_up_that_cannot_spawn_leaves_the_running_copies_alone(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path, [("serve", None)])
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: h.sup.state is AppState.RUNNING)
        h.sup.send(Scale(dataclasses.replace(h.sup.app, workers=4)))
        await h.until(lambda: any("stopped at 2" in e for e in h.events))
        assert h.sup.state is AppState.RUNNING
        assert len(h.generations) == 1 and not h.generations[0].stopped
        assert h.generations[0].workers_desired == 2
        assert not any("internal error" in e for e in h.events)
        h.sup.send(Stop())
        await task
        h.sup.log.close()

    run(scenario())


def test_an_in_place_edit_keeps_the_serving_tree_and_its_history(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path, [("serve", None)])
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: h.sup.state is AppState.RUNNING)
        edited = dataclasses.replace(
            h.sup.app,
            max_start_failures=9,
            backoff=Backoff(initial=7.0),
            restart=RestartPolicy.NEVER,
        )
        h.sup.send(Scale(edited))
        await h.until(lambda: h.sup.app is edited)
        assert len(h.generations) == 1 and not h.generations[0].stopped
        assert h.generations[0].app is edited  # the next watch reads the new limits
        assert h.sup._tracker.max_start_failures == 9
        assert h.sup._tracker.backoff.initial == 7.0
        assert h.sup.state is AppState.RUNNING
        h.sup.send(Stop())
        await task
        h.sup.log.close()

    run(scenario())
