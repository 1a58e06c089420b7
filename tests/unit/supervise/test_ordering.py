"""The depends_on decisions, on plain values: no clock, no process."""

from __future__ import annotations

import pytest

from gaia_runner.model.state import AppState as S
from gaia_runner.supervise.ordering import Progress, blocker, reached, stop_order

WEB = dict(is_command=False)
CMD = dict(is_command=True)


@pytest.mark.parametrize(
    ("condition", "progress", "expected"),
    [
        ("started", Progress(S.PRESTART, **WEB), False),
        ("started", Progress(S.STARTING, **WEB), True),
        ("serving", Progress(S.STARTING, **WEB), False),
        ("serving", Progress(S.RUNNING, **WEB), True),
        ("serving", Progress(S.STARTING, **CMD), True),  # a command has no probe
        ("completed", Progress(S.RUNNING, **CMD), False),
        ("completed", Progress(S.STOPPED, **CMD, completed=True), True),
        ("completed", Progress(S.FAILED, **CMD), False),
        ("completed", Progress(S.STOPPED, **CMD), False),  # not started yet
        ("started", Progress(S.STOPPED, **CMD, completed=True), True),  # it ran, and is done
        ("started", Progress(S.BACKOFF, **WEB), False),
    ],
)
def test_conditions(condition: str, progress: Progress, expected: bool) -> None:
    assert reached(condition, progress) is expected


def test_an_app_starts_once_every_dependency_is_there() -> None:
    deps = {"migrate": "completed", "api": "serving"}
    known = {
        "migrate": Progress(S.STOPPED, **CMD, completed=True),
        "api": Progress(S.STARTING, **WEB),
    }
    assert blocker(deps, known) == "waiting for api (serving)"
    known["api"] = Progress(S.RUNNING, **WEB)
    assert blocker(deps, known) is None


def test_a_failed_or_stopped_dependency_is_the_reason_shown() -> None:
    known = {
        "migrate": Progress(S.FAILED, **CMD, detail="exit code 3 (restart = never)"),
        "db": None,
    }
    reason = blocker({"migrate": "completed", "db": "started"}, known)
    assert reason == (
        "waiting for migrate (completed; it is failed: exit code 3 (restart = never)), "
        "db (started; it is stopped: `gaia start` it)"
    )


def test_a_dependency_removed_from_the_file_is_not_waited_for() -> None:
    assert blocker({"gone": "started"}, {}) is None


def test_dependents_stop_first() -> None:
    graph = {"web": {"api": "serving"}, "api": {"migrate": "completed"}, "other": {}}
    groups = stop_order(graph, ["migrate", "api", "web", "other"])
    assert groups == [["web", "other"], ["api"], ["migrate"]]


def test_a_cycle_still_stops_everything() -> None:
    groups = stop_order({"a": {"b": "started"}, "b": {"a": "started"}}, ["a", "b", "c"])
    assert groups == [["c"], ["a", "b"]]
