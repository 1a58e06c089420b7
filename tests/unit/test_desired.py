"""The desired state: the applied file plus the operator's overrides, in one object."""

from __future__ import annotations

from pathlib import Path

from app_configs import make_app as make

from gaia_runner.config.model import AppConfig, GaiaConfig, RunnerSettings, WorkersRange
from gaia_runner.desired import DesiredState


def _config(*apps: AppConfig) -> GaiaConfig:
    return GaiaConfig(
        source=Path("/srv/gaia.toml"),
        gaia=RunnerSettings(state_dir=Path("/srv/.gaia")),
        apps={a.name: a for a in apps},
    )


def test_stopped_apps_are_not_wanted_until_started() -> None:
    desired = DesiredState(_config(make("web"), make("jobs")))
    desired.stop(["jobs"])
    assert list(desired.apps()) == ["web"] and desired.app("jobs") is None
    assert desired.start(["jobs", "web"]) == ["jobs"]
    assert list(desired.apps()) == ["web", "jobs"]


def test_a_scale_holds_until_the_files_workers_change() -> None:
    desired = DesiredState(_config(make("web", workers=2)))
    change = desired.scale("web", 5)
    assert (change.was, change.workers, change.in_file) == (2, 5, 2)
    assert desired.app("web").workers == 5  # type: ignore[union-attr]
    assert desired.workers_in_file("web") == 2
    desired.adopt(_config(make("web", workers=2, timeout=5.0)))  # another key: still 5
    assert desired.app("web").workers == 5  # type: ignore[union-attr]
    desired.adopt(_config(make("web", workers=3)))  # the file's workers changed: it wins
    assert desired.app("web").workers == 3  # type: ignore[union-attr]
    assert desired.workers_in_file("web") is None


def test_scaling_back_to_the_files_value_ends_the_override() -> None:
    desired = DesiredState(_config(make("web", workers=2)))
    desired.scale("web", 4)
    desired.scale("web", 2)
    assert desired.scaled == {}


def test_a_candidate_file_is_planned_with_the_overrides() -> None:
    desired = DesiredState(_config(make("web", workers=2), make("jobs")))
    desired.stop(["jobs"])
    desired.scale("web", 4)
    candidate = _config(make("web", workers=2, env={"X": "1"}), make("jobs"))
    wanted = desired.apps(candidate)
    assert list(wanted) == ["web"] and wanted["web"].workers == 4
    assert desired.config.apps["web"].env == {}  # planning changes nothing


def test_requests_about_apps_the_file_dropped_are_forgotten() -> None:
    desired = DesiredState(_config(make("web"), make("jobs", workers=2)))
    desired.stop(["web"])
    desired.scale("jobs", 3)
    desired.adopt(_config(make("other")))
    assert desired.stopped == set() and desired.scaled == {}


def _adaptive(low: int, high: int) -> AppConfig:
    return make("web", workers=low, workers_range=WorkersRange(min=low, max=high))


def test_adaptive_counts_stay_in_the_range_and_a_pin_overrides_them() -> None:
    desired = DesiredState(_config(_adaptive(2, 8)))
    assert desired.app("web").workers == 2  # type: ignore[union-attr]
    desired.adapt("web", 5)
    assert desired.app("web").workers == 5  # type: ignore[union-attr]
    desired.adopt(_config(_adaptive(1, 3)))  # a smaller range: clamped, not dropped
    assert desired.app("web").workers == 3  # type: ignore[union-attr]
    desired.scale("web", 1)  # `gaia scale web 1`: pinned, even at the file's `min`
    assert desired.app("web").workers == 1 and desired.adapts("web") is None  # type: ignore[union-attr]
    change = desired.scale("web", None)  # `gaia scale web auto`: from the pinned count
    assert (change.was, change.workers) == (1, 1)
    assert desired.adapts("web") == WorkersRange(min=1, max=3)
    desired.adopt(_config(make("web", workers=4)))  # a fixed count again: it wins
    assert desired.app("web").workers == 4 and desired.adaptive == {}  # type: ignore[union-attr]


def test_a_pin_ends_when_the_files_range_changes() -> None:
    desired = DesiredState(_config(_adaptive(2, 8)))
    desired.scale("web", 6)
    desired.adopt(_config(_adaptive(2, 10)))
    assert desired.scaled == {} and desired.adapts("web") is not None
