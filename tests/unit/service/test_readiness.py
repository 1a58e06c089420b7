"""What gaia tells systemd, from snapshots, through a fake notifier."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.service.readiness import EXTEND_SECONDS, ServiceReport, status_line


class FakeNotifier:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    def send(self, fields: Mapping[str, str]) -> None:
        self.sent.append(dict(fields))

    def values(self, key: str) -> list[str]:
        return [m[key] for m in self.sent if key in m]


def snap(*states: AppState, stopped_by_request: bool = False) -> Snapshot:
    return Snapshot(
        apps=tuple(
            AppSnapshot(f"app{i}", "gunicorn", s, stopped_by_request=stopped_by_request)
            for i, s in enumerate(states)
        )
    )


class Scripted:
    """Snapshots as the runner would give them, changed by the test between ticks."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.now = snapshot

    def __call__(self) -> Snapshot:
        return self.now


def test_ready_only_once_every_app_serves() -> None:
    fake, state = FakeNotifier(), Scripted(snap(AppState.PRESTART, AppState.RUNNING))
    report = ServiceReport(fake, state)
    report.update()
    assert fake.values("READY") == []
    assert fake.values("EXTEND_TIMEOUT_USEC") == [str(int(EXTEND_SECONDS * 1_000_000))]
    assert fake.values("STATUS") == ["1/2 apps serving; starting: app0"]
    state.now = snap(AppState.RUNNING, AppState.RUNNING)
    report.update()
    report.update()
    assert fake.values("READY") == ["1"]
    assert fake.values("STATUS")[-1] == "2/2 apps serving"
    assert len(fake.values("EXTEND_TIMEOUT_USEC")) == 1  # not once ready


def test_an_app_failed_at_boot_does_not_hold_ready_back_and_is_named() -> None:
    fake = FakeNotifier()
    ServiceReport(fake, Scripted(snap(AppState.RUNNING, AppState.FATAL))).update()
    assert fake.sent == [{"STATUS": "1/2 apps serving; failed: app1", "READY": "1"}]


def test_a_status_is_sent_when_it_changes_only() -> None:
    fake, state = FakeNotifier(), Scripted(snap(AppState.RUNNING))
    report = ServiceReport(fake, state)
    for _ in range(3):
        report.update()
    state.now = snap(AppState.BACKOFF)
    report.update()
    assert fake.values("STATUS") == ["1/1 apps serving", "0/1 apps serving; starting: app0"]


def test_the_watchdog_is_pinged_on_every_tick_at_least_four_times_a_period() -> None:
    fake = FakeNotifier()
    report = ServiceReport(fake, Scripted(snap(AppState.RUNNING)), watchdog=2.0)
    assert report.tick == 0.5
    report.update()
    report.update()
    assert fake.values("WATCHDOG") == ["1", "1"]
    assert ServiceReport(fake, Scripted(snap()), watchdog=None).tick == 1.0


def test_no_watchdog_pings_unless_systemd_asked_for_them() -> None:
    fake = FakeNotifier()
    ServiceReport(fake, Scripted(snap(AppState.RUNNING))).update()
    assert fake.values("WATCHDOG") == []


def test_a_reload_is_bracketed_by_reloading_and_ready() -> None:
    fake = FakeNotifier()
    report = ServiceReport(fake, Scripted(snap(AppState.RUNNING)), clock=lambda: 12.5)
    report.update()
    fake.sent.clear()

    async def reload() -> None:
        async with report.reloading():
            report.update()  # a tick during the reload: no READY=1, no status of the old state
            fake.sent.append({"during": "1"})

    asyncio.run(reload())
    assert fake.sent[0] == {
        "RELOADING": "1",
        "MONOTONIC_USEC": "12500000",
        "STATUS": "reloading gaia.toml",
    }
    assert fake.values("READY") == ["1"]
    assert fake.sent.index({"during": "1"}) < fake.sent.index({"READY": "1"})
    assert fake.values("STATUS")[-1] == "1/1 apps serving"


def test_stopping_is_said_once_and_ends_ready_and_status_reports() -> None:
    fake, state = FakeNotifier(), Scripted(snap(AppState.STARTING))
    report = ServiceReport(fake, state, watchdog=10.0)
    report.stopping()
    state.now = snap(AppState.RUNNING)
    report.update()
    assert fake.sent[0] == {"STOPPING": "1", "STATUS": "stopping every app"}
    assert fake.sent[1:] == [{"WATCHDOG": "1"}]  # the loop still runs while apps stop


def test_without_a_notify_socket_nothing_is_computed() -> None:
    def boom() -> Snapshot:
        raise AssertionError("no snapshot without systemd")

    ServiceReport(None, boom, watchdog=5.0).update()


def test_the_status_line_counts_requested_stops_apart() -> None:
    both = Snapshot(
        apps=(
            AppSnapshot("a", "gunicorn", AppState.RUNNING),
            AppSnapshot("b", "gunicorn", AppState.STOPPED, stopped_by_request=True),
        ),
        config_error="bad",
    )
    assert status_line(both) == (
        "1/1 apps serving; 1 stopped by request; last gaia.toml edit not applied"
    )
