"""`gaia config`: the configuration gaia will run, every default filled in, as TOML.

It reads like a gaia.toml (binds as strings, no keys that do not apply to an app),
but env values are always masked: they are secrets, and this is meant to be pasted
into bug reports.
"""

from __future__ import annotations

from typing import Any

import tomli_w

from gaia_runner.config.model import AppConfig, GaiaConfig, ServerKind, WorkerClass, as_plain
from gaia_runner.config.settings import WEB_ONLY_KEYS

WSGI_WORKERS = (WorkerClass.SYNC, WorkerClass.GTHREAD)

MASK = "***"


def _without_nulls(data: Any) -> Any:
    # TOML has no null: an unset optional key is simply absent.
    if isinstance(data, dict):
        return {k: _without_nulls(v) for k, v in data.items() if v is not None and v != {}}
    if isinstance(data, list):
        return [_without_nulls(v) for v in data]
    return data


def _app(app: AppConfig) -> dict[str, Any]:
    data: dict[str, Any] = as_plain(app)
    del data["name"]
    del data["workers_auto"]  # the resolved view shows the count `auto` gave
    data["env"] = dict.fromkeys(app.env, MASK)
    data["bind"] = [str(bind) for bind in app.bind]
    data["socket_mode"] = f"{app.socket_mode:04o}"
    # Keys that do not apply to this kind of app are left out: gaia check rejects
    # them even at their defaults, and the output must pass gaia check.
    if app.command is not None:
        for key in WEB_ONLY_KEYS:
            data.pop(key, None)
        data.pop("app", None)
    else:
        data.pop("command", None)
    if app.server is ServerKind.UVICORN:
        data.pop("worker_class", None)
        data.pop("threads", None)
    if not app.metrics:  # the watchdog runs in the request middleware
        for key in ("slow_request", "slow_request_action", "blocked_loop"):
            data.pop(key, None)
    elif app.server is ServerKind.GUNICORN and app.worker_class in WSGI_WORKERS:
        data.pop("blocked_loop", None)  # no event loop
    return data


def resolved_toml(config: GaiaConfig) -> str:
    gaia = as_plain(config.gaia)
    if config.gaia.metrics is not None:
        gaia["metrics"] = str(config.gaia.metrics)
    data = {
        "gaia": gaia,
        "apps": {name: _app(app) for name, app in config.apps.items()},
    }
    return tomli_w.dumps(_without_nulls(data))
