"""Old config + new config -> the smallest change per app."""

from __future__ import annotations

from pathlib import Path

from gaia_runner.config.model import AppConfig, Bind, BindKind, ServerKind
from gaia_runner.plan import Action, plan_reload


def make(name: str = "web", **changes: object) -> AppConfig:
    fields: dict[str, object] = {
        "name": name,
        "app": "hello:app",
        "cwd": Path("/srv"),
        "bind": (Bind(kind=BindKind.TCP, host="127.0.0.1", port=8000),),
    }
    fields.update(changes)
    return AppConfig.model_validate(fields)


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
