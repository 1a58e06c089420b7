"""The start gate with fake supervisors: who starts when, and what the table shows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gaia_runner.config import parse_config_text
from gaia_runner.config.model import AppConfig
from gaia_runner.desired import DesiredState
from gaia_runner.model.state import AppState
from gaia_runner.start_gate import StartGate

TEXT = """
[apps.migrate]
command = ["true"]
restart = "never"

[apps.web]
app = "app:app"
depends_on = { migrate = "completed" }

[apps.worker]
command = ["sleep", "60"]
depends_on = { web = "serving" }
"""


@dataclass
class FakeRecord:
    app: AppConfig
    state: AppState = AppState.STOPPED
    last_exit: int | None = None
    detail: str = ""

    @property
    def completed(self) -> bool:  # as AppRecord's
        return self.app.is_command and self.state is AppState.STOPPED and self.last_exit == 0


def make() -> tuple[StartGate, dict[str, FakeRecord], list[str], list[str]]:
    config = parse_config_text(TEXT, Path("/srv/gaia.toml"), check_files=False).config
    records: dict[str, FakeRecord] = {}
    launched: list[str] = []
    events: list[str] = []

    def launch(app: AppConfig) -> None:
        launched.append(app.name)
        records[app.name] = FakeRecord(app)

    gate = StartGate(launch, DesiredState(config), records, events.append)  # type: ignore[arg-type]
    for app in config.apps.values():
        gate.offer(app)
    return gate, records, launched, events


def test_apps_start_in_dependency_order_as_states_change() -> None:
    gate, records, launched, events = make()
    assert launched == ["migrate"]
    assert gate.waiting == {
        "web": "waiting for migrate (completed)",
        "worker": "waiting for web (serving; it is stopped: `gaia start` it)",
    }
    row = gate.row("web")
    assert row is not None and row.state is AppState.WAITING
    assert row.detail == "waiting for migrate (completed)"
    records["migrate"].state, records["migrate"].last_exit = AppState.STOPPED, 0
    gate.check()
    assert launched == ["migrate", "web"]
    records["web"].state = AppState.STARTING
    gate.check()
    assert launched == ["migrate", "web"]
    records["web"].state = AppState.RUNNING
    gate.check()
    assert launched == ["migrate", "web", "worker"] and gate.waiting == {}
    assert "web: waiting for migrate (completed)" in events


def test_a_failed_migration_keeps_its_dependents_waiting_and_says_why() -> None:
    gate, records, launched, _ = make()
    records["migrate"].state = AppState.FAILED
    records["migrate"].last_exit, records["migrate"].detail = 1, "exit code 1"
    gate.check()
    assert launched == ["migrate"]
    assert gate.waiting["web"] == "waiting for migrate (completed; it is failed: exit code 1)"


def test_stop_groups_put_dependents_first_and_close_ends_waiting() -> None:
    gate, records, _, _ = make()
    for name in ("migrate", "web"):
        records[name].state, records[name].last_exit = AppState.STOPPED, 0
        gate.check()
        records[name].state = AppState.RUNNING
    gate.check()
    assert gate.stop_groups() == [["worker"], ["web"], ["migrate"]]
    gate.close()
    assert gate.waiting == {}
