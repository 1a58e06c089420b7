"""Old config + new config -> the smallest change per app."""

from __future__ import annotations

from app_configs import make_app as make

from gaia_runner.config.model import (
    Backoff,
    HealthCheck,
    MemoryLimits,
    RestartPolicy,
    ServerKind,
    WorkersRange,
)
from gaia_runner.plan import TLS_FILES, Action, plan_reload


def test_plan_names_the_smallest_change() -> None:
    running = {"a": make("a"), "b": make("b"), "c": make("c"), "gone": make("gone")}
    wanted = {
        "a": make("a"),
        "b": make("b", workers=3),
        "c": make("c", env={"X": "1"}, server=ServerKind.UVICORN),
        "new": make("new"),
    }
    plans = {p.name: p for p in plan_reload(running, wanted)}
    assert plans["a"].action is Action.UNCHANGED
    assert plans["b"].action is Action.SCALE and plans["b"].workers == (1, 3)
    assert plans["c"].action is Action.REPLACE and set(plans["c"].changed) == {"env", "server"}
    assert plans["gone"].action is Action.STOP
    assert plans["new"].action is Action.START
    assert plans["b"].describe() == "b: scale 1->3"
    assert plans["c"].describe() == "c: replace (server, env changed)"


def test_workers_plus_what_the_server_reads_is_a_roll() -> None:
    (plan,) = plan_reload({"a": make("a")}, {"a": make("a", workers=2, timeout=5.0)})
    assert plan.action is Action.ROLL


def test_supervisor_settings_apply_in_place_without_prestart() -> None:
    # The bug of issue 20: each of these alone replaced the tree and ran prestart again.
    edits = {
        "memory": {"memory": MemoryLimits(worker=1 << 30)},
        "health": {"health": HealthCheck(path="/up")},
        "backoff": {"backoff": Backoff(initial=3.0)},
        "max_start_failures": {"max_start_failures": 9},
        "restart": {"restart": RestartPolicy.NEVER},
        "start_timeout": {"start_timeout": 5.0},
    }
    for key, edit in edits.items():
        (plan,) = plan_reload({"a": make("a")}, {"a": make("a", **edit)})
        assert plan.action is Action.ADJUST, key
        assert not plan.reruns_prestart
        assert plan.describe() == f"a: in place ({key} changed)"


def test_in_place_and_a_scale_together_stay_in_place() -> None:
    wanted = make("a", workers=3, memory=MemoryLimits(total=1 << 30))
    (plan,) = plan_reload({"a": make("a")}, {"a": wanted})
    assert plan.action is Action.ADJUST and plan.workers == (1, 3)
    assert plan.describe() == "a: in place (workers changed; memory: in place)"


def test_what_the_server_reads_rolls_the_workers_without_prestart() -> None:
    (plan,) = plan_reload({"a": make("a")}, {"a": make("a", timeout=5.0, memory=MemoryLimits())})
    assert plan.action is Action.ROLL and not plan.reruns_prestart
    assert plan.describe() == "a: roll workers (timeout changed; memory: in place)"
    # gunicorn re-reads its config file on HUP; uvicorn's HUP re-reads no option.
    assert plan.rolls_by_signal(make("a"), dev=False)
    assert not plan.rolls_by_signal(make("a", server=ServerKind.UVICORN), dev=False)
    assert not plan.rolls_by_signal(make("a", user="nobody"), dev=False)  # config by fd
    assert not plan.rolls_by_signal(make("a"), dev=True)
    (plan,) = plan_reload({"a": make("a")}, {"a": make("a")}, {"a": (TLS_FILES,)})
    assert plan.action is Action.ROLL
    assert plan.rolls_by_signal(make("a", server=ServerKind.UVICORN), dev=False)
    assert plan.describe() == "a: roll workers (TLS files changed)"


def test_what_changes_the_app_replaces_it_with_prestart_and_says_what_else_came_along() -> None:
    wanted = make("a", env={"X": "1"}, timeout=5.0, memory=MemoryLimits())
    (plan,) = plan_reload({"a": make("a")}, {"a": wanted}, {"a": (TLS_FILES,)})
    assert plan.action is Action.REPLACE and plan.reruns_prestart
    assert plan.describe() == (
        "a: replace (env changed; timeout, TLS files: roll workers; memory: in place)"
    )


def test_a_new_workers_range_is_applied_in_place() -> None:
    old = make("a", workers=2, workers_range=WorkersRange(min=2, max=8))
    new = make("a", workers=2, workers_range=WorkersRange(min=2, max=10))
    (plan,) = plan_reload({"a": old}, {"a": new})
    assert plan.action is Action.ADJUST and plan.changed == ("workers_range",)
    fixed = make("a", workers=4)  # back to a fixed count: scaled in place as well
    (back,) = plan_reload({"a": new}, {"a": fixed})
    assert back.action is Action.ADJUST
