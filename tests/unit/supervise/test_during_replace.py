"""Issue 19.4: `gaia restart` and `gaia scale` during a config replace act on the config
the app was last asked to run (the desired state), never on the one still serving.
The real operations and the real supervisor, with fake process trees."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from test_supervisor import Harness, run

from gaia_runner.config.model import AppConfig, GaiaConfig, RunnerSettings
from gaia_runner.control import Request
from gaia_runner.desired import DesiredState
from gaia_runner.model.snapshot import Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.operations import Operations
from gaia_runner.process.sockets import Listener
from gaia_runner.start_gate import StartGate
from gaia_runner.supervise.commands import Replace
from gaia_runner.supervise.supervisor import AppSupervisor


class FakeRunner:
    """What Operations acts through, with the one supervisor of the harness."""

    def __init__(self, desired: DesiredState, sup: AppSupervisor) -> None:
        self.desired = desired
        self.supervisors = {"job": sup}
        self.lock = asyncio.Lock()
        self.events: list[str] = []
        self.gate = StartGate(lambda app: None, desired, self.supervisors, self.events.append)

    def listeners_for(self, app: AppConfig) -> tuple[Listener, ...]:
        return ()

    def close_unused_sockets(self) -> None:
        pass

    async def stop_app(self, name: str) -> None:
        raise AssertionError("not part of this test")

    def start_apps(self, names: Sequence[str]) -> str | None:
        raise AssertionError("not part of this test")

    def event(self, message: str) -> None:
        self.events.append(message)

    def request_stop(self) -> None:
        pass

    def snapshot(self) -> Snapshot:
        raise AssertionError("not part of this test")

    async def reload(self) -> dict[str, Any]:
        raise AssertionError("not part of this test")


def _config(tmp_path: Path, app: AppConfig) -> GaiaConfig:
    gaia = RunnerSettings(state_dir=tmp_path / ".gaia")
    return GaiaConfig(source=tmp_path / "gaia.toml", gaia=gaia, apps={"job": app})


def _replace_in_flight(tmp_path: Path, h: Harness) -> tuple[Operations, AppConfig]:
    """The runner's part of a reload: the desired state adopts v2, the supervisor is sent
    it; generation 2 (v2) has spawned but not yet answered."""
    desired = DesiredState(_config(tmp_path, h.sup.app))
    edited = dataclasses.replace(h.sup.app, env={"VERSION": "2"})
    desired.adopt(_config(tmp_path, edited))
    h.sup.send(Replace(edited, (), reason="config change"))
    return Operations(FakeRunner(desired, h.sup)), edited


def test_a_restart_during_a_replace_ends_on_the_new_config(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path, [("serve", None), ("gated", None), ("serve", None)])
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: h.sup.state is AppState.RUNNING)
        ops, edited = _replace_in_flight(tmp_path, h)
        await h.until(lambda: len(h.generations) == 2)
        answer = await ops.handle(Request("restart", ("job",)))
        assert answer == {"restarted": ["job"]}
        h.generations[1].gate.set()
        await h.until(lambda: len(h.generations) == 3 and h.sup.current is h.generations[2])
        assert [g.app.env for g in h.generations] == [{}, {"VERSION": "2"}, {"VERSION": "2"}]
        assert h.sup.app == edited == h.sup.intended
        await _stop(h, task)

    run(scenario())


def test_a_scale_during_a_replace_scales_the_new_config(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path, [("serve", None), ("gated", None), ("serve", None)])
        h.scale_runs_out = False
        task = asyncio.create_task(h.sup.run())
        await h.until(lambda: h.sup.state is AppState.RUNNING)
        ops, edited = _replace_in_flight(tmp_path, h)
        await h.until(lambda: len(h.generations) == 2)
        answer = await ops.handle(Request("scale", ("job",), workers=3))
        assert answer == {"app": "job", "workers": 3, "was": 1, "in_file": 1}
        h.generations[1].gate.set()
        await h.until(lambda: h.sup.app.workers == 3)
        assert h.sup.app == dataclasses.replace(edited, workers=3)
        assert h.generations[1].workers_desired == 3 and h.sup.current is h.generations[1]
        # A later crash starts the app again from what it was last asked to run.
        h.generations[1].die.set()
        await h.until(lambda: len(h.generations) == 3 and h.sup.state is AppState.RUNNING)
        assert h.generations[2].app == dataclasses.replace(edited, workers=3)
        await _stop(h, task)

    run(scenario())


async def _stop(h: Harness, task: asyncio.Task[None]) -> None:
    from gaia_runner.supervise.commands import Stop

    h.sup.send(Stop())
    await task
    h.sup.log.close()


def test_a_restart_while_a_stop_is_under_way_says_stopped(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path, [("serve", None)])
        desired = DesiredState(_config(tmp_path, h.sup.app))
        desired.stop(["job"])  # `gaia stop job` has begun; its supervisor is still there
        answer = await Operations(FakeRunner(desired, h.sup)).handle(Request("restart", ("job",)))
        assert answer == {"error": "stopped by request: job (use `gaia start`)"}
        h.sup.log.close()

    run(scenario())
