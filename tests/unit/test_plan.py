"""Old config + new config -> the smallest change per app."""

from __future__ import annotations

from app_configs import make_app as make

from gaia_runner.config.model import ServerKind
from gaia_runner.plan import Action, plan_reload


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


def test_workers_plus_anything_else_is_a_replace() -> None:
    (plan,) = plan_reload({"a": make("a")}, {"a": make("a", workers=2, timeout=5.0)})
    assert plan.action is Action.REPLACE
