"""Turn validated raw tables into the resolved models of model.py.

Only keys the user wrote are passed on, so defaults stay declared once, in
model.py. Paths become absolute against the config file's directory here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gaia_runner.config.binds import DEFAULT_BIND, parse_bind
from gaia_runner.config.files import DEFAULT_STATE_DIR, EnvFiles, resolve_path
from gaia_runner.config.model import AppConfig, GaiaConfig, RunnerSettings
from gaia_runner.config.raw import RawApp, RawFile, RawGaia


def build_config(
    raw: RawFile,
    source: Path,
    env_files: EnvFiles | None,
    cpus: Callable[[], int],
) -> GaiaConfig:
    """``env_files`` is None when files were not checked: env files are then skipped."""
    base = source.parent
    gaia = raw.gaia or RawGaia()
    settings: dict[str, Any] = gaia.model_dump(exclude_unset=True)
    settings["state_dir"] = resolve_path(gaia.state_dir or DEFAULT_STATE_DIR, base)
    if gaia.env_file is not None:
        settings["env_file"] = resolve_path(gaia.env_file, base)
    if gaia.metrics is not None:
        settings["metrics"] = parse_bind(gaia.metrics, base)
    runner = RunnerSettings.model_validate(settings)
    shared_env = _env_from(runner.env_file, env_files)
    apps = {
        name: _build_app(name, app, base, shared_env, env_files, cpus, runner.user)
        for name, app in (raw.apps or {}).items()
    }
    return GaiaConfig(source=source, gaia=runner, apps=apps)


def _env_from(path: Path | None, env_files: EnvFiles | None) -> Mapping[str, str]:
    if path is None or env_files is None:
        return {}
    return env_files.get(path, {})


def _build_app(
    name: str,
    raw: RawApp,
    base: Path,
    shared_env: Mapping[str, str],
    env_files: EnvFiles | None,
    cpus: Callable[[], int],
    default_user: str | None,
) -> AppConfig:
    fields: dict[str, Any] = raw.model_dump(exclude_unset=True)
    fields["name"] = name
    if raw.socket_mode is not None:
        fields["socket_mode"] = int(raw.socket_mode, 8)
    if raw.user is None and default_user is not None:
        fields["user"] = default_user
    fields["cwd"] = resolve_path(raw.cwd or ".", base)
    if raw.workers == "auto":
        fields["workers"] = cpus()
    env_file = resolve_path(raw.env_file, base) if raw.env_file is not None else None
    fields["env_file"] = env_file
    fields["env"] = {**shared_env, **_env_from(env_file, env_files), **(raw.env or {})}
    if raw.command is None:
        fields["bind"] = tuple(parse_bind(b, base) for b in (raw.bind or [DEFAULT_BIND]))
    if raw.https is not None:
        https = fields["https"]
        for key in ("certfile", "keyfile", "ca_certs"):
            if isinstance(https.get(key), str):
                https[key] = resolve_path(https[key], base)
    return AppConfig.model_validate(fields)
