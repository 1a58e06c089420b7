"""A resolved AppConfig for unit tests, without a gaia.toml on disk."""

from __future__ import annotations

from pathlib import Path

from gaia_runner.config.model import AppConfig, Bind, BindKind


def make_app(name: str = "web", **changes: object) -> AppConfig:
    fields: dict[str, object] = {
        "name": name,
        "app": "hello:app",
        "cwd": Path("/srv"),
        "bind": (Bind(kind=BindKind.TCP, host="127.0.0.1", port=8000),),
    }
    fields.update(changes)
    return AppConfig(**fields)  # type: ignore[arg-type]
